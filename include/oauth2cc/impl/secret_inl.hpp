// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/secret_inl.hpp: the bodies of secret.
// SPDX-License-Identifier: MIT
#pragma once

#include "../secret.hpp"

#include "../detail/text/wipe.hpp"

#include <ostream>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE secret::secret(std::string value) noexcept
    : value_(std::move(value)), given_(true) {
    // A short value lived in the argument's small-string buffer, which a move leaves as is.
    detail::wipe(value);
}

OAUTH2CC_INLINE secret::secret(const secret& other) : value_(other.value_), given_(other.given_) {}

OAUTH2CC_INLINE secret::secret(secret&& other) noexcept
    : value_(std::move(other.value_)), given_(other.given_) {
    detail::wipe(other.value_);
    other.given_ = false;
}

OAUTH2CC_INLINE secret& secret::operator=(const secret& other) {
    if (this != &other) {
        detail::wipe(value_);
        value_ = other.value_;
        given_ = other.given_;
    }
    return *this;
}

OAUTH2CC_INLINE secret& secret::operator=(secret&& other) noexcept {
    if (this != &other) {
        detail::wipe(value_);
        value_ = std::move(other.value_);
        given_ = other.given_;
        detail::wipe(other.value_);
        other.given_ = false;
    }
    return *this;
}

OAUTH2CC_INLINE secret::~secret() { detail::wipe(value_); }

OAUTH2CC_INLINE std::ostream& operator<<(std::ostream& os, const secret&) { return os << "***"; }

}  // namespace oauth2cc
