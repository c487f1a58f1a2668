// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_manager_inl.hpp: the bodies of token_manager.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_manager.hpp"

#include "../detail/backoff.hpp"
#include "../detail/cache_key.hpp"
#include "../detail/limits.hpp"
#include "../detail/sha256.hpp"
#include "../detail/text.hpp"
#include "../detail/thread_cache.hpp"
#include "../detail/url.hpp"
#include "../token_client.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(log_level level) noexcept {
    switch (level) {
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warning: return "warning";
        case log_level::error: return "error";
    }
    return "unknown";
}

namespace detail {

struct manager_state {
    using steady = std::chrono::steady_clock;
    using time_point = steady::time_point;
    using logger_fn = std::function<void(log_level, std::string_view)>;

    /// @brief A published token with the times that govern it. Never changed once shared.
    struct snapshot {
        std::shared_ptr<const token> tok;
        time_point refresh_at;
        time_point expires_at;
    };

    manager_state(client_config cfg, refresh_policy p, std::shared_ptr<transport> via,
          std::shared_ptr<clock_source> clk)
        : policy(check(p)),
          client(std::move(cfg), std::move(via)),
          clock(clk ? std::move(clk) : std::make_shared<steady_clock_source>()),
          system_clock(!clock || dynamic_cast<steady_clock_source*>(clock.get()) != nullptr),
          manual(clock->is_manual()),
          key(detail::cache_key(client.config())),
          id(detail::next_manager_id()),
          rng(p.jitter_seed != 0 ? p.jitter_seed : std::random_device{}()) {
        const auto url = detail::parse_url(client.config().token_endpoint);
        where = url ? detail::excerpt(url->host, 100) + ":" + std::to_string(url->port) : "?";
        who = detail::excerpt(client.config().client_id, 100);
    }

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
        if (p.early > detail::max_token_lifetime ||
            p.lifetime_if_unknown > detail::max_token_lifetime) {
            fail("refresh_policy.early and lifetime_if_unknown must be at most a year");
        }
        if (p.retry_max > detail::max_token_lifetime) {
            fail("refresh_policy.retry_max must be at most a year");
        }
        return p;
    }

    time_point now() const { return system_clock ? steady::now() : clock->now(); }

    // Waits on `changed` until woken, or until `when` on this manager's clock.
    void wait(std::unique_lock<std::mutex>& lock, const std::optional<time_point>& when) {
        if (!when || manual) {
            changed.wait(lock);  // a manual clock wakes us through its subscription
        } else if (system_clock) {
            changed.wait_until(lock, *when);
        } else {
            const auto left = *when - now();
            if (left > steady::duration::zero()) changed.wait_for(lock, left);
        }
    }

    // Set once.
    const refresh_policy policy;
    token_client client;
    const std::shared_ptr<clock_source> clock;
    const bool system_clock;
    const bool manual;
    const std::string key;
    const std::uint64_t id;
    std::string where;  ///< host:port of the token endpoint, for log lines
    std::string who;    ///< the client id, sanitised, for log lines
    std::uint64_t clock_subscription = 0;

    // Read without the lock.
    std::atomic<std::uint64_t> generation{1};  ///< Stored seq_cst, then retire_copies_locked().
    detail::striped_counter cache_hits;

    // Guarded by mutex, which is never held across a request.
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::shared_ptr<const snapshot> current;
    bool fetch_running = false;
    bool fetch_requested = false;  ///< asked of the background thread
    std::uint64_t fetch_seq = 0;   ///< requests completed
    bool last_fetch_ok = false;
    std::optional<error> last_error;
    bool backing_off = false;
    time_point next_attempt{};
    std::uint64_t consecutive_failures = 0;
    /// Tokens in a row that invalidate() dropped within retry_max of their issue.
    std::uint64_t rejections = 0;
    std::uint64_t fetches = 0, successes = 0, failures = 0, retries = 0, waits = 0,
                  fast_failures = 0;
    std::mt19937_64 rng;
    bool background = false;
    bool stopping = false;
    std::thread background_thread;
    std::thread worker;
    std::thread to_join;  ///< the previous worker, joined by the next one
    std::shared_ptr<logger_fn> logger;
    std::shared_ptr<token_store> store;
    std::string store_key;          ///< store_key(key), set with the first store
    /// SHA-256 of the last token invalidate() dropped: the store's copy of it is not taken
    /// again, and the token itself is not kept.
    std::string dropped_digest;
    /// Every thread's copy of the current token, taken back when it changes.
    std::vector<std::weak_ptr<detail::cache_cell>> cells;
    std::uint64_t store_loads = 0, store_failures = 0;
};

