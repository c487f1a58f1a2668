// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/cached_read.hpp: how an entry of a token_manager serves its token: each
// thread's copy (of the config's own entry through the thread's slot, of every other
// entry through the thread's keyed_cells), the wait for a fetch, the refresh a read starts
// when it is due, and invalidation.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../token_store.hpp"
#include "../crypto/sha256.hpp"
#include "../text/limits.hpp"
#include "coarse_clock.hpp"
#include "manager_events.hpp"
#include "manager_fetch.hpp"
#include "manager_state.hpp"
#include "rejection_guard.hpp"
#include "store_sync.hpp"
#include "thread_cache.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc::detail {

// A copy of tok under a control block of its own, for one thread's cache cell.
inline std::shared_ptr<const token> local_copy(const std::shared_ptr<const token>& tok) {
    return std::shared_ptr<const token>(tok.get(),
                                        [keep = tok](const token*) mutable { keep.reset(); });
}

// The current token: through this thread's cell when there is one (pointing it at the
// current token), else the shared one. Needs a current token.
inline std::shared_ptr<const token> serve(manager_state& s, const state_lock& lock,
                                          cache_cell* cell) {
    const snapshot& current = *s.locked(lock).current;
    if (cell == nullptr) return current.tok;
    if (cell->copy.load(std::memory_order_relaxed) != cell_copy::current || !cell->local) {
        cell->local = local_copy(current.tok);
        cell->refresh_at = current.refresh_at;
        cell->coarse_until = coarse_until(current.refresh_at, current.expires_at);
        cell->copy.store(cell_copy::current, std::memory_order_relaxed);
    }
    return cell->local;
}

// Counts a read answered by the valid token.
inline void count_hit(manager_state& s, const state_lock& lock, cache_cell* cell) {
    if (cell != nullptr) {
        cell->count_hit();
    } else {
        ++s.locked(lock).hits;
    }
}

// This thread's cell for the config's own entry; a new one is enrolled so that the
// manager can take its copy back and count its reads.
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

/// @brief This thread's copy of an entry, from its slot in the thread's keyed_cells, when
/// it is current and fresh; else null. No lock, and no write that other threads see but
/// the entry's last read, once per tick of the coarse clock. `own` is the manager's own
/// entry, whose clock every entry shares.
inline std::shared_ptr<const token> keyed_copy(const manager_state& own, keyed_cells::slot& slot) {
    return cached_copy(own, *slot.cell, [&own, &slot] {
        auto& last_read = static_cast<manager_state*>(slot.entry)->last_read;
        const auto now = own.read_time().time_since_epoch().count();
        if (last_read.load(std::memory_order_relaxed) < now) {
            last_read.store(now, std::memory_order_relaxed);
        }
    });
}

/// @brief The cell of a slot of this thread's keyed_cells for entry e: the slot's own when
/// it is e's, else a new one enrolled in e (the old one, of an entry dropped or gone, is
/// let go: that entry drops it from its list).
inline cache_cell& keyed_cell(keyed_cells::slot& slot, const std::shared_ptr<manager_state>& e) {
    // A cell that is not gone is of the entry it was made for, alive: an entry marks its
    // cells gone before it is freed, and a new one at its address is made after that.
    if (slot.cell && slot.entry == e.get() &&
        slot.cell->copy.load(std::memory_order_seq_cst) != cell_copy::gone) {
        return *slot.cell;
    }
    auto cell = std::make_shared<cache_cell>();
    {
        const state_lock lock = e->lock();
        e->locked(lock).cells.enroll(cell);
    }
    slot.cell = std::move(cell);
    slot.entry = e.get();
    return *slot.cell;
}

/// @brief What the span of a token an entry serves is about.
inline span_start token_span(const manager_state& s) {
    span_start what;
    what.kind = span_kind::token_acquisition;
    what.client_id = s.who;
    what.server = s.where;
    what.grant = to_string(s.client.config().grant);
    return what;
}

