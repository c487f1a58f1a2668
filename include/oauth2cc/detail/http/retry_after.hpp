// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/retry_after.hpp: reads a Retry-After header, delta-seconds or HTTP-date.
// SPDX-License-Identifier: MIT
#pragma once

#include "../text/text.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
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

/// @brief The month number of "Jan".."Dec", 0 for anything else.
inline unsigned month_number(std::string_view name) {
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (unsigned i = 0; i < 12; ++i) {
        if (name == months[i]) return i + 1;
    }
    return 0;
}

/// @brief The value of len decimal digits at s[at] (two digits may start with a space);
/// -1 otherwise.
inline int digits_at(std::string_view s, std::size_t at, std::size_t len) {
    if (at + len > s.size()) return -1;
    int v = 0;
    bool any = false;
    for (std::size_t i = at; i < at + len; ++i) {
        if (s[i] == ' ' && len == 2 && i == at) continue;  // asctime's " 6"
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
        any = true;
    }
    return any ? v : -1;
}

/// @brief Seconds since the epoch of a UTC date and time; empty when a field is out of range.
inline std::optional<std::int64_t> utc_seconds(int year, unsigned month, int day, int hour,
                                               int minute, int second) {
    if (month == 0 || year < 0 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60) {
        return std::nullopt;
    }
    return days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 + hour * 3600 +
           minute * 60 + second;
}

/// @brief Parses an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), the
/// form senders must use, into seconds since the epoch.
inline std::optional<std::int64_t> parse_imf_fixdate(std::string_view s) {
    // "Www, DD Mon YYYY HH:MM:SS GMT" is 29 characters.
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT" ||
        s[5] == ' ') {
        return std::nullopt;
    }
    return utc_seconds(digits_at(s, 12, 4), month_number(s.substr(8, 3)), digits_at(s, 5, 2),
                       digits_at(s, 17, 2), digits_at(s, 20, 2), digits_at(s, 23, 2));
}

/// @brief Parses the obsolete RFC 850 form, "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit
/// year more than 50 years ahead of current_year is taken as the century before
/// (RFC 9110 §5.6.7).
inline std::optional<std::int64_t> parse_rfc850_date(std::string_view s, int current_year) {
    const std::size_t comma = s.find(", ");
    if (comma == std::string_view::npos || comma < 6 || comma > 9) return std::nullopt;
    for (std::size_t i = 0; i < comma; ++i) {
        const char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return std::nullopt;
    }
    // "DD-Mon-YY HH:MM:SS GMT" is 22 characters.
    const std::string_view d = s.substr(comma + 2);
    if (d.size() != 22 || d[2] != '-' || d[6] != '-' || d[9] != ' ' || d[12] != ':' ||
        d[15] != ':' || d[18] != ' ' || d.substr(19) != "GMT" || d[0] == ' ' || d[7] == ' ') {
        return std::nullopt;
    }
    const int yy = digits_at(d, 7, 2);
    if (yy < 0) return std::nullopt;
    // The latest year ending in yy that is at most 50 years ahead.
    int year = current_year / 100 * 100 + yy;
    if (year + 100 <= current_year + 50) year += 100;
    if (year > current_year + 50) year -= 100;
    return utc_seconds(year, month_number(d.substr(3, 3)), digits_at(d, 0, 2), digits_at(d, 10, 2),
                       digits_at(d, 13, 2), digits_at(d, 16, 2));
}

/// @brief Parses the obsolete asctime() form, "Sun Nov  6 08:49:37 1994" (RFC 9110 §5.6.7).
inline std::optional<std::int64_t> parse_asctime_date(std::string_view s) {
    // "Www Mon DD HH:MM:SS YYYY" is 24 characters; a one-digit day has a leading space.
    if (s.size() != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':' || s[19] != ' ') {
        return std::nullopt;
    }
    return utc_seconds(digits_at(s, 20, 4), month_number(s.substr(4, 3)), digits_at(s, 8, 2),
                       digits_at(s, 11, 2), digits_at(s, 14, 2), digits_at(s, 17, 2));
}

/// @brief Seconds since the epoch of an HTTP-date in any of its three forms.
inline std::optional<std::int64_t> parse_http_date(std::string_view s, std::int64_t now) {
    if (auto t = parse_imf_fixdate(s)) return t;
    if (auto t = parse_asctime_date(s)) return t;
    const std::int64_t days = (now >= 0 ? now : now - 86399) / 86400;
    // The civil year of `days`, by the inverse of days_from_civil.
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t year = yoe + era * 400 + (mp >= 10 ? 1 : 0);
    return parse_rfc850_date(s, static_cast<int>(year));
}

/// @brief How long a Retry-After header asks to wait, counted from now_system.
/// Delta-seconds or an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms
/// that recipients must accept); a date in the past is zero; a wait over a day is
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
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(now_system.time_since_epoch()).count();
    const auto date = parse_http_date(value, now);
    if (!date) return std::nullopt;
    if (*date <= now) return std::chrono::seconds(0);
    return std::min(std::chrono::seconds(*date - now), max_retry_after);
}

}  // namespace oauth2cc::detail
