// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/backoff.hpp: when the next token request is made: after a failure (a
// backoff with jitter), and before expiry (a refresh point with jitter, or refresh_in).
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../token.hpp"
#include "../../token_manager.hpp"
#include "../text/limits.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <optional>
#include <string>

namespace oauth2cc::detail {

/// @brief True for failures that asking again cannot cure: the configuration or the
/// client's registration must change first.
/// @sa RFC 6749 §5.2, RFC 8707 §2
inline bool retry_cannot_cure(const error& e) {
    if (e.kind() == error_kind::config) return true;
    if (e.kind() != error_kind::oauth) return false;
    const std::string& code = e.oauth_error();
    return code == "invalid_client" || code == "unauthorized_client" || code == "invalid_scope" ||
           code == "invalid_grant" || code == "unsupported_grant_type" || code == "invalid_target";
}

/// @brief retry_initial * 2^(failures-1), at most retry_max: the longest wait after
/// `failures` failures in a row.
inline std::chrono::milliseconds backoff_ceiling(unsigned failures,
                                                 std::chrono::milliseconds retry_initial,
                                                 std::chrono::milliseconds retry_max) {
    std::chrono::milliseconds ceiling = retry_initial;
    for (unsigned i = 1; i < failures && ceiling < retry_max; ++i) ceiling *= 2;
    return std::min(ceiling, retry_max);
}

/// @brief The wait before the next attempt after `failures` failures in a row:
/// exponential backoff with full jitter, uniform in [0, min(retry_max, retry_initial *
/// 2^(failures-1))]; never below the server's Retry-After; retry_max for failures that
/// retrying cannot cure.
template <class Rng>
std::chrono::milliseconds retry_delay(const error& last, unsigned failures,
                                      std::chrono::milliseconds retry_initial,
                                      std::chrono::milliseconds retry_max, Rng& rng) {
    using std::chrono::milliseconds;
    milliseconds delay;
    if (retry_cannot_cure(last)) {
        delay = retry_max;
    } else {
        std::uniform_int_distribution<std::int64_t> pick(
            0, backoff_ceiling(failures, retry_initial, retry_max).count());
        delay = milliseconds(pick(rng));
    }
    if (last.retry_after()) {
        delay = std::max<milliseconds>(delay, *last.retry_after());
    }
    return delay;
}

/// @brief A fraction in [0, 1) for the next refresh point's jitter: the process's draws
/// follow the golden-ratio sequence from a random start, so that tokens issued together
/// in one process spread evenly over the window, and those of other processes start
/// elsewhere.
inline double next_spread() {
    static const double start = [] {
        std::random_device device;
        return std::uniform_real_distribution<double>(0.0, 1.0)(device);
    }();
    static std::atomic<std::uint64_t> draws{0};
    const auto k = draws.fetch_add(1, std::memory_order_relaxed);
    const double x = start + static_cast<double>(k % 1000003) * 0.6180339887498949;
    return x - static_cast<double>(static_cast<std::uint64_t>(x));
}

/// @brief The `refresh_in` a token response gave (seconds, a number or a numeric string),
/// if any.
inline std::optional<std::chrono::seconds> refresh_in_of(const token& tok) {
    const auto it = tok.extra.find("refresh_in");
    if (it == tok.extra.end()) return std::nullopt;
    long long value = -1;
    if (it->is_number_unsigned()) {
        value = static_cast<long long>(
            std::min<std::uint64_t>(it->get<std::uint64_t>(), max_token_lifetime.count()));
    } else if (it->is_number_integer()) {
        value = it->get<long long>();
    } else if (it->is_string()) {
        const auto& text = it->get_ref<const std::string&>();
        if (text.empty() || text.size() > 12 ||
            text.find_first_not_of("0123456789") != std::string::npos) {
            return std::nullopt;
        }
        value = std::stoll(text);
    }
    if (value < 0) return std::nullopt;
    return std::chrono::seconds(std::min<long long>(value, max_token_lifetime.count()));
}

/// @brief When a token that expires at `expires_at` after `lifetime` is refreshed: at a
/// point drawn between expiry - lead and expiry - (1 - refresh_jitter) * lead, so that
/// tokens issued together are not refreshed together; a `refresh_in` from the server
/// moves it earlier, never later, and never before half the lifetime has passed (a
/// `refresh_in` of 0 would ask for a new token at every read).
inline std::chrono::steady_clock::time_point refresh_point(
    const refresh_policy& policy, std::chrono::steady_clock::time_point issued,
    std::chrono::steady_clock::time_point expires_at, std::chrono::steady_clock::duration lifetime,
    const token& tok) {
    using duration = std::chrono::steady_clock::duration;
    const duration lead = token_manager::lead_for(lifetime, policy);
    const double spared = policy.refresh_jitter * next_spread();
    const auto at =
        expires_at - lead +
        std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
            static_cast<double>(lead.count()) * spared));
    const auto asked = refresh_in_of(tok);
    if (!asked) return at;
    const auto earlier = issued + std::max<duration>(*asked, lifetime / 2);
    return earlier < at ? earlier : at;
}

/// @brief Allows a number of events per second, and as many at once: a bucket that
/// fills at that rate, as deep. Not thread-safe: its owner's lock guards it.
class rate_bucket {
public:
    /// @brief Takes one event if per_second allows it now (always when it is 0).
    bool take(std::size_t per_second, std::chrono::steady_clock::time_point now) {
        if (per_second == 0) return true;
        const double rate = static_cast<double>(per_second);
        const double seconds = at_ ? std::chrono::duration<double>(now - *at_).count() : 1.0;
        level_ = std::min(rate, level_ + std::max(0.0, seconds) * rate);
        at_ = now;
        if (level_ < 1.0) return false;
        level_ -= 1.0;
        return true;
    }

private:
    double level_ = 0;
    std::optional<std::chrono::steady_clock::time_point> at_;
};

}  // namespace oauth2cc::detail
