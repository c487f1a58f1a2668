// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/retry_after.hpp: reads a Retry-After header, delta-seconds or HTTP-date.
// SPDX-License-Identifier: MIT
#pragma once

#include "text.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace oauth2cc::detail {

/// @brief The longest wait a Retry-After is believed for: a day.
inline constexpr std::chrono::seconds max_retry_after{24 * 60 * 60};

/// @brief Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// @brief Parses an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), the
/// form senders must use, into seconds since the epoch.
inline std::optional<std::int64_t> parse_imf_fixdate(std::string_view s) {
    // "Www, DD Mon YYYY HH:MM:SS GMT" is 29 characters.
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT") {
        return std::nullopt;
    }
    const auto number = [&](std::size_t at, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = at; i < at + len; ++i) {
            if (s[i] < '0' || s[i] > '9') return -1;
            v = v * 10 + (s[i] - '0');
        }
        return v;
    };
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    unsigned month = 0;
    for (unsigned i = 0; i < 12; ++i) {
        if (s.substr(8, 3) == months[i]) month = i + 1;
    }
    const int day = number(5, 2), year = number(12, 4);
    const int hour = number(17, 2), minute = number(20, 2), second = number(23, 2);
    if (month == 0 || day < 1 || day > 31 || year < 0 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60) {
        return std::nullopt;
    }
    return days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 + hour * 3600 +
           minute * 60 + second;
}

/// @brief How long a Retry-After header asks to wait, counted from now_system.
/// Delta-seconds or an IMF-fixdate; a date in the past is zero; a wait over a day is
/// clamped to a day; anything else is empty.
/// @sa RFC 9110 §10.2.3
inline std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now_system) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if (value.front() >= '0' && value.front() <= '9') {
        std::int64_t seconds = 0;
        for (char c : value) {
            if (c < '0' || c > '9') return std::nullopt;
            if (seconds < max_retry_after.count()) seconds = seconds * 10 + (c - '0');
        }
        return std::min(std::chrono::seconds(seconds), max_retry_after);
    }
    const auto date = parse_imf_fixdate(value);
    if (!date) return std::nullopt;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 now_system.time_since_epoch())
                                 .count();
    if (*date <= now) return std::chrono::seconds(0);
    return std::min(std::chrono::seconds(*date - now), max_retry_after);
}

}  // namespace oauth2cc::detail
