// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_manager_inl.hpp: the bodies of token_manager: the cached read, waiting for a
// fetch, invalidation, and the background thread's start and stop. A fetch itself is in
// detail/manager/manager_fetch.hpp, the state in detail/manager/manager_state.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_manager.hpp"

#include "../detail/manager/backoff.hpp"
#include "../detail/text/limits.hpp"
#include "../detail/manager/manager_events.hpp"
#include "../detail/manager/manager_fetch.hpp"
#include "../detail/manager/manager_state.hpp"
#include "../detail/manager/rejection_guard.hpp"
#include "../detail/crypto/sha256.hpp"
#include "../detail/manager/store_sync.hpp"
#include "../detail/manager/thread_cache.hpp"
#include "../detail/manager/resource_headers.hpp"
#include "../detail/manager/cached_read.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(log_level level) noexcept {
    switch (level) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warning:
            return "warning";
        case log_level::error:
            return "error";
    }
    return "unknown";
}

OAUTH2CC_INLINE token_manager::token_manager(client_config cfg, refresh_policy policy,
                                             std::shared_ptr<transport> via,
                                             std::shared_ptr<clock_source> clock)
    : state_(std::make_shared<detail::manager_state>(std::move(cfg), policy, std::move(via),
                                                     std::move(clock))) {
    detail::manager_state* s = state_.get();
    state_->clock_subscription = state_->clock->subscribe([s] { s->poke(); });
}

OAUTH2CC_INLINE token_manager::~token_manager() {
    stop();
    detail::manager_state& s = *state_;
    s.clock->unsubscribe(s.clock_subscription);
    std::thread worker, previous;
    {
        detail::state_lock lock = s.lock();
        s.wait_for_condition(lock,
                             [&] { return s.locked(lock).fetch != detail::fetch_state::running; });
        detail::guarded_state& g = s.locked(lock);
        // Threads' cells outlive the manager; the token must not live on in them.
        g.current.reset();
        detail::retire_copies(s, lock);
        worker = std::move(g.worker);
        previous = std::move(g.to_join);
    }
    if (worker.joinable()) worker.join();
    if (previous.joinable()) previous.join();
    set_observer(nullptr);
}

OAUTH2CC_INLINE std::chrono::steady_clock::duration token_manager::lead_for(
    std::chrono::steady_clock::duration lifetime, const refresh_policy& policy) {
    using duration = std::chrono::steady_clock::duration;
    const duration early = std::chrono::duration_cast<duration>(policy.early);
    const duration fraction =
        std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
            static_cast<double>(lifetime.count()) * policy.early_fraction));
    return std::min(std::max(early, fraction), lifetime / 2);
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get() {
    detail::manager_state& s = *state_;
    if (auto copy = detail::cached_copy(s, detail::this_thread_cell(s, state_))) return copy;
    return get(std::chrono::milliseconds::max());
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(
    std::chrono::milliseconds max_wait) {
    detail::manager_state& s = *state_;
    detail::cache_cell& cell = detail::this_thread_cell(s, state_);
    detail::wait_report report;  // reports a wait once the lock is released
    detail::state_lock lock = s.lock();
    detail::guarded_state& g = s.locked(lock);
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
            if (g.valid_at(now)) return detail::serve(s, lock, cell);
            if (g.last_error) throw *g.last_error;
            throw error(error_kind::transport,
                        "get() from this token_manager's logger never waits for a token "
                        "request, and there is no valid token now");
        }
        if (g.valid_at(now)) {
            detail::refresh_if_due(s, lock, now);
            if (!waited) cell.count_hit();
            return detail::serve(s, lock, cell);
        }
        if (g.fetch == detail::fetch_state::idle) {
            if (g.backing_off_at(now) && g.last_error) {
                ++g.fast_failures;
                throw *g.last_error;
            }
            detail::start_fetch(s, lock);
        }
        if (!waited) {
            ++g.waits;
            waited = true;
            if (g.observer) report.begin(g.observer, s.who);
        }
        const std::uint64_t seq = g.fetch_seq;
        while (g.fetch_seq == seq && (!deadline || s.now() < *deadline)) s.wait(lock, deadline);
        if (g.fetch_seq == seq) {
            throw error(error_kind::transport, "no token within max_wait (" +
                                                   std::to_string(max_wait.count()) +
                                                   " ms); the token request is still in progress");
        }
        if (g.last_outcome == detail::fetch_outcome::failure && g.last_error) throw *g.last_error;
        if (g.last_outcome == detail::fetch_outcome::token && g.current) {
            return detail::serve(s, lock, cell);
        }
        now = s.now();
    }
}

OAUTH2CC_INLINE std::string token_manager::authorization_header() {
    const auto tok = get();
    if (tok->token_type == "DPoP") {
        throw error(error_kind::config,
                    "the token is DPoP-bound: every request needs its own proof, so take "
                    "the headers from request_headers(method, url)");
    }
    return "Bearer " + tok->access_token.reveal();
}

OAUTH2CC_INLINE name_value_list token_manager::request_headers(std::string_view method,
                                                               std::string_view url) {
    const auto tok = get();
    return detail::resource_headers(*state_, *tok, method, url);
}

OAUTH2CC_INLINE bool token_manager::set_dpop_nonce(std::string_view url, std::string_view nonce) {
    const std::string origin = detail::dpop_origin(url);
    return !origin.empty() && state_->resource_nonces.put(origin, nonce);
}

