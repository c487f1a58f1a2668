// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/cached_read.hpp: how a token_manager serves its token: each thread's copy, and the
// refresh a read starts when it is due.
// SPDX-License-Identifier: MIT
#pragma once

#include "manager_fetch.hpp"
#include "manager_state.hpp"
#include "thread_cache.hpp"

#include <memory>

namespace oauth2cc::detail {

// A copy of tok under a control block of its own, for one thread's cache cell.
inline std::shared_ptr<const token> local_copy(const std::shared_ptr<const token>& tok) {
    return std::shared_ptr<const token>(tok.get(),
                                        [keep = tok](const token*) mutable { keep.reset(); });
}

// Points this thread's cell at the current token and returns the cell's copy. Needs a
// current token.
inline std::shared_ptr<const token> serve(manager_state& s, const state_lock& lock,
                                          cache_cell& cell) {
    const snapshot& current = *s.locked(lock).current;
    const auto generation = s.generation.load(std::memory_order_relaxed);
    if (cell.generation != generation || !cell.local) {
        cell.local = local_copy(current.tok);
        cell.refresh_at = current.refresh_at;
        cell.coarse_until = coarse_until(current.refresh_at, current.expires_at);
        cell.generation = generation;
    }
    return cell.local;
}

// This thread's cell for the manager; a new one is enrolled so that the manager can take
// its copy back and count its reads.
inline cache_cell& this_thread_cell(manager_state& s, const std::shared_ptr<manager_state>& alive) {
    return thread_cell(s.id, alive, [&s](std::shared_ptr<cache_cell> cell) {
        const state_lock lock = s.lock();
        s.locked(lock).cells.enroll(std::move(cell));
    });
}

/// @brief With a valid token whose refresh is due, starts the refresh (unless backing
/// off); a thread that cannot start leaves it to the next caller.
inline void refresh_if_due(manager_state& s, const state_lock& lock,
                           manager_state::time_point now) {
    guarded_state& g = s.locked(lock);
    if (now < g.current->refresh_at || g.backing_off_at(now)) return;
    try {
        start_fetch(s, lock);
    } catch (const error&) {
        // The token is still valid; the next caller tries again.
    }
}

}  // namespace oauth2cc::detail
