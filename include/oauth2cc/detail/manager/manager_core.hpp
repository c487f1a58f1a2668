// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/manager_core.hpp: what a token_manager holds: its entries, one per
// token_params (the config's own among them), bounded by max_entries and idle_after; the
// settings every entry shares; and the DPoP state of its resource requests.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../clock.hpp"
#include "../../metrics.hpp"
#include "../../token_manager.hpp"
#include "../../token_store.hpp"
#include "../../transport.hpp"
#include "../oauth/dpop.hpp"
#include "../oauth/grant.hpp"
#include "../text/wipe.hpp"
#include "backoff.hpp"
#include "manager_fetch.hpp"
#include "manager_state.hpp"
#include "refresher.hpp"
#include "thread_cache.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Converts a time on the entry's clock to steady_clock, for the refresher's wait;
/// none for a manual clock, whose every change pokes the refresher.
inline std::optional<std::chrono::steady_clock::time_point> steady_time(
    const manager_state& s, manager_state::time_point when) {
    if (s.manual) return std::nullopt;
    if (s.system_clock) return when;
    return std::chrono::steady_clock::now() + (when - s.now());
}

/// @brief One look of the refresher at an entry refreshed in the background: starts its
/// fetch when there is no valid token or its refresh point has passed (never before a
/// backoff ends), and says when to look again. An entry that is not the config's own and
/// has not been read for idle_after is not refreshed: `drop` is set instead.
inline std::optional<std::chrono::steady_clock::time_point> background_step(manager_state& s,
                                                                            bool& drop) {
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    if (!g.background || g.fetch != fetch_state::idle) return std::nullopt;
    const auto now = s.now();
    const bool valid = g.valid_at(now);
    const bool due = !valid || now >= g.current->refresh_at;
    const manager_state::time_point read(
        manager_state::steady::duration(s.last_read.load(std::memory_order_relaxed)));
    if (!s.own && now - read >= s.policy.idle_after) {
        if (due) {
            drop = true;
            return std::nullopt;
        }
        return steady_time(s, g.current->refresh_at);
    }
    if (g.backing_off_at(now)) return steady_time(s, *g.next_attempt);
    if (!due) return steady_time(s, g.current->refresh_at);
    try {
        start_fetch(s, lock);
        return std::nullopt;  // its end pokes the refresher
    } catch (const error&) {
        return std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
}

/// @brief The subject this thread sees now, of a config that follows_subject(): asks the
/// sources, and works out the key only when they give other tokens than this thread saw
/// last (kept in cell, the thread's cell of the config's own entry).
/// @throws error `config` when a source fails (call_source()), or a JWT bearer assertion
///         names no issuer and subject
inline const current_subject& subject_now(const client_config& cfg, cache_cell& cell) {
    const bool exchange = cfg.grant == grant_type::token_exchange;
    std::string subject = exchange ? call_source(cfg.subject_token, "subject_token")
                                   : call_source(cfg.grant_assertion, "grant_assertion");
    std::string actor;
    const wipe_at_exit wiper{[&subject, &actor] {
        wipe(subject);
        wipe(actor);
    }};
    if (exchange && cfg.actor_token) actor = call_source(cfg.actor_token, "actor_token");
    current_subject* seen = cell.subject.get();
    if (seen != nullptr && subject == seen->subject.reveal() && actor == seen->actor.reveal()) {
        return *seen;
    }
    auto now = std::make_unique<current_subject>();
    now->key = exchange ? exchange_subject_key(subject, actor) : assertion_subject_key(subject);
    now->key_hash = subject_hash(now->key);
    now->subject = secret(subject);
    now->actor = secret(actor);
    cell.subject = std::move(now);
    return *cell.subject;
}

/// @brief What every entry of a manager shares, set through the manager.
struct entry_settings {
    std::shared_ptr<guarded_state::logger_fn> logger;
    std::shared_ptr<metrics_observer> observer;
    std::shared_ptr<token_store> store;
    bool background = false;
};

/// @brief Gives an entry the manager's settings.
inline void give_settings(manager_state& s, const entry_settings& settings) {
    const std::string key = settings.store ? store_key(s.key) : std::string();
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    g.logger = settings.logger;
    g.observer = settings.observer;
    g.store = settings.store;
    if (g.store_key.empty()) g.store_key = key;
    g.background = settings.background;
}

/// @brief Adds an entry's counters to out (a sum over entries).
inline void add_counters(manager_stats& out, manager_state& s) {
    const state_lock lock = s.lock();
    const guarded_state& g = s.locked(lock);
    out.cache_hits += g.cells.hits() + g.hits;
    out.fetches += g.fetches;
    out.successes += g.successes;
    out.failures += g.failures;
    out.retries += g.retries;
    out.waits += g.waits;
    out.fast_failures += g.fast_failures;
    out.store_loads += g.store_loads;
    out.store_failures += g.store_failures;
    out.in_flight = out.in_flight || g.fetch != fetch_state::idle;
    // The state of the entry that fares worst: the config's own first among equals.
    if (g.consecutive_failures > out.consecutive_failures ||
        (s.own && g.consecutive_failures == out.consecutive_failures && g.last_error)) {
        out.consecutive_failures = g.consecutive_failures;
        out.next_attempt = g.next_attempt;
    }
    if (g.last_error && (s.own || !out.last_error)) out.last_error = g.last_error;
}

/// @brief A token_manager's entries and what they share. Lock order: the core's lock may
/// be held while an entry's is taken, never the other way round.
class manager_core {
public:
    manager_core(client_config cfg, refresh_policy p, std::shared_ptr<transport> via,
                 std::shared_ptr<clock_source> clk)
        : follows(follows_subject(cfg)),
          policy(manager_state::check(p)),
          clock(clk ? std::move(clk) : std::make_shared<steady_clock_source>()),
          running(std::make_shared<fetch_count>()),
          own(std::make_shared<manager_state>(std::make_shared<request_source>(cfg), std::move(via),
                                              nullptr, cfg, policy, clock, true, policy.jitter_seed,
                                              running)),
          base(own->client.config()),
          base_params(params_of(base)),
          dpop(base.dpop_key ? std::optional<dpop_prover>(*base.dpop_key) : std::nullopt) {
        map_.emplace(entry_key{base_params, {}}, own);
    }

    // Set once.
    /// The config follows its subject (follows_subject()): every token is an entry of one
    /// subject, and the config's own entry holds none.
    const bool follows;
    const refresh_policy policy;
    const std::shared_ptr<clock_source> clock;
    const std::shared_ptr<fetch_count> running;
    const std::shared_ptr<manager_state> own;
    /// The config as given: its one copy, held by the request source every entry shares.
    const client_config& base;
    const token_params base_params;  ///< params_of(base)
    /// Makes the proofs of resource requests, when client_config::dpop_key is set.
    const std::optional<dpop_prover> dpop;
    /// The latest DPoP nonce of each resource server's origin, for every entry.
    dpop_nonces resource_nonces;
    std::uint64_t clock_subscription = 0;  ///< set by the constructor of token_manager
    /// The refresher's id of this manager's pass, while refreshing in the background.
    std::atomic<std::uint64_t> background_id{0};

    /// @brief The entry of p (of subj, for a config that follows its subject), made when
    /// there is none (dropping the least recently read beyond max_entries, and those idle
    /// for idle_after); its read is noted.
    /// @throws error `config` when p cannot be asked for (a scope outside RFC 6749 §3.3,
    ///         say)
    std::shared_ptr<manager_state> entry(const token_params& p,
                                         const current_subject* subj = nullptr) {
        const auto now = own->read_time().time_since_epoch().count();
        entry_key key{p, subj != nullptr ? subj->key : std::string()};
        const std::lock_guard<std::mutex> lock(mutex_);
        auto it = map_.find(key);
        if (it != map_.end()) {
            it->second->last_read.store(now, std::memory_order_relaxed);
            return it->second;
        }
        if (!new_entries_.take(policy.new_entries_per_second, own->now())) {
            ++refused_;
            throw error(error_kind::config,
                        "this token_manager was asked for more than " +
                            std::to_string(policy.new_entries_per_second) +
                            " new token parameters in a second (refresh_policy::"
                            "new_entries_per_second), each a token request: reuse the "
                            "parameters of a few audiences and resources, or raise the bound");
        }
        const std::uint64_t seed = policy.jitter_seed != 0 ? policy.jitter_seed + ++made_ : 0;
        auto tailoring = std::make_unique<request_tailoring>();
        tailoring->params = p;
        if (subj != nullptr) tailoring->subject = std::make_shared<const current_subject>(*subj);
        own->client.source()->check(*tailoring);
        auto made = std::make_shared<manager_state>(
            own->client.source(), own->client.via(), std::move(tailoring), with_params(base, p),
            policy, clock, false, seed, running, key.subject);
        // Idle entries are looked for once per sixteenth of idle_after, not on every new
        // entry: a burst of new entries costs no walk over all of them each.
        if (now - last_idle_walk_ >= idle_ticks() / 16) {
            drop_idle(now);
            last_idle_walk_ = now;
        }
        if (map_.size() >= policy.max_entries) drop_least_recent();
        map_.emplace(std::move(key), made);
        give_settings(*made, settings_);
        return made;
    }

    /// @brief The entry of p and subject, or null when there is none.
    std::shared_ptr<manager_state> find(const token_params& p,
                                        std::string_view subject = {}) const {
        const entry_key key{p, std::string(subject)};
        const std::lock_guard<std::mutex> lock(mutex_);
        const auto it = map_.find(key);
        return it == map_.end() ? nullptr : it->second;
    }

    /// @brief Every entry, at this moment.
    std::vector<std::shared_ptr<manager_state>> all() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        std::vector<std::shared_ptr<manager_state>> out;
        out.reserve(map_.size());
        for (const auto& kv : map_) out.push_back(kv.second);
        return out;
    }

    std::size_t size() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return map_.size();
    }
    /// @brief The counters of every entry, those dropped included.
    manager_stats stats() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        manager_stats out = dropped_;
        out.in_flight = false;
        out.consecutive_failures = 0;
        out.last_error.reset();
        out.next_attempt.reset();
        for (const auto& kv : map_) add_counters(out, *kv.second);
        out.entries = map_.size();
        out.evictions = evictions_;
        out.entries_refused = refused_;
        return out;
    }

    /// @brief Changes the settings (change runs under the core's lock) and gives every
    /// entry the new ones; an entry made meanwhile takes them when it is made.
    /// @returns what change returned
    template <class Change>
    auto configure(Change&& change) {
        std::vector<std::shared_ptr<manager_state>> entries;
        entry_settings now;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            change(settings_);
            now = settings_;
            for (const auto& kv : map_) entries.push_back(kv.second);
        }
        for (const auto& e : entries) give_settings(*e, now);
        return now;
    }

    entry_settings settings() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return settings_;
    }

    /// @brief The refresher's pass over every entry refreshed in the background: starts
    /// the due refreshes, drops the entries left idle, and says when to look again.
    std::optional<std::chrono::steady_clock::time_point> background_pass() {
        std::optional<std::chrono::steady_clock::time_point> next;
        std::vector<const manager_state*> dropped;
        for (const auto& e : all()) {
            // The own entry of a config that follows its subject holds no token.
            if (follows && e == own) continue;
            bool drop = false;
            const auto wake = background_step(*e, drop);
            if (drop) dropped.push_back(e.get());
            if (wake && (!next || *wake < *next)) next = wake;
        }
        if (!dropped.empty()) {
            const std::lock_guard<std::mutex> lock(mutex_);
            for (auto it = map_.begin(); it != map_.end();) {
                const bool gone =
                    std::find(dropped.begin(), dropped.end(), it->second.get()) != dropped.end();
                it = gone ? evict(it) : std::next(it);
            }
        }
        return next;
    }

    /// @brief Wakes every waiter of every entry (the clock's subscription).
    void poke_all() {
        for (const auto& e : all()) e->poke();
        refresh_service::instance().poke();
    }