/// @brief A valid token of the entry, from the cache or from one shared fetch, waiting at
/// most max_wait (see token_manager::get). A tracer gets a span of it: hit or wait.
inline std::shared_ptr<const token> wait_for_token(manager_state& s, cache_cell* cell,
                                                   std::chrono::milliseconds max_wait) {
    // Ended after the lock is released, as the report is.
    span_scope span(s.client.config().tracer, token_span(s));
    wait_report report;  // reports a wait once the lock is released
    state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    auto now = s.now();
    // A wait longer than any token could take is no limit at all; so it cannot overflow.
    std::optional<manager_state::time_point> deadline;
    if (max_wait < max_token_lifetime) deadline = max_wait.count() <= 0 ? now : now + max_wait;
    bool waited = false;
    for (;;) {
        if (logging_scope::inside(s)) {
            // From this manager's logger: a valid token, or the last error, at once.
            if (g.valid_at(now)) {
                span.served(cache_outcome::hit);
                return serve(s, lock, cell);
            }
            if (g.last_error) {
                span.failed(*g.last_error);
                throw *g.last_error;
            }
            throw error(error_kind::transport,
                        "get() from this token_manager's logger never waits for a token "
                        "request, and there is no valid token now");
        }
        if (g.valid_at(now)) {
            refresh_if_due(s, lock, now);
            if (!waited) count_hit(s, lock, cell);
            span.served(waited ? cache_outcome::wait : cache_outcome::hit);
            return serve(s, lock, cell);
        }
        if (g.fetch == fetch_state::idle) {
            if (g.backing_off_at(now) && g.last_error) {
                if (!s.client.credentials_changed()) {
                    ++g.fast_failures;
                    const error e = g.backing_off(now);
                    span.failed(e);
                    throw e;
                }
                g.next_attempt.reset();  // a credential file was fixed: ask at once
            }
            start_fetch(s, lock);
        }
        if (!waited) {
            ++g.waits;
            waited = true;
            span.served(cache_outcome::wait);
            if (g.observer) report.begin(g.observer, s.who);
        }
        const std::uint64_t seq = g.fetch_seq;
        // On a worker (a credential source asking this manager for a token), the fetch
        // runs here rather than waiting for another worker, which may never come: every
        // worker may be waiting so. The transport's deadlines bound it.
        if (const auto job = g.fetch_job.lock()) {
            if (refresh_service::on_worker()) {
                lock.unlock();
                job->run_once();
                lock.lock();
            } else if (!job->urgent.exchange(true)) {
                refresh_service::instance().hurry();  // a background refresh a caller waits for
            }
        }
        while (g.fetch_seq == seq && (!deadline || s.now() < *deadline)) s.wait(lock, deadline);
        if (g.fetch_seq == seq) {
            throw error(error_kind::transport, "no token within max_wait (" +
                                                   std::to_string(max_wait.count()) +
                                                   " ms); the token request is still in progress");
        }
        if (g.last_outcome == fetch_outcome::failure && g.last_error) {
            span.failed(*g.last_error);
            throw *g.last_error;
        }
        if (g.last_outcome == fetch_outcome::token && g.current) return serve(s, lock, cell);
        now = s.now();
    }
}

/// @brief The valid token at once, or null, starting a fetch when there is none (see
/// token_manager::try_get).
inline std::shared_ptr<const token> try_token(manager_state& s, cache_cell* cell) {
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    const auto now = s.now();
    if (g.valid_at(now)) {
        if (!logging_scope::inside(s)) refresh_if_due(s, lock, now);
        count_hit(s, lock, cell);
        return serve(s, lock, cell);
    }
    if (!logging_scope::inside(s) && g.fetch == fetch_state::idle && !g.backing_off_at(now)) {
        start_fetch(s, lock);
    }
    return nullptr;
}

/// @brief Hands the entry's valid token, or the error of the fetch that was to give it,
/// to done (see token_manager::get_async).
inline void token_to(manager_state& s, token_callback done) {
    token_result now_result;
    {
        const state_lock lock = s.lock();
        guarded_state& g = s.locked(lock);
        const auto now = s.now();
        const bool inside = logging_scope::inside(s);
        if (g.valid_at(now)) {
            if (!inside) refresh_if_due(s, lock, now);
            now_result.tok = g.current->tok;
        } else if (inside) {
            now_result.failure =
                g.last_error ? *g.last_error
                             : error(error_kind::transport,
                                     "get_async() from this token_manager's logger or callback "
                                     "never waits for a token request, and there is no valid "
                                     "token now");
        } else if (g.fetch == fetch_state::idle && g.backing_off_at(now) && g.last_error &&
                   !s.client.credentials_changed()) {
            ++g.fast_failures;
            now_result.failure = g.backing_off(now);
        } else {
            if (g.fetch == fetch_state::idle && g.backing_off_at(now)) g.next_attempt.reset();
            try {
                start_fetch(s, lock);
                g.callbacks.push_back(std::move(done));
                return;
            } catch (const error& e) {
                now_result.failure = e;
            }
        }
    }
    hand_over(done, now_result);
}

/// @brief Drops the entry's token if it is still seen, unless the rejection guard keeps
/// it (when guarded); the store's copy goes too (see token_manager::invalidate).
inline void drop_token(manager_state& s, const token* seen, bool guarded = true) {
    std::shared_ptr<token_store> store;
    std::shared_ptr<const token> dropped;
    std::string key;
    std::string warning;
    std::shared_ptr<guarded_state::logger_fn> logger;
    {
        const state_lock lock = s.lock();
        guarded_state& g = s.locked(lock);
        if (!g.current || (seen != nullptr && g.current->tok.get() != seen)) return;
        if (guarded && guard_keeps(s, lock, g.current->tok, warning)) {
            logger = g.logger;
        } else {
            dropped = g.current->tok;
            g.current.reset();
            retire_copies(s, lock);
            g.dropped_digest = sha256_hex(dropped->access_token.reveal());
            store = g.store;
            key = g.store_key;
            s.notify(lock);
        }
    }
    if (!warning.empty() && logger && *logger) {
        const logging_scope inside(s);
        try {
            (*logger)(log_level::warning, warning);
        } catch (...) {
            // A logger that throws changes nothing here.
        }
    }
    // The store's files are read and written outside the lock that readers need.
    if (!store) return;
    const store_result dropped_there = drop_stored(*store, key, dropped->access_token);
    std::shared_ptr<metrics_observer> observer;
    {
        const state_lock lock = s.lock();
        guarded_state& g = s.locked(lock);
        if (dropped_there != store_result::ok) ++g.store_failures;
        observer = g.observer;
    }
    tell(observer, [&](metrics_observer& o) {
        o.on_store(store_event{s.who, store_operation::remove, dropped_there});
    });
}

}  // namespace oauth2cc::detail
