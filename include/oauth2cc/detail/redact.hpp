// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/redact.hpp: keeps credentials that a server echoes back out of error messages.
// SPDX-License-Identifier: MIT
#pragma once

#include "text.hpp"
#include "wipe.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Strings that must never reach a message, each replaced by "***". Owns copies
/// of them and wipes the copies when destroyed.
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

    /// @brief Hides text, and the form excerpt() gives it, wherever either appears.
    void add(std::string text) {
        if (text.empty()) return;
        std::string printable = excerpt(text, text.size());
        if (printable != text) hidden_.push_back(std::move(printable));
        hidden_.push_back(std::move(text));
    }

    /// @brief Text with every hidden string replaced by "***", longest first so that a
    /// string that contains another is hidden whole.
    std::string apply(std::string text) const {
        std::vector<const std::string*> order;
        order.reserve(hidden_.size());
        for (const auto& s : hidden_) order.push_back(&s);
        for (std::size_t i = 1; i < order.size(); ++i) {
            for (std::size_t j = i; j > 0 && order[j]->size() > order[j - 1]->size(); --j) {
                std::swap(order[j], order[j - 1]);
            }
        }
        for (const std::string* s : order) {
            std::size_t at = 0;
            while ((at = text.find(*s, at)) != std::string::npos) {
                text.replace(at, s->size(), "***");
                at += 3;
            }
        }
        return text;
    }

    /// @brief A sanitised excerpt of text with nothing hidden left in it.
    std::string excerpt_of(std::string_view text, std::size_t max_bytes) const {
        return apply(excerpt(apply(std::string(text)), max_bytes));
    }

private:
    std::vector<std::string> hidden_;
};

}  // namespace oauth2cc::detail
