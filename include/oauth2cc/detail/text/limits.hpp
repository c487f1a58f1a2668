// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/limits.hpp: the bounds on durations that keep every sum with a time point finite.
// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>

namespace oauth2cc::detail {

/// @brief The longest token lifetime believed: a year. Longer ones are clamped to it, and
/// no policy duration may pass it, so that a time point plus any of them stays far inside
/// steady_clock's range (about 292 years of nanoseconds).
inline constexpr std::chrono::seconds max_token_lifetime{365LL * 24 * 60 * 60};

/// @brief The longest connect or read timeout: a day. cpp-httplib turns them into int
/// milliseconds for poll(), which a longer one would overflow.
inline constexpr std::chrono::milliseconds max_timeout{24LL * 60 * 60 * 1000};

/// @brief True when both timeouts are positive and at most max_timeout.
constexpr bool timeouts_in_range(std::chrono::milliseconds connect,
                                 std::chrono::milliseconds read) noexcept {
    return connect.count() > 0 && read.count() > 0 && connect <= max_timeout && read <= max_timeout;
}

/// @brief The most a key or assertion file may hold: keys and JWTs are a few KiB.
inline constexpr std::size_t max_credential_file_bytes = 64 * 1024;

}  // namespace oauth2cc::detail
