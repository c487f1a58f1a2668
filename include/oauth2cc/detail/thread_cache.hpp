// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/thread_cache.hpp: per-thread copies of the current token and striped counters,
// so that a cached read shares no written cache line with other threads.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace oauth2cc::detail {

/// @brief One thread's view of one token_manager's current token.
struct cache_slot {
    std::uint64_t owner = 0;       ///< The manager's process-unique id.
    std::weak_ptr<const void> alive;  ///< Expires with the manager.
    std::uint64_t generation = 0;  ///< The manager's generation this copy was taken at.
    /// The token, under a control block of this thread's own, so that copying it
    /// touches no reference count that other threads write.
    std::shared_ptr<const token> local;
    std::chrono::steady_clock::time_point refresh_at;  ///< Served from here until then.
};

/// @brief This thread's slots, one per manager it has read from.
inline std::vector<cache_slot>& thread_cache_slots() {
    thread_local std::vector<cache_slot> slots;
    return slots;
}

/// @brief A process-unique id for a new manager; ids are never reused.
inline std::uint64_t next_manager_id() noexcept {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

/// @brief The slot of this thread for a manager, made on first use. Slots of managers
/// that are gone are dropped when a new one is made.
template <class Owner>
cache_slot& thread_slot(std::uint64_t owner, const std::shared_ptr<Owner>& alive) {
    auto& slots = thread_cache_slots();
    for (auto& s : slots) {
        if (s.owner == owner) return s;
    }
    for (std::size_t i = 0; i < slots.size();) {
        if (slots[i].alive.expired()) {
            slots[i] = std::move(slots.back());
            slots.pop_back();
        } else {
            ++i;
        }
    }
    cache_slot fresh;
    fresh.owner = owner;
    fresh.alive = std::weak_ptr<const void>(std::shared_ptr<const void>(alive));
    slots.push_back(std::move(fresh));
    return slots.back();
}

/// @brief A counter that many threads add to without sharing a cache line: each thread
/// adds to one of several padded stripes, and a read sums them.
class striped_counter {
public:
    void add() noexcept {
        stripes_[stripe_index()].value.fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t sum() const noexcept {
        std::uint64_t total = 0;
        for (const auto& s : stripes_) total += s.value.load(std::memory_order_relaxed);
        return total;
    }

private:
    static constexpr std::size_t stripe_count = 32;
    struct alignas(64) stripe {
        std::atomic<std::uint64_t> value{0};
    };
    static std::size_t stripe_index() noexcept {
        static std::atomic<std::size_t> next{0};
        thread_local const std::size_t index =
            next.fetch_add(1, std::memory_order_relaxed) % stripe_count;
        return index;
    }
    stripe stripes_[stripe_count];
};

}  // namespace oauth2cc::detail
