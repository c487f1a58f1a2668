// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/manager_fetch.hpp: one token fetch of a token_manager, step by step (look in the
// store, request, save, publish, log), and the threads that run fetches.
// SPDX-License-Identifier: MIT
#pragma once

#include "../oauth/grant.hpp"
#include "../store/secret_file.hpp"
#include "backoff.hpp"
#include "refresher.hpp"
#include "manager_events.hpp"
#include "manager_state.hpp"
#include "store_sync.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace oauth2cc::detail {

/// @brief Marks the thread as running this manager's logger (or a get_async() callback),
/// for as long as it does. Its calls back into the manager, for any entry, must not wait
/// for a request: the request that would answer them may need this worker.
class logging_scope {
public:
    explicit logging_scope(const manager_state& s) noexcept : previous_(current()) {
        current() = s.fetches.get();
    }
    logging_scope(const logging_scope&) = delete;
    logging_scope& operator=(const logging_scope&) = delete;
    ~logging_scope() { current() = previous_; }

    /// @brief True on a thread inside the logger of s's manager.
    static bool inside(const manager_state& s) noexcept { return current() == s.fetches.get(); }

private:
    // The manager is named by its fetch_count, which every entry of it shares.
    static const void*& current() noexcept {
        thread_local const void* logging = nullptr;
        return logging;
    }
    const void* previous_;
};

/// @brief What a fetch starts from, copied under the lock.
struct fetch_inputs {
    std::shared_ptr<token_store> store;
    std::string store_key;
    std::shared_ptr<const snapshot> replacing;  ///< keeps exclusions.replacing alive
    store_exclusions exclusions;
    std::shared_ptr<metrics_observer> observer;
    bool after_failure = false;  ///< the last request failed
};

/// @brief How a fetch went.
struct fetch_report {
    std::chrono::steady_clock::time_point started;     ///< on the manager's clock
    std::chrono::steady_clock::time_point real_start;  ///< for the time it took
    std::chrono::system_clock::time_point wall_start;  ///< the stored token's issue time
    bool requested = false;             ///< a request was made (the store had no token)
    std::optional<stored_pick> picked;  ///< the token taken from the store
    std::optional<token> got;           ///< the token requested
    std::optional<error> failure;
    std::chrono::seconds lifetime{0};    ///< of the token requested
    save_problem not_saved;              ///< why the requested token was not stored
    std::string store_unavailable;       ///< why the store could not be reached
    std::optional<store_result> loaded;  ///< how the look in the store went, if any
    std::chrono::nanoseconds request_took{0};
    unsigned nonce_retries = 0;         ///< the request's `use_dpop_nonce` retries
    unsigned credential_rotations = 0;  ///< credential files rotated since the last request
    std::string notice;                 ///< the token client's notice, for the log line
    long long took_ms = 0;
};

/// @brief A log line for after the lock is released.
struct log_entry {
    log_level level = log_level::info;
    std::string line;
    std::shared_ptr<guarded_state::logger_fn> logger;
    fetch_events events;  ///< for the observer and the get_async() callbacks
};

inline fetch_inputs take_inputs(manager_state& s) {
    const state_lock lock = s.lock();
    const guarded_state& g = s.locked(lock);
    fetch_inputs in;
    in.store = g.store;
    in.store_key = g.store_key;
    in.replacing = g.current;
    in.exclusions.replacing = g.current ? g.current->tok.get() : nullptr;
    in.exclusions.dropped_digest = g.dropped_digest;
    in.exclusions.dpop_bound = !s.client.config().dpop_key.has_value();
    in.exclusions.not_applicable = accepts_not_applicable(s.client.config());
    in.observer = g.observer;
    in.after_failure = g.consecutive_failures > 0;
    return in;
}

/// @brief Step 1: a usable stored token, or the store's lock for the request to come.
inline std::unique_ptr<token_store_lock> take_from_store(const manager_state& s,
                                                         const fetch_inputs& in, fetch_report& r) {
    if (!in.store) return nullptr;
    try {
        store_look look =
            look_in_store(*in.store, in.store_key, s.policy, in.exclusions, r.started);
        r.picked = std::move(look.picked);
        r.store_unavailable = std::move(look.unavailable);
        r.loaded = !r.store_unavailable.empty() ? store_result::unavailable
                   : r.picked                   ? store_result::hit
                                                : store_result::miss;
        return std::move(look.held);
    } catch (const error& e) {
        r.failure = e;
        r.loaded = store_result::failure;
        return nullptr;
    }
}

/// @brief Step 2: the token request, with the lifetime the manager will give the token.
inline void request(manager_state& s, fetch_report& r) {
    r.requested = true;
    const unsigned nonce_retries_before = s.client.nonce_retries();
    const unsigned rotations_before = s.client.credential_rotations();
    const auto start = std::chrono::steady_clock::now();
    const auto done = [&] {
        r.request_took = std::chrono::steady_clock::now() - start;
        r.nonce_retries = s.client.nonce_retries() - nonce_retries_before;
        r.credential_rotations = s.client.credential_rotations() - rotations_before;
        r.notice = s.client.take_notice();
    };
    try {
        r.got = s.client.fetch();
        done();
    } catch (const error& e) {
        done();
        r.failure = e;
        return;
    } catch (...) {
        done();
        r.failure = error(error_kind::transport,
                          "the transport threw an exception that is not an oauth2cc::error");
        return;
    }
    // A token that claims no lifetime at all is served once, then refreshed.
    r.lifetime = std::max(r.got->expires_in ? *r.got->expires_in : s.policy.lifetime_if_unknown,
                          std::chrono::seconds(1));
}

