// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/backoff.hpp: how long to wait before the next token request after a failure.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
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

}  // namespace oauth2cc::detail
