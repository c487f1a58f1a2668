// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/text.hpp: ASCII helpers that do not depend on the locale.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// @brief ASCII case-insensitive equality, as HTTP header names and auth schemes want.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

/// @brief True for C0 controls and DEL, which never belong in a header value or a token.
constexpr bool is_control(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

constexpr bool has_control(std::string_view s) noexcept {
    for (char c : s) {
        if (is_control(c)) return true;
    }
    return false;
}

/// @brief True when every byte is VSCHAR (%x20-7E, RFC 6749 Appendix A): printable
/// ASCII, what an access token is made of.
constexpr bool all_vschar(std::string_view s) noexcept {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return false;
    }
    return true;
}

/// @brief ASCII white space: space, tab, CR, LF, vertical tab, form feed.
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// @brief A short, printable excerpt of text from a server, for an error message:
/// at most max_bytes, controls and non-ASCII bytes shown as '?', cut marked with "...".
inline std::string excerpt(std::string_view text, std::size_t max_bytes = 200) {
    std::string out;
    const std::size_t n = text.size() < max_bytes ? text.size() : max_bytes;
    out.reserve(n + 3);
    for (std::size_t i = 0; i < n; ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        out.push_back((u < 0x20 || u >= 0x7f) ? '?' : text[i]);
    }
    if (n < text.size()) out += "...";
    return out;
}

}  // namespace oauth2cc::detail