private:
    std::chrono::steady_clock::rep idle_ticks() const {
        return std::chrono::duration_cast<std::chrono::steady_clock::duration>(policy.idle_after)
            .count();
    }

    // Drops the entries (not the config's own) not read for idle_after. Needs the lock.
    void drop_idle(std::chrono::steady_clock::rep now) {
        const auto idle = idle_ticks();
        for (auto it = map_.begin(); it != map_.end();) {
            const bool gone = !it->second->own &&
                              now - it->second->last_read.load(std::memory_order_relaxed) >= idle;
            it = gone ? evict(it) : std::next(it);
        }
    }

    // Drops the least recently read entry that is not the config's own. Needs the lock.
    void drop_least_recent() {
        auto oldest = map_.end();
        for (auto it = map_.begin(); it != map_.end(); ++it) {
            if (it->second->own) continue;
            if (oldest == map_.end() ||
                it->second->last_read.load(std::memory_order_relaxed) <
                    oldest->second->last_read.load(std::memory_order_relaxed)) {
                oldest = it;
            }
        }
        if (oldest != map_.end()) evict(oldest);
    }

    using entry_map = std::unordered_map<entry_key, std::shared_ptr<manager_state>, entry_key_hash>;

    // Drops an entry, keeping its counters. Needs the lock.
    entry_map::iterator evict(entry_map::iterator it) {
        add_counters(dropped_, *it->second);
        ++evictions_;
        return map_.erase(it);
    }

    mutable std::mutex mutex_;
    entry_map map_;
    manager_stats dropped_;  ///< the counters of the entries dropped
    entry_settings settings_;
    std::uint64_t evictions_ = 0;
    std::uint64_t made_ = 0;
    std::uint64_t refused_ = 0;  ///< new entries refused beyond new_entries_per_second
    std::chrono::steady_clock::rep last_idle_walk_ = 0;
    rate_bucket new_entries_;
};

}  // namespace oauth2cc::detail