// A copy of tok under a control block of its own, for one thread's cache slot.
inline std::shared_ptr<const token> local_copy(const std::shared_ptr<const token>& tok) {
    return std::shared_ptr<const token>(tok.get(), [keep = tok](const token*) mutable {
        keep.reset();
    });
}

// Starts a new generation and takes back every thread's copy of the older tokens, so that
// no thread's cache keeps a replaced, invalidated or destroyed token alive: it lives only
// as long as the copies that callers hold. Needs the lock.
inline void retire_copies_locked(manager_state& s) {
    s.generation.fetch_add(1, std::memory_order_seq_cst);
    retire(s.cells);
}

// A stored token worth taking, with how long it has left and its whole lifetime.
struct stored_pick {
    token tok;
    manager_state::steady::duration left;
    manager_state::steady::duration lifetime;
};

// The stored entry as a token, unless it is the token being replaced or the one last
// dropped, is not Bearer, or is within the refresh lead of its stored lifetime.
inline std::optional<stored_pick> usable_stored(const manager_state& s,
                                                std::optional<stored_token> entry,
                                                const token* replacing,
                                                const std::string& dropped_digest,
                                                manager_state::time_point started) {
    using duration = manager_state::steady::duration;
    if (!entry || entry->access_token.empty()) return std::nullopt;
    const std::string& value = entry->access_token.reveal();
    if (replacing != nullptr && replacing->access_token.reveal() == value) return std::nullopt;
    if (!dropped_digest.empty() && sha256_hex(value) == dropped_digest) return std::nullopt;
    if (!iequals(entry->token_type, "Bearer")) return std::nullopt;
    const auto stored_lifetime = entry->expires_at - entry->issued_at;
    if (stored_lifetime <= std::chrono::system_clock::duration::zero()) return std::nullopt;
    // A wall clock set back must not lengthen a token's life.
    const auto remaining =
        std::min(entry->expires_at - std::chrono::system_clock::now(), stored_lifetime);
    const auto lifetime = std::chrono::duration_cast<duration>(stored_lifetime);
    const auto left = std::chrono::duration_cast<duration>(remaining);
    if (left <= token_manager::lead_for(lifetime, s.policy)) return std::nullopt;
    stored_pick pick{token{}, left, lifetime};
    pick.tok.access_token = std::move(entry->access_token);
    pick.tok.token_type = std::move(entry->token_type);
    pick.tok.scope = std::move(entry->scope);
    pick.tok.extra = std::move(entry->extra);
    pick.tok.expires_in = std::chrono::duration_cast<std::chrono::seconds>(left);
    pick.tok.obtained_at = started;
    return pick;
}

inline error store_failure(const char* what) {
    return error(error_kind::config, std::string("the token store failed: ") + what);
}

// Marks the thread as running this manager's logger, for as long as it does. Its calls
// back into the manager must not wait for a request: the request that would answer them
// waits for this thread (a worker joins the one before it; the background thread is this
// thread).
class logging_scope {
public:
    explicit logging_scope(const manager_state& s) noexcept : previous_(current()) {
        current() = &s;
    }
    logging_scope(const logging_scope&) = delete;
    logging_scope& operator=(const logging_scope&) = delete;
    ~logging_scope() { current() = previous_; }

    static bool inside(const manager_state& s) noexcept { return current() == &s; }

private:
    static const manager_state*& current() noexcept {
        thread_local const manager_state* logging = nullptr;
        return logging;
    }
    const manager_state* previous_;
};

