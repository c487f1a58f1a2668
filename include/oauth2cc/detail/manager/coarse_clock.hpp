// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/coarse_clock.hpp: the cheap clock a cached read checks freshness with, and the
// rule that keeps it from ever serving a token past its expiry.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <chrono>

#if defined(__linux__)
#include <time.h>
#endif

namespace oauth2cc::detail {

/// @brief Linux's CLOCK_MONOTONIC_COARSE: the monotonic clock as of the last timer tick,
/// read from the vDSO without touching the clock hardware (a few ns instead of tens).
///
/// It is the time base steady_clock extends (CLOCK_MONOTONIC), so it never runs ahead of
/// steady_clock::now(); it lags it by less than a tick (1 to 10 ms). A cached read trusts
/// it only up to `guard` before expiry (see coarse_until), and checks steady_clock in the
/// window after that, so a lag of up to `guard` cannot serve a token late.
struct coarse_clock {
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    /// How far the coarse clock may lag without a token being served past its expiry:
    /// a hundred ticks and more.
    static constexpr duration guard = std::chrono::seconds(1);

    /// @brief Whether this platform has the clock, on steady_clock's time base.
    static bool available() noexcept {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
        timespec coarse{};
        if (clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse) != 0) return false;
        const time_point fine = std::chrono::steady_clock::now();
        const time_point seen = from(coarse);
        // The same time base: at or behind steady_clock, by less than the guard.
        return seen <= fine && fine - seen < guard;
#else
        return false;
#endif
    }

    /// @brief The coarse time; call only where available() said true.
    static time_point now() noexcept {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return from(ts);
#else
        return std::chrono::steady_clock::now();
#endif
    }

private:
#if defined(__linux__)
    static time_point from(const timespec& ts) noexcept {
        return time_point(std::chrono::duration_cast<duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    }
#endif
};

/// @brief Until when a cached read may trust the coarse clock for a token refreshed at
/// refresh_at that expires at expires_at: the refresh point, but never later than `guard`
/// before expiry. A read whose coarse time is before this is at most `guard` later in
/// steady_clock time, so before expires_at; a later read checks steady_clock itself.
constexpr coarse_clock::time_point coarse_until(coarse_clock::time_point refresh_at,
                                                coarse_clock::time_point expires_at) noexcept {
    return std::min(refresh_at, expires_at - coarse_clock::guard);
}

}  // namespace oauth2cc::detail
