// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// secret.hpp: a string that never prints and is wiped when it goes away.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"

#include <iosfwd>
#include <string>

namespace oauth2cc {

/// @brief Owns a sensitive string: a client secret, an access token, an assertion.
///
/// It streams as `***`, never as its value, and its memory is wiped (OPENSSL_cleanse)
/// when it is destroyed, reassigned or moved from. reveal() is the one way to the value.
class secret {
public:
    /// @brief An empty secret, with no value given.
    secret() noexcept = default;
    /// @brief Takes the value; the moved-from argument's buffer is wiped.
    /// @param value the sensitive text
    explicit secret(std::string value) noexcept;
    /// @brief A copy in a buffer of its own.
    secret(const secret& other);
    /// @brief Takes other's value; other is left empty.
    secret(secret&& other) noexcept;
    /// @brief Wipes the old value, then copies.
    secret& operator=(const secret& other);
    /// @brief Wipes the old value, then takes other's; other is left empty.
    secret& operator=(secret&& other) noexcept;
    ~secret();

    /// @brief The value. Keep the reference short-lived and never log it.
    const std::string& reveal() const noexcept { return value_; }
    /// @brief True when the value is the empty string.
    bool empty() const noexcept { return value_.empty(); }
    /// @brief True when a value was given, even an empty one: a secret made from a string
    /// (or copied or moved from one), as opposed to a default-constructed or moved-from
    /// one. Lets an option tell "not asked for" from "asked for, but empty" (an empty
    /// key file).
    bool has_value() const noexcept { return given_; }

private:
    std::string value_;
    bool given_ = false;
};

/// @brief Writes `***`, whatever the value.
std::ostream& operator<<(std::ostream& os, const secret& s);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/secret_inl.hpp"
#endif