// Makes one token request, unless the store has a usable token, and publishes the
// outcome; fetch_running is set on entry.
inline void run_fetch(manager_state& s) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const auto started = s.now();
    const auto real_start = std::chrono::steady_clock::now();
    const auto wall_start = std::chrono::system_clock::now();
    std::shared_ptr<token_store> store;
    std::shared_ptr<const manager_state::snapshot> replacing;
    std::string dropped_digest;
    std::string store_key;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        store = s.store;
        replacing = s.current;
        dropped_digest = s.dropped_digest;
        store_key = s.store_key;
    }
    const token* replacing_token = replacing ? replacing->tok.get() : nullptr;
    std::optional<stored_pick> picked;
    std::unique_ptr<token_store_lock> held;
    std::optional<error> failure;
    bool requested = false;
    if (store) {
        try {
            picked = usable_stored(s, store->load(store_key), replacing_token, dropped_digest, started);
            if (!picked) {
                // Another process may be requesting; its token arrives with the lock.
                held = store->lock(store_key);
                picked = usable_stored(s, store->load(store_key), replacing_token, dropped_digest, started);
            }
        } catch (const error& e) {
            failure = e;
        } catch (const std::exception& e) {
            failure = store_failure(e.what());
        } catch (...) {
            failure = store_failure("a non-exception was thrown");
        }
    }
    std::optional<token> got;
    if (!picked && !failure) {
        requested = true;
        try {
            got = s.client.fetch();
        } catch (const error& e) {
            failure = e;
        } catch (const std::exception&) {
            failure = error(error_kind::transport,
                            "the transport threw an exception that is not an oauth2cc::error");
        } catch (...) {
            failure = error(error_kind::transport, "the transport threw a non-exception");
        }
    }
    std::chrono::seconds lifetime{0};
    std::string save_problem;
    if (got) {
        lifetime = got->expires_in ? *got->expires_in : s.policy.lifetime_if_unknown;
        // A token that claims no lifetime at all is served once, then refreshed.
        lifetime = std::max(lifetime, std::chrono::seconds(1));
        if (store) {
            try {
                stored_token entry;
                entry.access_token = got->access_token;
                entry.token_type = got->token_type;
                entry.scope = got->scope;
                entry.extra = got->extra;
                entry.issued_at = wall_start;
                entry.expires_at = wall_start + lifetime;
                store->save(store_key, entry);
            } catch (const std::exception& e) {
                save_problem = e.what();
            } catch (...) {
                save_problem = "a non-exception was thrown";
            }
        }
    }
    held.reset();
    const auto took =
        duration_cast<milliseconds>(std::chrono::steady_clock::now() - real_start).count();

    log_level level = log_level::info;
    std::string line;
    std::shared_ptr<manager_state::logger_fn> log;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (requested) ++s.fetches;
        if (requested && s.consecutive_failures > 0) ++s.retries;
        if (got || picked) {
            auto snap = std::make_shared<manager_state::snapshot>();
            if (got) {
                got->obtained_at = started;
                snap->expires_at = started + lifetime;
                snap->refresh_at = snap->expires_at - token_manager::lead_for(lifetime, s.policy);
                snap->tok = std::make_shared<const token>(std::move(*got));
                ++s.successes;
            } else {
                snap->expires_at = started + picked->left;
                snap->refresh_at =
                    snap->expires_at - token_manager::lead_for(picked->lifetime, s.policy);
                snap->tok = std::make_shared<const token>(std::move(picked->tok));
                ++s.store_loads;
            }
            s.current = std::move(snap);
            retire_copies_locked(s);
            s.consecutive_failures = 0;
            s.backing_off = false;
            s.last_fetch_ok = true;
            const auto refresh_in =
                duration_cast<std::chrono::seconds>(s.current->refresh_at - started).count();
            if (requested) {
                line = "token for client \"" + s.who + "\" from " + s.where + " in " +
                       std::to_string(took) + " ms; lifetime " +
                       std::to_string(lifetime.count()) + " s" +
                       (s.current->tok->expires_in ? "" : " (no expires_in: assumed)") +
                       ", refresh " + std::to_string(refresh_in) + " s from now";
            } else {
                line = "token for client \"" + s.who + "\" from the token store in " +
                       std::to_string(took) + " ms; " +
                       std::to_string(s.current->tok->expires_in->count()) +
                       " s left, refresh " + std::to_string(refresh_in) + " s from now";
            }
            if (!save_problem.empty()) {
                ++s.store_failures;
                level = log_level::warning;
                line += "; not stored: " + save_problem;
            }
        } else {
            ++s.failures;
            ++s.consecutive_failures;
            if (!requested) ++s.store_failures;
            const auto delay = retry_delay(*failure, static_cast<unsigned>(std::min<std::uint64_t>(
                                                         s.consecutive_failures, 64)),
                                           s.policy.retry_initial, s.policy.retry_max, s.rng);
            s.backing_off = true;
            s.next_attempt = s.now() + delay;
            s.last_fetch_ok = false;
            level = retry_cannot_cure(*failure) ? log_level::error : log_level::warning;
            line = std::string(requested ? "token request" : "token store") + " for client \"" +
                   s.who + "\" " + (requested ? "to " + s.where + " " : std::string()) +
                   "failed after " + std::to_string(took) + " ms";
            if (failure->http_status() != 0) {
                line += " (HTTP " + std::to_string(failure->http_status()) + ")";
            }
            line += ": " + std::string(failure->what()) + "; next attempt in " +
                    std::to_string(delay.count()) + " ms (failure " +
                    std::to_string(s.consecutive_failures) + " in a row)";
            s.last_error = std::move(failure);
        }
        s.fetch_running = false;
        ++s.fetch_seq;
        log = s.logger;
        s.changed.notify_all();
    }
    if (log && *log) {
        const logging_scope inside(s);
        try {
            (*log)(level, line);
        } catch (...) {
            // A logger that throws must not take the refresh down with it.
        }
    }
}

