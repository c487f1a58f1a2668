// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/form.hpp: application/x-www-form-urlencoded, Basic credentials, scope tokens.
// SPDX-License-Identifier: MIT
#pragma once

#include "wipe.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The value of one hex digit, or -1.
inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// @brief Appends "%XX", upper-case hex, for one byte.
inline void append_percent_escape(std::string& out, unsigned char byte) {
    static constexpr char hex[] = "0123456789ABCDEF";
    out.push_back('%');
    out.push_back(hex[byte >> 4]);
    out.push_back(hex[byte & 0x0f]);
}

/// @brief Appends the percent-encoding of in to out: A-Z a-z 0-9 - . _ ~ stay, every
/// other byte becomes %XX with upper-case hex, and a space becomes `space` ("+" or "%20").
inline void percent_encode_append(std::string& out, std::string_view in, std::string_view space) {
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
            u == '-' || u == '.' || u == '_' || u == '~') {
            out.push_back(c);
        } else if (u == ' ') {
            out += space;
        } else {
            append_percent_escape(out, u);
        }
    }
}

/// @brief The most bytes percent_encode_append adds for n bytes (with a space of at most
/// three characters).
constexpr std::size_t percent_encoded_bound(std::size_t n) noexcept { return 3 * n; }

/// @brief Percent-encodes bytes, as percent_encode_append does.
inline std::string percent_encode(std::string_view in, std::string_view space) {
    std::string out;
    out.reserve(percent_encoded_bound(in.size()));
    percent_encode_append(out, in, space);
    return out;
}

/// @brief Form-encodes one name or value: A-Z a-z 0-9 - . _ ~ stay, space becomes '+',
/// every other byte becomes %XX with upper-case hex.
/// @sa RFC 6749 Appendix B, §2.3.1
inline std::string form_encode(std::string_view in) { return percent_encode(in, "+"); }

/// @brief Appends "&name=value" (no '&' when body is empty), both form-encoded.
/// The body grows in place or into a new buffer with the old one wiped: a credential in
/// it is never left behind in freed memory.
inline void append_form_field(std::string& body, std::string_view name, std::string_view value) {
    reserve_wiping(body, body.size() + 2 + percent_encoded_bound(name.size()) +
                             percent_encoded_bound(value.size()));
    if (!body.empty()) body.push_back('&');
    percent_encode_append(body, name, "+");
    body.push_back('=');
    percent_encode_append(body, value, "+");
}

/// @brief Decodes one form-encoded name or value; empty when a %-escape is malformed.
inline std::optional<std::string> form_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out.push_back(' ');
        } else if (in[i] == '%') {
            if (i + 2 >= in.size()) return std::nullopt;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// @brief Splits a form body into decoded name/value pairs; empty on a malformed escape.
inline std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(
    std::string_view body) {
    std::vector<std::pair<std::string, std::string>> fields;
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        const std::string_view field = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (field.empty()) continue;
        const std::size_t eq = field.find('=');
        auto name = form_decode(field.substr(0, eq));
        auto value =
            form_decode(eq == std::string_view::npos ? std::string_view{} : field.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

/// @brief The length of the base64 encoding of n bytes.
constexpr std::size_t base64_size(std::size_t n) noexcept { return 4 * ((n + 2) / 3); }

/// @brief Appends the standard base64 (with padding) of in to out, in place: with
/// capacity for it reserved, out is not reallocated, so no copy is left behind.
inline void base64_append(std::string& out, std::string_view in) {
    if (in.empty()) return;
    const std::size_t at = out.size();
    // EVP_EncodeBlock writes a terminating NUL after the encoded text: one byte more.
    out.resize(at + base64_size(in.size()) + 1);
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    out.resize(at + static_cast<std::size_t>(n));
}

/// @brief Standard base64 with padding (RFC 4648 §4), as HTTP Basic wants.
inline std::string base64_encode(std::string_view in) {
    std::string out;
    base64_append(out, in);
    return out;
}

/// @brief True when s is an RFC 6749 §3.3 scope-token: one or more NQCHAR
/// (%x21 / %x23-5B / %x5D-7E), so no space, '"' or '\\'.
constexpr bool is_scope_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || u == 0x22 || u == 0x5c) return false;
    }
    return true;
}

}  // namespace oauth2cc::detail
