// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_manager_inl.hpp: the bodies of token_manager: each picks the entry of the
// token_params it is given (the config's own without one) and asks it (see
// detail/manager/cached_read.hpp); a fetch itself is in detail/manager/manager_fetch.hpp,
// the entries in detail/manager/manager_core.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_manager.hpp"

#include "../detail/manager/cached_read.hpp"
#include "../detail/manager/manager_core.hpp"
#include "../detail/manager/manager_fetch.hpp"
#include "../detail/manager/manager_state.hpp"
#include "../detail/manager/refresher.hpp"
#include "../detail/manager/rejection_guard.hpp"
#include "../detail/manager/resource_headers.hpp"
#include "../detail/manager/thread_cache.hpp"
#include "../detail/oauth/revocation.hpp"
#include "../detail/store/secret_file.hpp"

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
    : core_(std::make_shared<detail::manager_core>(std::move(cfg), policy, std::move(via),
                                                   std::move(clock))) {
    detail::manager_core* c = core_.get();
    core_->clock_subscription = core_->clock->subscribe([c] { c->poke_all(); });
}

OAUTH2CC_INLINE token_manager::~token_manager() {
    stop();
    detail::manager_core& c = *core_;
    c.clock->unsubscribe(c.clock_subscription);
    {
        std::unique_lock<std::mutex> lock(c.running->mutex);
        c.running->done.wait(lock, [&] { return c.running->running == 0; });
    }
    {
        // Threads' cells outlive the manager; the token must not live on in them, nor
        // the subject a thread saw last.
        detail::manager_state& s = *c.own;
        const detail::state_lock lock = s.lock();
        s.locked(lock).current.reset();
        detail::retire_copies(s, lock);
        for (const auto& cell : s.locked(lock).cells.cells) cell->subject.reset();
    }
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
    if (core_->follows) return get(core_->base_params, std::chrono::milliseconds::max());
    detail::manager_state& s = *core_->own;
    detail::cache_cell& cell = detail::this_thread_cell(s, core_->own);
    if (auto copy = detail::cached_copy(s, cell)) return copy;
    return detail::wait_for_token(s, &cell, std::chrono::milliseconds::max());
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(
    std::chrono::milliseconds max_wait) {
    if (core_->follows) return get(core_->base_params, max_wait);
    detail::manager_state& s = *core_->own;
    return detail::wait_for_token(s, &detail::this_thread_cell(s, core_->own), max_wait);
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(const token_params& params) {
    return get(params, std::chrono::milliseconds::max());
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(
    const token_params& params, std::chrono::milliseconds max_wait) {
    detail::manager_state& own = *core_->own;
    detail::cache_cell& mine = detail::this_thread_cell(own, core_->own);
    // A config that follows its subject reads the entry of the subject its sources give.
    const detail::current_subject* subject =
        core_->follows ? &detail::subject_now(core_->base, mine) : nullptr;
    const std::string_view subject_key = subject != nullptr ? subject->key : std::string_view();
    const std::size_t hash = detail::entry_hash(params, subject != nullptr ? subject->key_hash : 0);
    if (mine.keyed) {
        // A slot found has its cell.
        if (detail::keyed_cells::slot* slot = mine.keyed->find(hash, params, subject_key)) {
            if (auto copy = detail::keyed_copy(own, *slot)) return copy;
        }
    }
    const auto entry = core_->entry(params, subject);
    if (entry == core_->own) return get(max_wait);
    if (!mine.keyed) mine.keyed = std::make_unique<detail::keyed_cells>();
    detail::cache_cell& cell =
        detail::keyed_cell(mine.keyed->find_or_add(hash, params, subject_key), entry);
    return detail::wait_for_token(*entry, &cell, max_wait);
}

OAUTH2CC_INLINE std::string token_manager::authorization_header() {
    const auto tok = get();
    detail::check_attachable(*tok);
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
    return detail::resource_headers(*core_, *tok, method, url);
}

OAUTH2CC_INLINE name_value_list token_manager::request_headers(const token_params& params,
                                                               std::string_view method,
                                                               std::string_view url) {
    const auto tok = get(params);
    return detail::resource_headers(*core_, *tok, method, url);
}

OAUTH2CC_INLINE name_value_list token_manager::headers_for(const token& tok,
                                                           std::string_view method,
                                                           std::string_view url) {
    return detail::resource_headers(*core_, tok, method, url);
}

OAUTH2CC_INLINE bool token_manager::set_dpop_nonce(std::string_view url, std::string_view nonce) {
    const std::string origin = detail::dpop_origin(url);
    return !origin.empty() && core_->resource_nonces.put(origin, nonce);
}

OAUTH2CC_INLINE void token_manager::invalidate(const token* seen) {
    if (core_->follows) return invalidate(core_->base_params, seen);
    detail::drop_token(*core_->own, seen);
}

OAUTH2CC_INLINE void token_manager::invalidate(const token_params& params, const token* seen) {
    if (const auto entry = core_->find(params, seen_subject(false))) {
        detail::drop_token(*entry, seen);
    }
}

OAUTH2CC_INLINE void token_manager::revoke() {
    transport& via = *core_->own->client.via();
    const std::string endpoint =
        detail::revocation_endpoint_of(detail::with_current_credentials(core_->base), via);
    std::optional<error> first;
    for (const auto& entry : core_->all()) {
        std::shared_ptr<const token> tok;
        {
            const detail::state_lock lock = entry->lock();
            const detail::guarded_state& g = entry->locked(lock);
            if (g.current) tok = g.current->tok;
        }
        if (!tok) continue;
        // An exchanged token of another type than an access token goes without a hint.
        const bool access =
            tok->issued_token_type.empty() || tok->issued_token_type == token_types::access_token;
        try {
            detail::revoke_at(detail::with_current_credentials(entry->client.config()), endpoint,
                              tok->access_token, access ? "access_token" : "", via);
        } catch (const error& e) {
            if (!first) first = e;
        }
        detail::drop_token(*entry, tok.get(), false);
    }
    if (first) throw *first;
}

OAUTH2CC_INLINE std::string_view token_manager::seen_subject(bool seen_only) {
    if (!core_->follows) return {};
    detail::cache_cell& mine = detail::this_thread_cell(*core_->own, core_->own);
    // The subject of the token this thread was served last, which it now reports on.
    if (mine.subject) return mine.subject->key;
    if (seen_only) return {};
    return detail::subject_now(core_->base, mine).key;
}

OAUTH2CC_INLINE void token_manager::note_accepted(const token& tok) noexcept {
    if (core_->follows) return note_accepted(core_->base_params, tok);
    detail::note_accepted(*core_->own, &tok);
}

OAUTH2CC_INLINE void token_manager::note_accepted(const token_params& params,
                                                  const token& tok) noexcept {
    try {
        if (const auto entry = core_->find(params, seen_subject(true))) {
            detail::note_accepted(*entry, &tok);
        }
    } catch (...) {
        // Out of memory: the guard goes without this report.
    }
}

OAUTH2CC_INLINE std::function<std::string()> subject_token_of(token_manager& m) {
    return [&m] { return m.get()->access_token.reveal(); };
}

OAUTH2CC_INLINE std::function<std::string()> subject_token_of(token_manager& m,
                                                              token_params params) {
    return [&m, params = std::move(params)] { return m.get(params)->access_token.reveal(); };
}

OAUTH2CC_INLINE std::size_t token_manager::entries() const { return core_->size(); }

OAUTH2CC_INLINE const client_config& token_manager::config() const noexcept { return core_->base; }

OAUTH2CC_INLINE std::shared_ptr<metrics_observer> token_manager::observer() const {
    return core_->settings().observer;
}

OAUTH2CC_INLINE void token_manager::start_background_refresh() {
    bool already = false;
    core_->configure([&](detail::entry_settings& settings) {
        already = settings.background;
        settings.background = true;
    });
    if (already) return;
    const std::weak_ptr<detail::manager_core> weak = core_;
    try {
        core_->background_id = detail::refresh_service::instance().enroll(
            [weak]() -> std::optional<std::chrono::steady_clock::time_point> {
                const auto c = weak.lock();
                if (!c) return std::nullopt;
                return c->background_pass();
            });
    } catch (const error&) {
        core_->configure([](detail::entry_settings& settings) { settings.background = false; });
        throw;
    }
}

OAUTH2CC_INLINE void token_manager::stop() {
    detail::manager_core& c = *core_;
    if (detail::logging_scope::inside(*c.own)) {
        // The logger runs on a worker whose request stop() would wait for.
        throw error(error_kind::config, "stop() cannot be called from this manager's logger");
    }
    bool was = false;
    c.configure([&](detail::entry_settings& settings) {
        was = settings.background;
        settings.background = false;
    });
    if (!was) return;
    detail::refresh_service::instance().withdraw(c.background_id.exchange(0));
    std::unique_lock<std::mutex> lock(c.running->mutex);
    c.running->done.wait(lock, [&] { return c.running->running == 0; });
}

OAUTH2CC_INLINE manager_stats token_manager::stats() const { return core_->stats(); }

OAUTH2CC_INLINE void token_manager::set_refresh_workers(std::size_t count) {
    detail::refresh_service::instance().set_workers(count);
}

OAUTH2CC_INLINE void token_manager::set_logger(
    std::function<void(log_level, std::string_view)> logger) {
    auto shared = std::make_shared<detail::guarded_state::logger_fn>(std::move(logger));
    core_->configure([&](detail::entry_settings& settings) { settings.logger = shared; });
}

OAUTH2CC_INLINE const std::string& token_manager::cache_key() const noexcept {
    return core_->own->key;
}

OAUTH2CC_INLINE void token_manager::set_store(std::shared_ptr<token_store> store) {
    core_->configure([&](detail::entry_settings& settings) { settings.store = store; });
}

}  // namespace oauth2cc
