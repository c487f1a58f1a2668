// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_form.cpp: libFuzzer target for the form encoder and decoder: encoding keeps only
// the unreserved bytes, '+' and %XX, decoding gives the input back, and parsing any text
// as a form never fails badly.
// SPDX-License-Identifier: MIT

#include "fuzz_check.hpp"

#include <oauth2cc/detail/text/form.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const std::string encoded = oauth2cc::detail::form_encode(in);
    for (const char c : encoded) {
        const bool kept = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
                          c == '+' || c == '%';
        oauth2cc_fuzz::require(kept, "only unreserved bytes, '+' and %XX in the encoding");
    }
    const auto decoded = oauth2cc::detail::form_decode(encoded);
    oauth2cc_fuzz::require(decoded && *decoded == in, "decoding gives the input back");
    (void)oauth2cc::detail::form_decode(in);
    if (const auto fields = oauth2cc::detail::parse_form(in)) {
        for (const auto& [name, value] : *fields) {
            oauth2cc_fuzz::require(name.size() + value.size() <= in.size(),
                                   "decoded fields no longer than the form");
        }
    }
    const std::string b64 = oauth2cc::detail::base64_encode(in);
    oauth2cc_fuzz::require(b64.size() == (in.size() + 2) / 3 * 4, "base64 length");
    (void)oauth2cc::detail::is_scope_token(in);
    return 0;
}
