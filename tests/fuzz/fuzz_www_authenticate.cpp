// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_www_authenticate.cpp: libFuzzer target for the WWW-Authenticate parser: any header
// value gives challenges (perhaps none) without throwing, each with a scheme.
// SPDX-License-Identifier: MIT

#include "fuzz_check.hpp"

#include <oauth2cc/www_authenticate.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        const auto challenges = oauth2cc::parse_www_authenticate(in);
        for (const auto& c : challenges) {
            oauth2cc_fuzz::require(!c.scheme.empty(), "every challenge has a scheme");
        }
        oauth2cc::http_response res;
        res.status = 401;
        res.headers.emplace_back("WWW-Authenticate", std::string(in));
        (void)oauth2cc::find_bearer_challenge(res);
    } catch (...) {
        oauth2cc_fuzz::require(false, "the parser never throws");
    }
    return 0;
}