// Removes the stored token if it is still the one dropped, under the store's lock so
// that a token another process has just saved stays.
inline void drop_stored(manager_state& s, token_store& store, const std::string& key,
                        const secret& dropped) {
    try {
        const auto held = store.lock(key);
        const auto entry = store.load(key);
        if (entry && entry->access_token.reveal() == dropped.reveal()) store.remove(key);
    } catch (...) {
        std::lock_guard<std::mutex> lock(s.mutex);
        ++s.store_failures;
    }
}

// Starts one request unless one is running or asked for. Needs the lock.
inline void start_fetch_locked(manager_state& s) {
    if (s.fetch_running || s.fetch_requested) return;
    if (s.background) {
        s.fetch_requested = true;
        s.changed.notify_all();
        return;
    }
    s.fetch_running = true;
    try {
        std::thread next([&s] {
            std::thread previous;
            {
                std::lock_guard<std::mutex> lock(s.mutex);
                previous = std::move(s.to_join);
            }
            if (previous.joinable()) previous.join();
            run_fetch(s);
        });
        // The worker before this one has published its outcome; the new one joins it.
        if (s.worker.joinable()) s.to_join = std::move(s.worker);
        s.worker = std::move(next);
    } catch (const std::system_error&) {
        s.fetch_running = false;
        throw error(error_kind::transport, "could not start a thread for the token request");
    }
}

inline void background_loop(manager_state& s) {
    std::unique_lock<std::mutex> lock(s.mutex);
    while (!s.stopping) {
        const auto now = s.now();
        const bool allowed = !s.backing_off || now >= s.next_attempt;
        const bool valid = s.current && now < s.current->expires_at;
        const bool due = s.fetch_requested || !valid || now >= s.current->refresh_at;
        if (!s.fetch_running && allowed && due) {
            s.fetch_requested = false;
            s.fetch_running = true;
            lock.unlock();
            run_fetch(s);
            lock.lock();
            continue;
        }
        std::optional<manager_state::time_point> wake;
        if (!s.fetch_running) {
            if (!allowed) {
                wake = s.next_attempt;
            } else if (valid) {
                wake = s.current->refresh_at;
            }
        }
        s.wait(lock, wake);
    }
}

// Counts a token dropped by invalidate(). One rejection gets one clean new token at once
// (a rotated signing key, a revoked token); a second token rejected soon after its issue
// means the API rejects every token, and the next request waits out a backoff like any
// failed one, so that callers retrying on 401 cannot turn into a token storm.
inline void note_rejection_locked(manager_state& s, const token& dropped) {
    const auto now = s.now();
    const bool young = now - dropped.obtained_at < s.policy.retry_max;
    s.rejections = young ? s.rejections + 1 : 1;
    if (s.rejections < 2) return;
    error_details details;
    details.oauth_error = "invalid_token";
    error rejected(error_kind::oauth,
                   "the last " + std::to_string(s.rejections) +
                       " tokens were each rejected soon after their issue (invalidate()); "
                       "the next token request waits for its backoff",
                   std::move(details));
    const auto delay =
        retry_delay(rejected, static_cast<unsigned>(std::min<std::uint64_t>(s.rejections - 1, 64)),
                    s.policy.retry_initial, s.policy.retry_max, s.rng);
    s.backing_off = true;
    s.next_attempt = now + delay;
    s.last_error = std::move(rejected);
}

