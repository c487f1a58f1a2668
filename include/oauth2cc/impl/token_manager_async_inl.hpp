// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_manager_async_inl.hpp: the bodies of token_manager for event loops and for
// metrics: try_get(), get_async() and set_observer().
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_manager.hpp"

#include "../detail/manager/manager_events.hpp"
#include "../detail/manager/manager_fetch.hpp"
#include "../detail/manager/manager_state.hpp"
#include "../detail/manager/thread_cache.hpp"

#include <memory>
#include <optional>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::try_get() noexcept {
    detail::manager_state& s = *state_;
    try {
        detail::cache_cell& cell = detail::this_thread_cell(s, state_);
        if (auto copy = detail::cached_copy(s, cell)) return copy;
        const detail::state_lock lock = s.lock();
        detail::guarded_state& g = s.locked(lock);
        const auto now = s.now();
        if (g.valid_at(now)) {
            if (!detail::logging_scope::inside(s)) detail::refresh_if_due(s, lock, now);
            cell.count_hit();
            return detail::serve(s, lock, cell);
        }
        if (!detail::logging_scope::inside(s) && g.fetch == detail::fetch_state::idle &&
            !g.backing_off_at(now)) {
            detail::start_fetch(s, lock);
        }
    } catch (...) {
        // No thread for the request, or no memory: no token now; the next call tries again.
    }
    return nullptr;
}

OAUTH2CC_INLINE void token_manager::get_async(std::function<void(token_result)> done) {
    detail::manager_state& s = *state_;
    token_result now_result;
    {
        const detail::state_lock lock = s.lock();
        detail::guarded_state& g = s.locked(lock);
        const auto now = s.now();
        const bool inside = detail::logging_scope::inside(s);
        if (g.valid_at(now)) {
            if (!inside) detail::refresh_if_due(s, lock, now);
            now_result.tok = g.current->tok;
        } else if (inside) {
            now_result.failure =
                g.last_error ? *g.last_error
                             : error(error_kind::transport,
                                     "get_async() from this token_manager's logger or callback "
                                     "never waits for a token request, and there is no valid "
                                     "token now");
        } else if (g.fetch == detail::fetch_state::idle && g.backing_off_at(now) && g.last_error) {
            ++g.fast_failures;
            now_result.failure = *g.last_error;
        } else {
            try {
                detail::start_fetch(s, lock);
                g.callbacks.push_back(std::move(done));
                return;
            } catch (const error& e) {
                now_result.failure = e;
            }
        }
    }
    detail::hand_over(done, now_result);
}

OAUTH2CC_INLINE void token_manager::set_observer(std::shared_ptr<metrics_observer> observer) {
    std::shared_ptr<metrics_observer> previous;
    {
        const detail::state_lock lock = state_->lock();
        detail::guarded_state& g = state_->locked(lock);
        if (g.observer == observer) return;
        previous = std::exchange(g.observer, observer);
    }
    detail::tell(previous, [&](metrics_observer& o) { o.on_detach(*this); });
    detail::tell(observer, [&](metrics_observer& o) { o.on_attach(*this, state_->who); });
}

}  // namespace oauth2cc
