// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_metadata.cpp: libFuzzer target for the authorization server metadata parser.
// Whatever the body, it gives metadata of the expected issuer, or throws
// oauth2cc::error: `config` for another issuer, `bad_response` for anything else.
// SPDX-License-Identifier: MIT

#include "fuzz_check.hpp"

#include <oauth2cc/detail/oauth/metadata.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

using oauth2cc_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string issuer = "https://as.example/t1";
    oauth2cc::http_response res;
    res.status = 200;
    res.headers.emplace_back("Content-Type", "application/json");
    res.body.assign(reinterpret_cast<const char*>(data), size);
    try {
        const auto m = oauth2cc::detail::parse_metadata(res, issuer);
        require(m.issuer == issuer, "the expected issuer");
        require(m.document.is_object(), "an object document");
        require(!m.token_endpoint_auth_methods_supported.empty(),
                "the methods, client_secret_basic when none are named");
    } catch (const oauth2cc::error& e) {
        require(e.kind() == oauth2cc::error_kind::config ||
                    e.kind() == oauth2cc::error_kind::bad_response,
                "config or bad_response");
    }
    return 0;
}
