// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/manager_state.hpp: what a token_manager holds, split by who may touch it: set
// once, read without the lock, and guarded by the lock (reachable only with it held).
// SPDX-License-Identifier: MIT
#pragma once

#include "../../clock.hpp"
#include "../../error.hpp"
#include "../../metrics.hpp"
#include "../../token.hpp"
#include "../../token_manager.hpp"
#include "../../token_store.hpp"
#include "../oauth/cache_key.hpp"
#include "coarse_clock.hpp"
#include "refresher.hpp"
#include "../oauth/dpop.hpp"
#include "../store/request_source.hpp"
#include "../text/limits.hpp"
#include "../text/text.hpp"
#include "thread_cache.hpp"
#include "../http/trace.hpp"
#include "../http/url.hpp"

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Where the token request stands.
enum class fetch_state {
    idle,     ///< none running or waiting for a worker
    running,  ///< handed to the workers, or under way on one
};

/// @brief How the last token request (or look at the store) ended.
enum class fetch_outcome { none, token, failure };

/// @brief The lock of a manager_state, held. Functions that need the lock take one, so
/// that the guarded state cannot be reached without it.
using state_lock = std::unique_lock<std::mutex>;

/// @brief A published token with the times that govern it. Never changed once shared.
struct snapshot {
    std::shared_ptr<const token> tok;
    std::chrono::steady_clock::time_point refresh_at;
    std::chrono::steady_clock::time_point expires_at;
};

/// @brief The part of a manager_state that only a holder of its lock may read or write.
struct guarded_state {
    using time_point = std::chrono::steady_clock::time_point;
    using logger_fn = std::function<void(log_level, std::string_view)>;

    std::shared_ptr<const snapshot> current;
    fetch_state fetch = fetch_state::idle;
    std::weak_ptr<worker_job> fetch_job;  ///< the running fetch's, for a worker to run itself
    fetch_outcome last_outcome = fetch_outcome::none;
    std::uint64_t fetch_seq = 0;  ///< requests (or store looks) completed
    std::optional<error> last_error;
    /// Set while backing off: no request before it.
    std::optional<time_point> next_attempt;
    std::uint64_t consecutive_failures = 0;
    /// Tokens in a row that invalidate() dropped before any call succeeded with them,
    /// each within retry_max of its issue (see token_manager::invalidate).
    std::uint64_t rejections = 0;
    /// While the rejection guard holds: until when, and the token it keeps.
    std::optional<time_point> guard_until;
    std::weak_ptr<const token> guard_kept;
    std::uint64_t fetches = 0, successes = 0, failures = 0, retries = 0, waits = 0,
                  fast_failures = 0, store_loads = 0, store_failures = 0, credential_rotations = 0;
    std::uint64_t hits = 0;  ///< reads served without a cell (try_get, get_async)
    std::minstd_rand rng;    ///< small: a manager may hold thousands of entries
    /// Refreshed by the process's refresher at its refresh point (and, for an entry that is
    /// not the config's own, only while read within idle_after).
    bool background = false;
    std::shared_ptr<logger_fn> logger;
    std::shared_ptr<metrics_observer> observer;
    /// get_async() callbacks waiting for the fetch under way.
    std::vector<std::function<void(token_result)>> callbacks;
    std::shared_ptr<token_store> store;
    std::string store_key;    ///< store_key(key), set with the first store
    bool store_down = false;  ///< the store could not be reached at the last look
    /// SHA-256 of the last token invalidate() dropped: the store's copy of it is not taken
    /// again, and the token itself is not kept.
    std::string dropped_digest;
    /// Every thread's copy of the current token, taken back when it changes (the config's
    /// own entry only: the others are read under the lock).
    cell_list cells;

    bool backing_off_at(time_point now) const noexcept {
        return next_attempt && now < *next_attempt;
    }
    bool valid_at(time_point now) const noexcept { return current && now < current->expires_at; }

    /// @brief What get() throws while backing off at now: the last error's kind and
    /// details, saying that no request was made, when the next may be, and the last error.
    error backing_off(time_point now) const {
        const error& last = *last_error;
        std::string said = last.what();
        const std::string prefix = "oauth2cc: " + std::string(to_string(last.kind())) + " error: ";
        if (said.rfind(prefix, 0) == 0) said.erase(0, prefix.size());
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next_attempt - now);
        return error(last.kind(),
                     "no token request was made: after " + std::to_string(consecutive_failures) +
                         " failed request(s) the next is in " + std::to_string(left.count()) +
                         " ms (a changed credential file ends the wait); the last one: " + said,
                     error_details{last.oauth_error(), last.error_description(), last.error_uri(),
                                   last.http_status(), last.retry_after()});
    }
};

