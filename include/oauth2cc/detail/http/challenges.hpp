// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/challenges.hpp: reading WWW-Authenticate (RFC 9110 §11.6.1): a parser that never
// throws, and the first challenge of a scheme in a response.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../http.hpp"
#include "../../www_authenticate.hpp"
#include "../text/text.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

// RFC 9110 §5.6.2 tchar.
inline bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

// RFC 9110 §11.2 token68 characters, before the trailing '='s.
inline bool is_token68_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

class challenge_reader {
public:
    explicit challenge_reader(std::string_view s) : s_(s) {}

    std::vector<auth_challenge> read_all() {
        std::vector<auth_challenge> out;
        // Bounded: every round consumes input or stops.
        while (out.size() < 64) {
            skip_list_separators();
            if (at_end()) break;
            auth_challenge c;
            c.scheme = std::string(read_token());
            if (c.scheme.empty()) break;
            const bool had_space = skip_spaces();
            if (had_space && !at_end() && peek() != ',') {
                if (!read_params_or_token68(c)) {
                    out.push_back(std::move(c));
                    break;
                }
            }
            out.push_back(std::move(c));
        }
        return out;
    }

private:
    bool at_end() const noexcept { return pos_ >= s_.size(); }
    char peek() const noexcept { return s_[pos_]; }

    bool skip_spaces() {
        const std::size_t start = pos_;
        while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
        return pos_ > start;
    }
    void skip_list_separators() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++pos_;
    }
    std::string_view read_token() {
        const std::size_t start = pos_;
        while (!at_end() && is_tchar(peek())) ++pos_;
        return s_.substr(start, pos_ - start);
    }

    // True when, from here, a parameter starts: token BWS "=" and not a token68's padding.
    bool param_ahead() const {
        std::size_t p = pos_;
        const std::size_t start = p;
        while (p < s_.size() && is_tchar(s_[p])) ++p;
        if (p == start) return false;
        while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
        if (p >= s_.size() || s_[p] != '=') return false;
        ++p;
        while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
        return p < s_.size() && (s_[p] == '"' || is_tchar(s_[p]));
    }

    // Reads token68 or a parameter list; false when the input is malformed.
    bool read_params_or_token68(auth_challenge& c) {
        if (!param_ahead()) {
            const std::size_t start = pos_;
            while (!at_end() && is_token68_char(peek())) ++pos_;
            while (!at_end() && peek() == '=') ++pos_;
            c.token68 = std::string(s_.substr(start, pos_ - start));
            skip_spaces();
            return !c.token68.empty() && (at_end() || peek() == ',');
        }
        while (c.params.size() < 64) {
            std::string name = to_lower(read_token());
            skip_spaces();
            if (at_end() || peek() != '=') return false;
            ++pos_;
            skip_spaces();
            std::string value;
            if (!at_end() && peek() == '"') {
                if (!read_quoted(value)) return false;
            } else {
                value = std::string(read_token());
                if (value.empty()) return false;
            }
            c.params.emplace_back(std::move(name), std::move(value));
            skip_spaces();
            if (at_end()) return true;
            if (peek() != ',') return false;
            // Another parameter of this challenge, or the next challenge.
            const std::size_t comma = pos_;
            skip_list_separators();
            if (at_end()) return true;
            if (!param_ahead()) {
                pos_ = comma;
                return true;
            }
        }
        return false;  // too many parameters: stop reading
    }

    bool read_quoted(std::string& out) {
        ++pos_;  // the opening quote
        while (!at_end()) {
            const char c = peek();
            ++pos_;
            if (c == '"') return true;
            if (c == '\\') {
                if (at_end()) return false;
                out.push_back(peek());
                ++pos_;
            } else {
                out.push_back(c);
            }
            if (out.size() > 4096) return false;
        }
        return false;
    }

    static std::string to_lower(std::string_view v) {
        std::string out(v);
        for (char& ch : out) {
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        }
        return out;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

/// @brief The first challenge of the scheme in a response's WWW-Authenticate headers.
inline std::optional<token_challenge> find_challenge(const http_response& response,
                                                     std::string_view scheme) {
    for (const auto& [name, value] : response.headers) {
        if (!iequals(name, "WWW-Authenticate")) continue;
        for (auto& c : parse_www_authenticate(value)) {
            if (!iequals(c.scheme, scheme)) continue;
            token_challenge b;
            b.realm = c.param("realm").value_or("");
            b.error = c.param("error").value_or("");
            b.error_description = c.param("error_description").value_or("");
            b.error_uri = c.param("error_uri").value_or("");
            b.scope = c.param("scope").value_or("");
            b.raw = std::move(c);
            return b;
        }
    }
    return std::nullopt;
}

}  // namespace oauth2cc::detail