// Points this thread's cell at the current token and returns the cell's copy. Needs the
// lock and a current token.
inline std::shared_ptr<const token> serve_locked(manager_state& s, cache_cell& cell) {
    const auto generation = s.generation.load(std::memory_order_relaxed);
    if (cell.generation != generation || !cell.local) {
        cell.local = local_copy(s.current->tok);
        cell.refresh_at = s.current->refresh_at;
        cell.generation = generation;
    }
    return cell.local;
}

// This thread's cell for the manager; a new one is enrolled so that the manager can take
// its copy back.
inline cache_cell& this_thread_cell(manager_state& s,
                                    const std::shared_ptr<manager_state>& alive) {
    return thread_cell(s.id, alive, [&s](std::weak_ptr<cache_cell> cell) {
        std::lock_guard<std::mutex> lock(s.mutex);
        s.cells.push_back(std::move(cell));
    });
}

}  // namespace detail

OAUTH2CC_INLINE token_manager::token_manager(client_config cfg, refresh_policy policy,
                                             std::shared_ptr<transport> via,
                                             std::shared_ptr<clock_source> clock)
    : state_(std::make_shared<detail::manager_state>(std::move(cfg), policy, std::move(via), std::move(clock))) {
    detail::manager_state* s = state_.get();
    state_->clock_subscription = state_->clock->subscribe([s] {
        { std::lock_guard<std::mutex> lock(s->mutex); }
        s->changed.notify_all();
    });
}

OAUTH2CC_INLINE token_manager::~token_manager() {
    stop();
    state_->clock->unsubscribe(state_->clock_subscription);
    std::thread worker, previous;
    {
        std::unique_lock<std::mutex> lock(state_->mutex);
        state_->changed.wait(lock, [this] { return !state_->fetch_running; });
        // Threads' slots outlive the manager; the token must not live on in them.
        state_->current.reset();
        detail::retire_copies_locked(*state_);
        worker = std::move(state_->worker);
        previous = std::move(state_->to_join);
    }
    if (worker.joinable()) worker.join();
    if (previous.joinable()) previous.join();
}

OAUTH2CC_INLINE std::chrono::steady_clock::duration token_manager::lead_for(
    std::chrono::steady_clock::duration lifetime, const refresh_policy& policy) {
    using duration = std::chrono::steady_clock::duration;
    const duration early = std::chrono::duration_cast<duration>(policy.early);
    const duration fraction = std::chrono::duration_cast<duration>(
        std::chrono::duration<double, duration::period>(static_cast<double>(lifetime.count()) *
                                                        policy.early_fraction));
    return std::min(std::max(early, fraction), lifetime / 2);
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get() {
    detail::manager_state& s = *state_;
    detail::cache_cell& cell = detail::this_thread_cell(s, state_);
    const auto now = s.now();
    cell.enter_read();
    if (cell.generation == s.generation.load(std::memory_order_seq_cst) && cell.local &&
        now < cell.refresh_at) {
        std::shared_ptr<const token> copy = cell.local;
        cell.leave_read();
        s.cache_hits.add();
        return copy;
    }
    cell.leave_read();
    return get(std::chrono::milliseconds::max());
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(
    std::chrono::milliseconds max_wait) {
    detail::manager_state& s = *state_;
    detail::cache_cell& slot = detail::this_thread_cell(s, state_);
    std::unique_lock<std::mutex> lock(s.mutex);
    auto now = s.now();
    // A wait longer than any token could take is no limit at all; so it cannot overflow.
    std::optional<detail::manager_state::time_point> deadline;
    if (max_wait < detail::max_token_lifetime) {
        deadline = max_wait.count() <= 0 ? now : now + max_wait;
    }
    bool waited = false;
    for (;;) {
        if (detail::logging_scope::inside(s)) {
            // From this manager's logger: a valid token, or the last error, at once.
            if (s.current && now < s.current->expires_at) return detail::serve_locked(s, slot);
            if (s.last_error) throw *s.last_error;
            throw error(error_kind::transport,
                        "get() from this token_manager's logger never waits for a token "
                        "request, and there is no valid token now");
        }
        if (s.current && now < s.current->expires_at) {
            if (now >= s.current->refresh_at && (!s.backing_off || now >= s.next_attempt)) {
                try {
                    detail::start_fetch_locked(s);
                } catch (const error&) {
                    // The token is still valid; the next caller tries again.
                }
            }
            if (!waited) s.cache_hits.add();
            return detail::serve_locked(s, slot);
        }
        if (!s.fetch_running && !s.fetch_requested) {
            if (s.backing_off && now < s.next_attempt && s.last_error) {
                ++s.fast_failures;
                throw *s.last_error;
            }
            detail::start_fetch_locked(s);
        }
        if (!waited) {
            ++s.waits;
            waited = true;
        }
        const std::uint64_t seq = s.fetch_seq;
        while (s.fetch_seq == seq && (!deadline || s.now() < *deadline)) s.wait(lock, deadline);
        if (s.fetch_seq == seq) {
            throw error(error_kind::transport,
                        "no token within max_wait (" + std::to_string(max_wait.count()) +
                            " ms); the token request is still in progress");
        }
        if (!s.last_fetch_ok && s.last_error) throw *s.last_error;
        if (s.last_fetch_ok && s.current) return detail::serve_locked(s, slot);
        now = s.now();
    }
}

OAUTH2CC_INLINE std::string token_manager::authorization_header() {
    return "Bearer " + get()->access_token.reveal();
}

OAUTH2CC_INLINE void token_manager::invalidate(const token* seen) {
    detail::manager_state& s = *state_;
    std::shared_ptr<token_store> store;
    std::shared_ptr<const token> dropped;
    std::string key;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (!s.current || (seen != nullptr && s.current->tok.get() != seen)) return;
        dropped = s.current->tok;
        s.current.reset();
        detail::retire_copies_locked(s);
        s.dropped_digest = detail::sha256_hex(dropped->access_token.reveal());
        detail::note_rejection_locked(s, *dropped);
        store = s.store;
        key = s.store_key;
        s.changed.notify_all();
    }
    // The store's files are read and written outside the lock that readers need.
    if (store) detail::drop_stored(s, *store, key, dropped->access_token);
}

OAUTH2CC_INLINE void token_manager::start_background_refresh() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    detail::manager_state& s = *state_;
    if (s.background) return;
    s.stopping = false;
    s.background = true;
    try {
        s.background_thread = std::thread([&s] { detail::background_loop(s); });
    } catch (const std::system_error&) {
        s.background = false;
        throw error(error_kind::transport, "could not start the background refresh thread");
    }
}

