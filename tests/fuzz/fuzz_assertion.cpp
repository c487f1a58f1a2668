// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_assertion.cpp: libFuzzer target for the reading of a JWT bearer grant assertion's
// issuer, subject, lasting claims and signer (the key of its token), which a platform's
// file gives. Whatever the input, it returns a key naming all four, or throws
// oauth2cc::error `config` that quotes nothing of the input.
// SPDX-License-Identifier: MIT

#include "fuzz_check.hpp"

#include <oauth2cc/detail/oauth/grant.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

using oauth2cc_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    try {
        const std::string key = oauth2cc::detail::assertion_subject_key(input);
        require(key.rfind("assertion_iss=", 0) == 0, "a key that starts with the issuer");
        require(key.find("&assertion_sub=") != std::string::npos, "a key that names the subject");
        require(key.find("&assertion_claims=") != std::string::npos,
                "a key that covers the lasting claims");
        require(key.find("&assertion_signer=") != std::string::npos, "a key that names the signer");
        for (const unsigned char c : key) {
            require(c > 0x20 && c < 0x7f, "a key of printable characters (form-encoded)");
        }
    } catch (const oauth2cc::error& e) {
        require(e.kind() == oauth2cc::error_kind::config, "a config error");
        // One fixed message, whatever the input: nothing of it is quoted.
        require(std::string(e.what()) ==
                    "oauth2cc: config error: the grant_assertion is not a JWT whose header is a "
                    "JSON object and whose claims name iss and sub as strings (RFC 7523 §3)",
                "the fixed message, which quotes nothing");
    }
    return 0;
}
