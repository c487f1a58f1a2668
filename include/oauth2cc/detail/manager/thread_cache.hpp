// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/thread_cache.hpp: per-thread copies of the current token and per-thread counts of
// cached reads, so that a cached read writes no cache line another thread reads or
// writes meanwhile; and the hand-off by which a manager takes those copies back when its
// token changes or it goes away.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../token.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <utility>
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

/// @brief One thread's copy of one manager's current token, and that thread's count of
/// cached reads. Shared by the thread's slot list and the manager's list of cells; on a
/// cache line of its own.
///
/// The owning thread reads `generation`, `local`, `refresh_at` and `coarse_until` without
/// the manager's lock, between `enter_read()` and `leave_read()`. They are written only
/// under the manager's lock: by the owning thread when it takes a new copy, and by the
/// manager when it takes a stale copy back (`retire()`), which waits for no reader of
/// this cell.
struct alignas(64) cache_cell {
    std::atomic<unsigned> reading{0};  ///< Written by the owning thread only.
    /// Cached reads by the owning thread. Written by it only, with a plain load and
    /// store (no locked instruction); the manager sums the cells' counts.
    std::atomic<std::uint64_t> hits{0};
    std::uint64_t generation = 0;  ///< The manager's generation of this copy.
    /// The token, under a control block of this thread's own, so that copying it
    /// touches no reference count that other threads write.
    std::shared_ptr<const token> local;
    std::chrono::steady_clock::time_point refresh_at;  ///< Served from here until then...
    /// ...and without reading steady_clock while the coarse clock is before this.
    std::chrono::steady_clock::time_point coarse_until;

    /// Marks the start of a read of this cell. The reader then loads the manager's
    /// generation seq_cst: either retire() sees the mark, or the reader sees the
    /// generation that retire() is taking copies back for.
    /// @param asymmetric what asymmetric_fences() says, kept by the manager
    void enter_read(bool asymmetric) noexcept {
#if defined(OAUTH2CC_TSAN)
        (void)asymmetric;
        reading.exchange(1, std::memory_order_seq_cst);
#else
        reading.store(1, std::memory_order_relaxed);
        if (asymmetric) {
            std::atomic_signal_fence(std::memory_order_seq_cst);
        } else {
            std::atomic_thread_fence(std::memory_order_seq_cst);
        }
#endif
    }
    /// Ends the read: retire() may take the copy back from here on.
    void leave_read() noexcept { reading.store(0, std::memory_order_release); }
    /// Counts a cached read; only the owning thread calls it.
    void count_hit() noexcept {
        hits.store(hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

/// @brief A manager's cells, one per thread that has read from it, and the reads of the
/// threads that have ended. Guarded by the manager's lock.
struct cell_list {
    std::vector<std::shared_ptr<cache_cell>> cells;
    std::uint64_t ended_hits = 0;  ///< Cached reads of threads whose cells are gone.

    /// Adds a thread's new cell, dropping the cells of threads that have ended.
    void enroll(std::shared_ptr<cache_cell> cell) {
        drop_ended();
        cells.push_back(std::move(cell));
    }
    /// The cached reads of every thread, those that have ended included.
    std::uint64_t hits() const noexcept {
        std::uint64_t total = ended_hits;
        for (const auto& c : cells) total += c->hits.load(std::memory_order_relaxed);
        return total;
    }
    /// Drops the cells that only this list holds (their threads have ended, and no one
    /// can take a new reference to them but through this list, under the lock), keeping
    /// their counts.
    void drop_ended() noexcept {
        std::size_t kept = 0;
        for (auto& c : cells) {
            if (c.use_count() == 1) {
                ended_hits += c->hits.load(std::memory_order_relaxed);
                c.reset();
            } else {
                cells[kept++] = std::move(c);
            }
        }
        cells.resize(kept);
    }
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
inline void retire(cell_list& list) {
    heavy_fence();
    list.drop_ended();
    for (auto& cell : list.cells) {
        // A reader inside its mark is copying the pointer, a few instructions long.
        while (cell->reading.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
        cell->local.reset();
    }
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

/// @brief The slot this thread used last. Trivial, so that reaching it costs no
/// thread_local initialisation check; `cell` points into a slot of thread_cache_slots()
/// and is cleared before that slot can go.
struct last_slot {
    std::uint64_t owner;
    cache_cell* cell;
};

inline last_slot& thread_last_slot() noexcept {
    static thread_local last_slot last{0, nullptr};
    return last;
}

/// @brief A process-unique id for a new manager; ids are never reused.
inline std::uint64_t next_manager_id() noexcept {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

/// @brief thread_cell() when the slot used last is another manager's: finds the slot in
/// the thread's list, or makes one and hands its cell to `enroll` (which gives the
/// manager its reference). Slots of managers that are gone are dropped when a new one is
/// made.
template <class Owner, class Enroll>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
cache_cell&
thread_cell_search(std::uint64_t owner, const std::shared_ptr<Owner>& alive, Enroll&& enroll) {
    last_slot& last = thread_last_slot();
    auto& slots = thread_cache_slots();
    for (auto& s : slots) {
        if (s.owner == owner) {
            last = {owner, s.cell.get()};
            return *s.cell;
        }
    }
    last = {0, nullptr};
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
    enroll(fresh.cell);
    slots.push_back(std::move(fresh));
    last = {owner, slots.back().cell.get()};
    return *slots.back().cell;
}

/// @brief This thread's cell for a manager: the slot used last when it is this manager's
/// (one thread-local load and compare), else thread_cell_search().
template <class Owner, class Enroll>
cache_cell& thread_cell(std::uint64_t owner, const std::shared_ptr<Owner>& alive, Enroll&& enroll) {
    const last_slot& last = thread_last_slot();
    if (last.owner == owner) return *last.cell;
    return thread_cell_search(owner, alive, std::forward<Enroll>(enroll));
}

}  // namespace oauth2cc::detail