/// @brief Step 4 on success: the token becomes current, every thread's older copy goes.
inline void publish_token(manager_state& s, const state_lock& lock, fetch_report& r,
                          log_entry& log) {
    guarded_state& g = s.locked(lock);
    auto snap = std::make_shared<snapshot>();
    if (r.got) {
        r.got->obtained_at = r.started;
        snap->expires_at = r.started + r.lifetime;
        snap->refresh_at = refresh_point(s.policy, r.started, snap->expires_at, r.lifetime, *r.got);
        snap->tok = std::make_shared<const token>(std::move(*r.got));
        ++g.successes;
    } else {
        snap->expires_at = r.started + r.picked->left;
        snap->refresh_at =
            refresh_point(s.policy, r.started, snap->expires_at, r.picked->lifetime, r.picked->tok);
        snap->tok = std::make_shared<const token>(std::move(r.picked->tok));
        ++g.store_loads;
    }
    g.current = std::move(snap);
    retire_copies(s, lock);
    g.consecutive_failures = 0;
    g.next_attempt.reset();
    g.last_outcome = fetch_outcome::token;
    const auto refresh_in =
        std::chrono::duration_cast<std::chrono::seconds>(g.current->refresh_at - r.started).count();
    const token& tok = *g.current->tok;
    if (r.requested) {
        log.line = "token for client \"" + s.who + "\" from " + s.where + " in " +
                   std::to_string(r.took_ms) + " ms; lifetime " +
                   std::to_string(r.lifetime.count()) + " s" +
                   (tok.expires_in ? "" : " (no expires_in: assumed)") + ", refresh " +
                   std::to_string(refresh_in) + " s from now";
    } else {
        log.line = "token for client \"" + s.who + "\" from the token store in " +
                   std::to_string(r.took_ms) + " ms; " + std::to_string(tok.expires_in->count()) +
                   " s left, refresh " + std::to_string(refresh_in) + " s from now";
    }
    if (!r.not_saved.what.empty() && !r.not_saved.unavailable) {
        ++g.store_failures;
        log.level = log_level::warning;
        log.line += "; not stored: " + r.not_saved.what;
    }
}

/// @brief A store that cannot be reached is counted each time, and logged once per outage:
/// on the first failure, and when it answers again.
inline void note_store_health(manager_state& s, const state_lock& lock, const fetch_inputs& in,
                              fetch_report& r, log_entry& log) {
    guarded_state& g = s.locked(lock);
    if (!in.store) return;
    const std::string& why = !r.store_unavailable.empty() ? r.store_unavailable
                             : r.not_saved.unavailable    ? r.not_saved.what
                                                          : std::string();
    if (!why.empty()) {
        ++g.store_failures;
        if (g.store_down) return;
        g.store_down = true;
        log.level = std::max(log.level, log_level::warning);
        log.line +=
            "; the token store is unavailable, going on without it until it "
            "answers again: " +
            why;
    } else if (g.store_down && !r.failure) {
        g.store_down = false;
        log.line += "; the token store answers again";
    }
}

/// @brief Step 4 on failure: the error is kept for callers, and the next attempt waits a
/// backoff.
inline void publish_failure(manager_state& s, const state_lock& lock, fetch_report& r,
                            log_entry& log) {
    guarded_state& g = s.locked(lock);
    const error& failure = *r.failure;
    ++g.failures;
    ++g.consecutive_failures;
    if (!r.requested) ++g.store_failures;
    const auto delay = retry_delay(
        failure, static_cast<unsigned>(std::min<std::uint64_t>(g.consecutive_failures, 64)),
        s.policy.retry_initial, s.policy.retry_max, g.rng);
    g.next_attempt = s.now() + delay;
    g.last_outcome = fetch_outcome::failure;
    log.level = retry_cannot_cure(failure) ? log_level::error : log_level::warning;
    log.line = std::string(r.requested ? "token request" : "token store") + " for client \"" +
               s.who + "\" " + (r.requested ? "to " + s.where + " " : std::string()) +
               "failed after " + std::to_string(r.took_ms) + " ms";
    if (failure.http_status() != 0) {
        log.line += " (HTTP " + std::to_string(failure.http_status()) + ")";
    }
    log.line += ": " + std::string(failure.what()) + "; next attempt in " +
                std::to_string(delay.count()) + " ms (failure " +
                std::to_string(g.consecutive_failures) + " in a row)";
    g.last_error = std::move(r.failure);
}

