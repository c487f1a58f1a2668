// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/clock_inl.hpp: the bodies of manual_clock.
// SPDX-License-Identifier: MIT
#pragma once

#include "../clock.hpp"

#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE manual_clock::manual_clock(time_point start) : now_(start) {}

OAUTH2CC_INLINE manual_clock::time_point manual_clock::now() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
}

OAUTH2CC_INLINE std::uint64_t manual_clock::subscribe(std::function<void()> on_move) {
    std::lock_guard<std::mutex> calling(calling_);
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint64_t id = ++last_id_;
    subscribers_.emplace(id, std::move(on_move));
    return id;
}

OAUTH2CC_INLINE void manual_clock::unsubscribe(std::uint64_t id) {
    std::lock_guard<std::mutex> calling(calling_);
    std::lock_guard<std::mutex> lock(mutex_);
    subscribers_.erase(id);
}

OAUTH2CC_INLINE void manual_clock::advance(duration by) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        now_ += by;
    }
    moved();
}

OAUTH2CC_INLINE void manual_clock::set(time_point to) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (to > now_) now_ = to;
    }
    moved();
}

OAUTH2CC_INLINE void manual_clock::moved() {
    // Subscribers run without mutex_ held, so they may read now().
    std::lock_guard<std::mutex> calling(calling_);
    for (auto& [id, call] : subscribers_) call();
}

}  // namespace oauth2cc
