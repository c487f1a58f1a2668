// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/thread_cache.hpp: per-thread copies of the current token and striped counters,
// so that a cached read shares no written cache line with other threads; and the hand-off
// by which a manager takes those copies back when its token changes or it goes away.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/membarrier.h>) && __has_include(<sys/syscall.h>)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#define OAUTH2CC_HAS_MEMBARRIER 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define OAUTH2CC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define OAUTH2CC_TSAN 1
#endif
#endif

namespace oauth2cc::detail {

/// @brief Whether the process can make every one of its running threads pass a full
/// memory barrier on demand (Linux `membarrier`). If so, a cached read orders its own
/// accesses with a compiler barrier only, and the rare writer pays for both sides.
inline bool asymmetric_fences() noexcept {
#if defined(OAUTH2CC_HAS_MEMBARRIER) && defined(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
    static const bool available = [] {
        const long supported = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
        return supported >= 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
               syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0;
    }();
    return available;
#else
    return false;
#endif
}

/// @brief One thread's copy of one manager's current token. Shared by the thread's slot
/// list and the manager's list of cells; on a cache line of its own.
///
/// The owning thread reads `generation`, `local` and `refresh_at` without the manager's
/// lock, between `enter_read()` and `leave_read()`. They are written only under the
/// manager's lock: by the owning thread when it takes a new copy, and by the manager when
/// it takes a stale copy back (`retire()`), which waits for no reader of this cell.
struct alignas(64) cache_cell {
    std::atomic<unsigned> reading{0};  ///< Written by the owning thread only.
    std::uint64_t generation = 0;      ///< The manager's generation of this copy.
    /// The token, under a control block of this thread's own, so that copying it
    /// touches no reference count that other threads write.
    std::shared_ptr<const token> local;
    std::chrono::steady_clock::time_point refresh_at;  ///< Served from here until then.

    /// Marks the start of a read of this cell. The reader then loads the manager's
    /// generation seq_cst: either retire() sees the mark, or the reader sees the
    /// generation that retire() is taking copies back for.
    void enter_read() noexcept {
#if defined(OAUTH2CC_TSAN)
        reading.exchange(1, std::memory_order_seq_cst);
#else
        reading.store(1, std::memory_order_relaxed);
        if (asymmetric_fences()) {
            std::atomic_signal_fence(std::memory_order_seq_cst);
        } else {
            std::atomic_thread_fence(std::memory_order_seq_cst);
        }
#endif
    }
    /// Ends the read: retire() may take the copy back from here on.
    void leave_read() noexcept { reading.store(0, std::memory_order_release); }
};

/// @brief The writer's half of the hand-off: after it, any reader of a cell either has
/// marked its read (retire() sees the mark and waits) or will load the generation that the
/// writer stored before calling this.
inline void heavy_fence() noexcept {
#if defined(OAUTH2CC_TSAN)
    // The reader's mark is a seq_cst exchange and retire() loads it seq_cst: the total
    // order of those and of the generation's seq_cst store and load is enough.
#else
    if (asymmetric_fences()) {
#if defined(OAUTH2CC_HAS_MEMBARRIER) && defined(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == 0) return;
        // Registered, so this cannot fail; if it did, no reader would be safe to skip.
        std::terminate();
#endif
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

/// @brief Takes the copies back from every cell: after this, no thread's cache keeps an
/// older token alive. Needs the manager's lock, and a new generation stored (seq_cst)
/// before it is called (under that lock no cell can have taken a copy at it yet).
inline void retire(std::vector<std::weak_ptr<cache_cell>>& cells) {
    heavy_fence();
    std::size_t kept = 0;
    for (auto& weak : cells) {
        const std::shared_ptr<cache_cell> cell = weak.lock();
        if (!cell) continue;  // its thread has ended; the copy went with it
        // A reader inside its mark is copying the pointer, a few instructions long.
        while (cell->reading.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
        cell->local.reset();
        cells[kept++] = weak;
    }
    cells.resize(kept);
}

/// @brief This thread's cell for one manager.
struct cache_slot {
    std::uint64_t owner = 0;          ///< The manager's process-unique id.
    std::weak_ptr<const void> alive;  ///< Expires with the manager.
    std::shared_ptr<cache_cell> cell;
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

/// @brief This thread's cell for a manager, made on first use and handed to `enroll`
/// (which gives the manager its weak reference). Slots of managers that are gone are
/// dropped when a new one is made.
template <class Owner, class Enroll>
cache_cell& thread_cell(std::uint64_t owner, const std::shared_ptr<Owner>& alive,
                        Enroll&& enroll) {
    auto& slots = thread_cache_slots();
    for (auto& s : slots) {
        if (s.owner == owner) return *s.cell;
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
    fresh.cell = std::make_shared<cache_cell>();
    enroll(std::weak_ptr<cache_cell>(fresh.cell));
    slots.push_back(std::move(fresh));
    return *slots.back().cell;
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