/// @brief The token_manager's fetches that are handed to the workers or under way, which
/// its destructor waits for.
struct fetch_count {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t running = 0;

    /// @brief One more fetch handed to the workers.
    void start() {
        const std::lock_guard<std::mutex> count(mutex);
        ++running;
    }
    /// @brief One fetch finished.
    void finish() {
        const std::lock_guard<std::mutex> count(mutex);
        --running;
        done.notify_all();
    }
};

/// @brief One entry of a token_manager: the token of one token_params, with its own single
/// flight, lead, backoff, cache key and store entry.
class manager_state : public std::enable_shared_from_this<manager_state> {
public:
    using steady = std::chrono::steady_clock;
    using time_point = steady::time_point;

    /// @param source, via, tailoring make the entry's client (see entry_client)
    /// @param cfg  the config with the entry's token_params in place, for its cache key
    /// @param is_own the entry of the config's own parameters
    /// @param seed seeds the jitter of backoffs and refresh points (0: at random)
    /// @param subject_key for an entry of one subject (current_subject::key), added to
    ///        its cache key
    manager_state(std::shared_ptr<request_source> source, std::shared_ptr<transport> via,
                  std::unique_ptr<const request_tailoring> tailoring, const client_config& cfg,
                  const refresh_policy& p, std::shared_ptr<clock_source> clk, bool is_own,
                  std::uint64_t seed, std::shared_ptr<fetch_count> count,
                  const std::string& subject_key = {})
        : policy(p),
          client(std::move(source), std::move(via), std::move(tailoring)),
          clock(clk ? std::move(clk) : std::make_shared<steady_clock_source>()),
          system_clock(dynamic_cast<steady_clock_source*>(clock.get()) != nullptr),
          coarse(system_clock && coarse_clock::available()),
          manual(clock->is_manual()),
          key(subject_key.empty() ? cache_key(cfg) : cache_key(cfg) + "&" + subject_key),
          id(next_manager_id()),
          where(server_of(cfg.token_endpoint.empty() ? cfg.issuer : cfg.token_endpoint)),
          who(excerpt(cfg.client_id, 100)),
          own(is_own),
          fetches(std::move(count)) {
        guarded_.rng.seed(
            static_cast<std::minstd_rand::result_type>(seed != 0 ? seed : std::random_device{}()));
        last_read.store(now().time_since_epoch().count(), std::memory_order_relaxed);
    }

    manager_state(const manager_state&) = delete;
    manager_state& operator=(const manager_state&) = delete;
    /// Takes every thread's copy back, and has no reader reach this entry again.
    ~manager_state() {
        const state_lock lock(mutex_);
        retire(guarded_.cells, cell_copy::gone);
    }

    /// @throws error `config` when a field of p is out of range
    static refresh_policy check(const refresh_policy& p) {
        const auto fail = [](const char* why) { throw error(error_kind::config, why); };
        if (p.early.count() < 0) fail("refresh_policy.early must not be negative");
        if (!(p.early_fraction >= 0.0 && p.early_fraction < 1.0)) {
            fail("refresh_policy.early_fraction must be in [0, 1)");
        }
        if (p.lifetime_if_unknown.count() <= 0) {
            fail("refresh_policy.lifetime_if_unknown must be positive");
        }
        if (p.retry_initial.count() <= 0) fail("refresh_policy.retry_initial must be positive");
        if (p.retry_max < p.retry_initial) {
            fail("refresh_policy.retry_max must not be below retry_initial");
        }
        // Bounded so that no sum of them with a time point can overflow.
        if (p.early > max_token_lifetime || p.lifetime_if_unknown > max_token_lifetime) {
            fail("refresh_policy.early and lifetime_if_unknown must be at most a year");
        }
        if (p.retry_max > max_token_lifetime)
            fail("refresh_policy.retry_max must be at most a year");
        if (p.max_entries == 0) fail("refresh_policy.max_entries must be at least 1");
        if (p.idle_after.count() <= 0) fail("refresh_policy.idle_after must be positive");
        if (p.idle_after > max_token_lifetime) {
            fail("refresh_policy.idle_after must be at most a year");
        }
        if (!(p.refresh_jitter >= 0.0 && p.refresh_jitter <= 1.0)) {
            fail("refresh_policy.refresh_jitter must be in [0, 1]");
        }
        return p;
    }

    time_point now() const { return system_clock ? steady::now() : clock->now(); }

    /// @brief The time of a read, for idle_after: the coarse clock where it may answer
    /// (within a tick of now(), on its time base), else now().
    time_point read_time() const { return coarse ? coarse_clock::now() : now(); }