/// @brief What the observer is to be told of a fetch: told before the outcome is
/// published, so that a caller the fetch wakes finds it counted.
inline fetch_events observer_events(const fetch_inputs& in, const fetch_report& r) {
    fetch_events events;
    events.observer = in.observer;
    if (!events.observer) return events;
    if (r.loaded) events.store.emplace_back(store_operation::load, *r.loaded);
    if (r.requested) {
        request_record rec;
        rec.outcome = r.got ? request_outcome::success : outcome_of(r.failure->kind());
        if (r.failure) {
            rec.http_status = r.failure->http_status();
            rec.oauth_error = excerpt(r.failure->oauth_error(), 100);
        }
        rec.latency = r.request_took;
        rec.retry = in.after_failure;
        rec.nonce_retries = r.nonce_retries;
        rec.credential_rotations = r.credential_rotations;
        events.request = std::move(rec);
    }
    if (r.got && in.store) {
        events.store.emplace_back(store_operation::save, r.not_saved.what.empty() ? store_result::ok
                                                         : r.not_saved.unavailable
                                                             ? store_result::unavailable
                                                             : store_result::failure);
    }
    return events;
}

/// @brief Step 4: the outcome published, the fetch over, every waiter woken.
inline log_entry publish(manager_state& s, const fetch_inputs& in, fetch_report& r) {
    log_entry log;
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    if (r.requested) {
        ++g.fetches;
        if (g.consecutive_failures > 0) ++g.retries;
    }
    log.events.callbacks = std::move(g.callbacks);
    g.callbacks.clear();
    if (r.got || r.picked) {
        publish_token(s, lock, r, log);
    } else {
        publish_failure(s, lock, r, log);
    }
    if (r.credential_rotations > 0) {
        // Counted and said, never shown: a new secret or key is the file's business.
        g.credential_rotations += r.credential_rotations;
        log.line += "; a rotated credential was taken up from " +
                    credential_files(s.client.config()) + " (" +
                    std::to_string(g.credential_rotations) + " so far)";
    }
    if (!r.notice.empty()) {
        log.line += "; " + r.notice;
        if (log.level < log_level::warning) log.level = log_level::warning;
    }
    note_store_health(s, lock, in, r, log);
    g.fetch = fetch_state::idle;
    ++g.fetch_seq;
    log.logger = g.logger;
    if (!log.events.callbacks.empty()) {
        if (g.last_outcome == fetch_outcome::token) {
            log.events.result.tok = g.current->tok;
        } else {
            log.events.result.failure = g.last_error;
        }
    }
    s.notify(lock);
    return log;
}

/// @brief Step 5: the log line and the get_async() callbacks, outside every lock.
inline void write_log(const manager_state& s, const log_entry& log) {
    const logging_scope inside(s);
    if (log.logger && *log.logger) {
        try {
            (*log.logger)(log.level, log.line);
        } catch (...) {
            // A logger that throws must not take the refresh down with it.
        }
    }
    log.events.deliver(s.who);
}

/// @brief One fetch: a usable stored token, else one token request (saved to the store);
/// the outcome published and logged. The state's fetch is `running` on entry.
inline void run_fetch(manager_state& s) {
    const std::lock_guard<std::mutex> order(s.fetch_order);
    fetch_report r;
    r.started = s.now();
    r.real_start = std::chrono::steady_clock::now();
    r.wall_start = std::chrono::system_clock::now();
    const fetch_inputs in = take_inputs(s);
    std::unique_ptr<token_store_lock> held = take_from_store(s, in, r);
    if (!r.picked && !r.failure) request(s, r);
    if (r.got && in.store) {
        r.not_saved = save_to_store(*in.store, in.store_key, *r.got, r.wall_start, r.lifetime);
    }
    held.reset();
    r.took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - r.real_start)
                    .count();
    {
        const logging_scope inside(s);
        observer_events(in, r).deliver(s.who);
    }
    write_log(s, publish(s, in, r));
}

/// @brief Starts one fetch unless one is running: hands it to the process's workers.
/// @throws error `transport` when no worker can run it
inline void start_fetch(manager_state& s, const state_lock& lock) {
    guarded_state& g = s.locked(lock);
    if (g.fetch != fetch_state::idle) return;
    s.fetches->start();
    const auto finished = [fetches = s.fetches] { fetches->finish(); };
    g.fetch = fetch_state::running;
    try {
        // The manager's job (its entries share s.fetches), urgent without a valid token.
        const bool urgent = !g.valid_at(s.now());
        g.fetch_job = refresh_service::instance().submit(
            [self = s.shared_from_this(), finished]() mutable {
                run_fetch(*self);
                bool background = false;
                {
                    const state_lock inner = self->lock();
                    background = self->locked(inner).background;
                }
                // The entry is let go before the fetch counts as finished: this worker may hold
                // its last reference, and its config, keys and transport are to be freed before
                // the manager's destructor returns (before OpenSSL cleans up), never after.
                self.reset();
                finished();
                // The entry's refresh point has moved: the refresher is to look again.
                if (background) refresh_service::instance().poke();
            },
            s.fetches.get(), urgent);
    } catch (const error&) {
        g.fetch = fetch_state::idle;
        finished();
        throw;
    }
}

}  // namespace oauth2cc::detail