OAUTH2CC_INLINE void token_manager::invalidate(const token* seen) {
    detail::manager_state& s = *state_;
    std::shared_ptr<token_store> store;
    std::shared_ptr<const token> dropped;
    std::string key;
    std::string warning;
    std::shared_ptr<detail::guarded_state::logger_fn> logger;
    {
        const detail::state_lock lock = s.lock();
        detail::guarded_state& g = s.locked(lock);
        if (!g.current || (seen != nullptr && g.current->tok.get() != seen)) return;
        if (detail::guard_keeps(s, lock, g.current->tok, warning)) {
            logger = g.logger;
        } else {
            dropped = g.current->tok;
            g.current.reset();
            detail::retire_copies(s, lock);
            g.dropped_digest = detail::sha256_hex(dropped->access_token.reveal());
            store = g.store;
            key = g.store_key;
            s.notify(lock);
        }
    }
    if (!warning.empty() && logger && *logger) {
        const detail::logging_scope inside(s);
        try {
            (*logger)(log_level::warning, warning);
        } catch (...) {
            // A logger that throws changes nothing here.
        }
    }
    // The store's files are read and written outside the lock that readers need.
    if (!store) return;
    const store_result dropped_there = detail::drop_stored(*store, key, dropped->access_token);
    std::shared_ptr<metrics_observer> observer;
    {
        const detail::state_lock lock = s.lock();
        detail::guarded_state& g = s.locked(lock);
        if (dropped_there != store_result::ok) ++g.store_failures;
        observer = g.observer;
    }
    detail::tell(observer, [&](metrics_observer& o) {
        o.on_store(store_event{s.who, store_operation::remove, dropped_there});
    });
}

OAUTH2CC_INLINE void token_manager::start_background_refresh() {
    detail::manager_state& s = *state_;
    const detail::state_lock lock = s.lock();
    detail::guarded_state& g = s.locked(lock);
    if (g.mode != detail::refresher::on_demand) return;
    g.mode = detail::refresher::background;
    try {
        g.background_thread = std::thread([&s] { detail::background_loop(s); });
    } catch (const std::system_error&) {
        g.mode = detail::refresher::on_demand;
        throw error(error_kind::transport, "could not start the background refresh thread");
    }
}

OAUTH2CC_INLINE void token_manager::stop() {
    detail::manager_state& s = *state_;
    if (detail::logging_scope::inside(s)) {
        // The logger may run on the background thread, which stop() would wait for.
        throw error(error_kind::config, "stop() cannot be called from this manager's logger");
    }
    std::thread background;
    {
        const detail::state_lock lock = s.lock();
        detail::guarded_state& g = s.locked(lock);
        if (g.mode != detail::refresher::background) return;
        g.mode = detail::refresher::stopping;
        background = std::move(g.background_thread);
        s.notify(lock);
    }
    if (background.joinable()) background.join();
    std::vector<detail::token_callback> stranded;
    token_result failed;
    {
        const detail::state_lock lock = s.lock();
        detail::guarded_state& g = s.locked(lock);
        g.mode = detail::refresher::on_demand;
        if (g.fetch != detail::fetch_state::asked) return;
        // Callers asked the background thread for a token it will not fetch now.
        g.fetch = detail::fetch_state::idle;
        try {
            detail::start_fetch(s, lock);
            return;
        } catch (const error&) {
            g.last_error = error(error_kind::transport, "could not start a token request");
            g.last_outcome = detail::fetch_outcome::failure;
            ++g.fetch_seq;
            s.notify(lock);
            stranded = std::move(g.callbacks);
            g.callbacks.clear();
            failed.failure = g.last_error;
        }
    }
    for (const auto& done : stranded) detail::hand_over(done, failed);
}

OAUTH2CC_INLINE manager_stats token_manager::stats() const {
    const detail::manager_state& s = *state_;
    manager_stats out;
    const detail::state_lock lock = s.lock();
    const detail::guarded_state& g = s.locked(lock);
    out.cache_hits = g.cells.hits();
    out.fetches = g.fetches;
    out.successes = g.successes;
    out.failures = g.failures;
    out.retries = g.retries;
    out.waits = g.waits;
    out.fast_failures = g.fast_failures;
    out.store_loads = g.store_loads;
    out.store_failures = g.store_failures;
    out.last_error = g.last_error;
    out.consecutive_failures = g.consecutive_failures;
    out.in_flight = g.fetch != detail::fetch_state::idle;
    out.next_attempt = g.next_attempt;
    return out;
}

OAUTH2CC_INLINE void token_manager::set_logger(
    std::function<void(log_level, std::string_view)> logger) {
    auto shared = std::make_shared<detail::guarded_state::logger_fn>(std::move(logger));
    const detail::state_lock lock = state_->lock();
    state_->locked(lock).logger = std::move(shared);
}

OAUTH2CC_INLINE const std::string& token_manager::cache_key() const noexcept { return state_->key; }

OAUTH2CC_INLINE void token_manager::set_store(std::shared_ptr<token_store> store) {
    const std::string key = store ? oauth2cc::store_key(state_->key) : std::string();
    const detail::state_lock lock = state_->lock();
    detail::guarded_state& g = state_->locked(lock);
    g.store = std::move(store);
    if (g.store_key.empty()) g.store_key = key;
}

}  // namespace oauth2cc
