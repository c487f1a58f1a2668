// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_token_response.cpp: libFuzzer target for the token response parser. The first
// byte picks the status and Content-Type; the rest is the body. Whatever the input, the
// parser returns a valid Bearer token (or, answering a token exchange, N_A with its
// issued_token_type) or throws oauth2cc::error of a response kind, and never shows the
// client secret.
// SPDX-License-Identifier: MIT

#include "fuzz_check.hpp"

#include <oauth2cc/detail/oauth/token_response.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using oauth2cc_fuzz::require;

namespace {

constexpr const char* fuzz_secret = "Fuzz-S3cret-zz9";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static constexpr int statuses[] = {200, 200, 201, 400, 401, 429, 500, 302};
    static constexpr const char* types[] = {"application/json",
                                            "application/json; charset=utf-8",
                                            "application/x-www-form-urlencoded",
                                            "text/plain",
                                            "text/html",
                                            ""};
    oauth2cc::http_response res;
    res.status = statuses[data[0] & 7];
    const char* type = types[(data[0] >> 3) % 6];
    if (*type != '\0') res.headers.emplace_back("Content-Type", type);
    if ((data[0] & 0x80) != 0) res.headers.emplace_back("Retry-After", "120");
    res.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);

    oauth2cc::detail::redactions hide;
    hide.add(fuzz_secret);
    // Each input as the answer to a client-credentials request, and to a token exchange
    // that asked for an id token (N_A allowed, issued_token_type required).
    for (const bool exchange : {false, true}) {
        oauth2cc::detail::token_rules rules;
        rules.exchange = exchange;
        rules.not_applicable = exchange;
        try {
            const oauth2cc::token t = oauth2cc::detail::parse_token_response(
                res, "read_date", std::chrono::steady_clock::time_point{},
                std::chrono::system_clock::time_point{std::chrono::seconds(1764000000)}, hide,
                rules);
            require(res.status >= 200 && res.status <= 299, "a token only from a 2xx response");
            const std::string& value = t.access_token.reveal();
            require(!value.empty(), "a non-empty access token");
            for (const unsigned char c : value) {
                require(c >= 0x20 && c != 0x7f, "no control character in the access token");
            }
            require(t.token_type == "Bearer" || (exchange && t.token_type == "N_A"),
                    "token type Bearer, or N_A when allowed");
            require(!exchange || !t.issued_token_type.empty(), "an exchange's issued_token_type");
            for (const unsigned char c : t.issued_token_type) {
                require(c >= 0x20 && c != 0x7f, "no control character in issued_token_type");
            }
            require(!t.expires_in || (t.expires_in->count() >= 0 &&
                                      *t.expires_in <= oauth2cc::detail::max_token_lifetime),
                    "expires_in within [0, max_token_lifetime]");
        } catch (const oauth2cc::error& e) {
            const auto kind = e.kind();
            require(kind == oauth2cc::error_kind::oauth ||
                        kind == oauth2cc::error_kind::http_status ||
                        kind == oauth2cc::error_kind::bad_response,
                    "a response error kind");
            require(std::string(e.what()).find(fuzz_secret) == std::string::npos &&
                        e.error_description().find(fuzz_secret) == std::string::npos &&
                        e.error_uri().find(fuzz_secret) == std::string::npos,
                    "no secret in the error");
        }
    }
    return 0;
}
