// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/redact.hpp: keeps credentials that a server echoes back out of error messages.
// SPDX-License-Identifier: MIT
#pragma once

#include "form.hpp"
#include "text.hpp"
#include "wipe.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Strings that must never reach a message, each replaced by "***" in whatever
/// spelling a server may echo it: raw, percent-encoded (either hex case, `+` or `%20` for
/// a space, any mix of escaped and literal bytes, as form encoding and Python's `quote()`
/// give), JSON-escaped (`\/`, `\"`, `\uXXXX`, surrogate pairs), or as excerpt() prints
/// it (`?` for controls and non-ASCII). Owns copies of the strings and wipes them when
/// destroyed.
class redactions {
public:
    redactions() = default;
    redactions(const redactions&) = delete;
    redactions& operator=(const redactions&) = delete;
    redactions(redactions&& other) noexcept : hidden_(std::move(other.hidden_)) {}
    redactions& operator=(redactions&&) = delete;
    ~redactions() {
        for (auto& s : hidden_) wipe(s);
    }

    /// @brief A copy that hides the same strings, for adding more to one request's.
    redactions copy() const {
        redactions out;
        for (const auto& s : hidden_) out.add(s);
        return out;
    }

    /// @brief Hides text, in every spelling above, wherever it appears.
    void add(std::string text) {
        if (text.empty()) return;
        if (hidden_.size() == hidden_.capacity()) {
            // A short string lives inside the vector's own block: it is wiped there before
            // that block is freed.
            std::vector<std::string> bigger;
            bigger.reserve(2 * hidden_.size() + 2);
            for (auto& s : hidden_) bigger.push_back(std::move(s));
            for (auto& s : hidden_) wipe(s);
            hidden_.swap(bigger);
        }
        hidden_.push_back(std::move(text));
        wipe(text);
    }

    /// @brief Text with every hidden string replaced by "***". One pass from left to
    /// right; at each place the longest match of any hidden string wins, so that a string
    /// that contains another is hidden whole. The output is built anew, never shifted in
    /// place, so the cost grows with the text times the longest hidden string at worst.
    std::string apply(std::string text) const {
        if (hidden_.empty()) return text;
        std::string out;
        out.reserve(text.size());
        std::size_t at = 0;
        while (at < text.size()) {
            std::size_t longest = 0;
            for (const auto& s : hidden_) {
                const std::size_t n = match_length(text, at, s);
                if (n > longest) longest = n;
            }
            if (longest > 0) {
                out += "***";
                at += longest;
            } else {
                out.push_back(text[at]);
                ++at;
            }
        }
        wipe(text);
        return out;
    }

    /// @brief A sanitised excerpt of text with nothing hidden left in it.
    std::string excerpt_of(std::string_view text, std::size_t max_bytes) const {
        return apply(excerpt(apply(std::string(text)), max_bytes));
    }

private:
    /// @brief The value of `count` hex digits at text[at], or -1.
    static long hex_at(std::string_view text, std::size_t at, std::size_t count) noexcept {
        if (text.size() < at + count) return -1;
        long value = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const int digit = hex_value(text[at + i]);
            if (digit < 0) return -1;
            value = value * 16 + digit;
        }
        return value;
    }

    /// @brief The code point of the UTF-8 sequence at s[at] and its length, or length 0.
    static std::pair<std::uint32_t, std::size_t> utf8_at(std::string_view s,
                                                         std::size_t at) noexcept {
        const auto u = static_cast<unsigned char>(s[at]);
        std::size_t length = u < 0x80           ? 1
                             : (u >> 5) == 0x6  ? 2
                             : (u >> 4) == 0xe  ? 3
                             : (u >> 3) == 0x1e ? 4
                                                : 0;
        if (length == 0 || at + length > s.size()) return {0, 0};
        std::uint32_t cp = length == 1 ? u : u & (0x7fu >> length);
        for (std::size_t i = 1; i < length; ++i) {
            const auto c = static_cast<unsigned char>(s[at + i]);
            if ((c & 0xc0) != 0x80) return {0, 0};
            cp = (cp << 6) | (c & 0x3f);
        }
        return {cp, length};
    }

    /// @brief Calls next(text_end, secret_end) for each spelling, in text from `at`, of
    /// the secret's bytes from `k`: one byte, or one whole character for `\u` escapes.
    template <typename Next>
    static void spellings(std::string_view text, std::size_t at, std::string_view secret,
                          std::size_t k, Next&& next) {
        const char b = secret[k];
        const auto u = static_cast<unsigned char>(b);
        const char c = text[at];
        if (c == b) next(at + 1, k + 1);
        if (c == '?' && (u < 0x20 || u >= 0x7f)) next(at + 1, k + 1);
        if (c == '+' && b == ' ') next(at + 1, k + 1);
        if (c == '%' && hex_at(text, at + 1, 2) == u) next(at + 3, k + 1);
        if (c != '\\' || at + 1 >= text.size()) return;
        const char e = text[at + 1];
        const char plain = e == 'n'                              ? '\n'
                           : e == 't'                            ? '\t'
                           : e == 'r'                            ? '\r'
                           : e == 'b'                            ? '\b'
                           : e == 'f'                            ? '\f'
                           : (e == '/' || e == '"' || e == '\\') ? e
                                                                 : '\0';
        if (plain != '\0' && plain == b) next(at + 2, k + 1);
        if (e != 'u') return;
        const auto [cp, length] = utf8_at(secret, k);
        if (length == 0) return;
        const long unit = hex_at(text, at + 2, 4);
        if (cp < 0x10000) {
            if (unit == static_cast<long>(cp)) next(at + 6, k + length);
            return;
        }
        const long high = 0xd800 + ((cp - 0x10000) >> 10);
        const long low = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        if (unit == high && at + 12 <= text.size() && text[at + 6] == '\\' && text[at + 7] == 'u' &&
            hex_at(text, at + 8, 4) == low) {
            next(at + 12, k + length);
        }
    }

    /// @brief How many bytes of text from `at` spell the whole secret, the longest such
    /// spelling; 0 when none does. Follows every spelling at once (a small set of places).
    static std::size_t match_length(std::string_view text, std::size_t at,
                                    std::string_view secret) {
        const char c = text[at];
        if (c != secret[0] && c != '?' && c != '+' && c != '%' && c != '\\') return 0;
        // (text position, secret position) pairs still alive; a secret byte has at most
        // six spellings, so this stays short.
        std::vector<std::pair<std::size_t, std::size_t>> alive{{at, 0}};
        std::vector<std::pair<std::size_t, std::size_t>> next_alive;
        std::size_t longest = 0;
        while (!alive.empty()) {
            next_alive.clear();
            for (const auto& [t, k] : alive) {
                if (k == secret.size()) {
                    if (t - at > longest) longest = t - at;
                    continue;
                }
                if (t >= text.size()) continue;
                spellings(text, t, secret, k, [&](std::size_t t2, std::size_t k2) {
                    for (const auto& p : next_alive) {
                        if (p.first == t2 && p.second == k2) return;
                    }
                    next_alive.emplace_back(t2, k2);
                });
            }
            alive.swap(next_alive);
        }
        return longest;
    }

    std::vector<std::string> hidden_;
};

}  // namespace oauth2cc::detail