OAUTH2CC_INLINE void token_manager::stop() {
    detail::manager_state& s = *state_;
    std::thread background;
    if (detail::logging_scope::inside(s)) {
        // The logger may run on the background thread, which stop() would wait for.
        throw error(error_kind::config, "stop() cannot be called from this manager's logger");
    }
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (!s.background) return;
        s.stopping = true;
        background = std::move(s.background_thread);
        s.changed.notify_all();
    }
    if (background.joinable()) background.join();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.background = false;
    s.stopping = false;
    if (s.fetch_requested) {
        // Callers asked the background thread for a token it will not fetch now.
        s.fetch_requested = false;
        try {
            detail::start_fetch_locked(s);
        } catch (const error&) {
            s.last_error = error(error_kind::transport, "could not start a token request");
            s.last_fetch_ok = false;
            ++s.fetch_seq;
            s.changed.notify_all();
        }
    }
}

OAUTH2CC_INLINE manager_stats token_manager::stats() const {
    const detail::manager_state& s = *state_;
    manager_stats out;
    out.cache_hits = s.cache_hits.sum();
    std::lock_guard<std::mutex> lock(s.mutex);
    out.fetches = s.fetches;
    out.successes = s.successes;
    out.failures = s.failures;
    out.retries = s.retries;
    out.waits = s.waits;
    out.fast_failures = s.fast_failures;
    out.store_loads = s.store_loads;
    out.store_failures = s.store_failures;
    out.last_error = s.last_error;
    out.consecutive_failures = s.consecutive_failures;
    out.in_flight = s.fetch_running || s.fetch_requested;
    if (s.backing_off) out.next_attempt = s.next_attempt;
    return out;
}

OAUTH2CC_INLINE void token_manager::set_logger(
    std::function<void(log_level, std::string_view)> logger) {
    auto shared = std::make_shared<detail::manager_state::logger_fn>(std::move(logger));
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->logger = std::move(shared);
}

OAUTH2CC_INLINE const std::string& token_manager::cache_key() const noexcept {
    return state_->key;
}

OAUTH2CC_INLINE void token_manager::set_store(std::shared_ptr<token_store> store) {
    const std::string key = store ? oauth2cc::store_key(state_->key) : std::string();
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->store = std::move(store);
    if (state_->store_key.empty()) state_->store_key = key;
}

}  // namespace oauth2cc
