// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_manager_async_inl.hpp: the bodies of token_manager for event loops and for
// metrics: try_get(), get_async() and set_observer().
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_manager.hpp"

#include "../detail/manager/cached_read.hpp"
#include "../detail/manager/manager_core.hpp"
#include "../detail/manager/manager_events.hpp"
#include "../detail/manager/manager_state.hpp"
#include "../detail/manager/thread_cache.hpp"

#include <memory>
#include <optional>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::try_get() noexcept {
    if (core_->follows) return try_get(core_->base_params);
    try {
        detail::manager_state& s = *core_->own;
        detail::cache_cell& cell = detail::this_thread_cell(s, core_->own);
        if (auto copy = detail::cached_copy(s, cell)) return copy;
        return detail::try_token(s, &cell);
    } catch (...) {
        // No worker for the request, or no memory: no token now; the next call tries again.
    }
    return nullptr;
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::try_get(
    const token_params& params) noexcept {
    try {
        const auto entry = core_->entry(params, subject_of_caller());
        if (entry == core_->own) return try_get();
        return detail::try_token(*entry, nullptr);
    } catch (...) {
        // As above, or params that cannot be asked for: no token.
    }
    return nullptr;
}

OAUTH2CC_INLINE void token_manager::get_async(std::function<void(token_result)> done) {
    if (core_->follows) return get_async(core_->base_params, std::move(done));
    detail::token_to(*core_->own, std::move(done));
}

OAUTH2CC_INLINE void token_manager::get_async(const token_params& params,
                                              std::function<void(token_result)> done) {
    std::shared_ptr<detail::manager_state> entry;
    try {
        entry = core_->entry(params, subject_of_caller());
    } catch (const error& e) {
        token_result failed;
        failed.failure = e;
        detail::hand_over(done, failed);
        return;
    }
    detail::token_to(*entry, std::move(done));
}

OAUTH2CC_INLINE const detail::current_subject* token_manager::subject_of_caller() {
    if (!core_->follows) return nullptr;
    return &detail::subject_now(core_->base, detail::this_thread_cell(*core_->own, core_->own));
}

OAUTH2CC_INLINE void token_manager::set_observer(std::shared_ptr<metrics_observer> observer) {
    std::shared_ptr<metrics_observer> previous;
    bool same = false;
    core_->configure([&](detail::entry_settings& settings) {
        same = settings.observer == observer;
        previous = std::exchange(settings.observer, observer);
    });
    if (same) return;
    detail::tell(previous, [&](metrics_observer& o) { o.on_detach(*this); });
    detail::tell(observer, [&](metrics_observer& o) { o.on_attach(*this, core_->own->who); });
}

}  // namespace oauth2cc
