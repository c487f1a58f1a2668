// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/rejection_guard.hpp: the rejection guard: which rejected tokens are evidence that
// an API rejects every token, and how long the last one is then kept (see
// token_manager::invalidate).
// SPDX-License-Identifier: MIT
#pragma once

#include "backoff.hpp"
#include "manager_state.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

namespace oauth2cc::detail {

/// @brief Notes that a call succeeded with tok: its rejection later is no evidence for
/// the rejection guard. Costs a read when the token is already noted.
inline void note_accepted(manager_state& s, const token* tok) noexcept {
    if (s.accepted.load(std::memory_order_relaxed) != tok) {
        s.accepted.store(tok, std::memory_order_relaxed);
    }
}

/// @brief The rejection guard's verdict on a token that a caller saw rejected (see
/// token_manager::invalidate): true when it is kept, with the warning to log when the guard
/// has just begun. A token the guard kept is dropped once the guard ends, and counted, but
/// does not start the guard again: its successor gets its chance.
inline bool guard_keeps(manager_state& s, const state_lock& lock,
                        const std::shared_ptr<const token>& seen, std::string& warning) {
    guarded_state& g = s.locked(lock);
    const auto now = s.now();
    if (g.guard_until && now < *g.guard_until) return true;
    const bool kept_before = g.guard_kept.lock() == seen;
    g.guard_until.reset();
    g.guard_kept.reset();
    const bool accepted = s.accepted.load(std::memory_order_relaxed) == seen.get();
    const bool young = now - seen->obtained_at < s.policy.retry_max;
    if (accepted || (!young && !kept_before)) {
        g.rejections = 0;
        return false;
    }
    ++g.rejections;
    if (kept_before || g.rejections < 2) return false;
    const auto ceiling =
        backoff_ceiling(static_cast<unsigned>(std::min<std::uint64_t>(g.rejections - 1, 64)),
                        s.policy.retry_initial, s.policy.retry_max);
    // Half the ceiling at least: the guard must hold for a while to be one.
    std::uniform_int_distribution<std::int64_t> pick(ceiling.count() / 2, ceiling.count());
    const std::chrono::milliseconds hold(pick(g.rng));
    g.guard_until = now + hold;
    g.guard_kept = seen;
    warning = "the API rejected the last " + std::to_string(g.rejections) + " tokens of client \"" +
              s.who + "\" before any call succeeded with them; the token is kept for " +
              std::to_string(hold.count()) + " ms, with no token request meanwhile";
    return true;
}

}  // namespace oauth2cc::detail