    /// @brief Whether a cell's copy may still be served without the lock. On the system
    /// clock, the coarse clock answers while it is before coarse_until (see
    /// coarse_clock.hpp); only then, or on another clock, is the exact time read.
    bool fresh(const cache_cell& cell) const {
        if (coarse && coarse_clock::now() < cell.coarse_until) return true;
        return now() < cell.refresh_at;
    }

    /// @brief The guarded state; lock proves that this state's mutex is held.
    guarded_state& locked(const state_lock& lock) noexcept {
        assert(lock.owns_lock() && lock.mutex() == &mutex_);
        (void)lock;
        return guarded_;
    }
    const guarded_state& locked(const state_lock& lock) const noexcept {
        assert(lock.owns_lock() && lock.mutex() == &mutex_);
        (void)lock;
        return guarded_;
    }
    /// @brief Takes the lock. It is never held across a request or a call of the logger.
    state_lock lock() const { return state_lock(mutex_); }

    /// @brief Waits for a change (notify()), or until `when` on this manager's clock.
    void wait(state_lock& lock, const std::optional<time_point>& when) {
        if (!when || manual) {
            changed_.wait(lock);  // a manual clock wakes us through its subscription
        } else if (system_clock) {
            changed_.wait_until(lock, *when);
        } else {
            const auto left = *when - now();
            if (left > steady::duration::zero()) changed_.wait_for(lock, left);
        }
    }
    /// @brief Waits until pred() holds; it is checked with the lock held.
    template <class Pred>
    void wait_for_condition(state_lock& lock, Pred pred) {
        changed_.wait(lock, pred);
    }
    /// @brief Wakes every waiter; call with the lock held, after a change.
    void notify(const state_lock& lock) {
        (void)lock;
        changed_.notify_all();
    }
    /// @brief Wakes every waiter after taking and releasing the lock, so that a waiter
    /// between its check and its wait cannot miss it (for the clock's subscription).
    void poke() {
        { const state_lock lock(mutex_); }
        changed_.notify_all();
    }

    // Set once.
    const refresh_policy policy;
    entry_client client;
    const std::shared_ptr<clock_source> clock;
    const bool system_clock;  ///< the clock is std::chrono::steady_clock
    const bool coarse;        ///< ...and the coarse clock may answer cached reads
    const bool manual;
    const std::string key;
    const std::uint64_t id;
    const std::string where;  ///< host:port of the token endpoint, for log lines
    const std::string who;    ///< the client id, sanitised, for log lines
    const bool own;           ///< the config's own entry: never dropped
    const std::shared_ptr<fetch_count> fetches;
    /// When a caller last read this entry, on its clock (time_since_epoch().count()).
    std::atomic<steady::rep> last_read{0};
    /// Held by a fetch from its start to its log line: the entry's next fetch, on whichever
    /// worker, begins after the logger has returned, so its lines come in order.
    std::mutex fetch_order;

    /// Read and written without the lock: the token a call last succeeded with
    /// (note_accepted). Cleared when the token changes (retire_copies), so that it never
    /// names a freed token whose address a new one took: a caller still holding the old
    /// token keeps it alive, so no new token can share its address while that caller can
    /// report it.
    std::atomic<const token*> accepted{nullptr};

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    guarded_state guarded_;
};

/// @brief Takes back every thread's copy of the older tokens, so that no thread's cache
/// keeps a replaced, invalidated or destroyed token alive: it lives only as long as the
/// copies that callers hold.
inline void retire_copies(manager_state& s, const state_lock& lock) {
    s.accepted.store(nullptr, std::memory_order_relaxed);  // it named an older token
    retire(s.locked(lock).cells);
}

/// @brief The manager's observer, if any.
inline std::shared_ptr<metrics_observer> observer_of(const manager_state& s) {
    const state_lock lock = s.lock();
    return s.locked(lock).observer;
}

/// @brief Does nothing: cached_copy()'s default on_hit.
struct no_op {
    void operator()() const noexcept {}
};

/// @brief The cell's copy when it is current and fresh (on s's clock), counted as a hit;
/// else null. No lock, no write that other threads see. on_hit runs inside the read
/// mark, while the cell's entry cannot be gone.
template <class OnHit = no_op>
inline std::shared_ptr<const token> cached_copy(const manager_state& s, cache_cell& cell,
                                                OnHit on_hit = {}) {
    cell.enter_read();
    if (cell.current() && cell.local && s.fresh(cell)) {
        on_hit();
        std::shared_ptr<const token> copy = cell.local;
        cell.leave_read();
        cell.count_hit();
        return copy;
    }
    cell.leave_read();
    return nullptr;
}

}  // namespace oauth2cc::detail
