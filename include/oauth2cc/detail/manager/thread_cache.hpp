// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/thread_cache.hpp: per-thread copies of an entry's current token and
// per-thread counts of cached reads, so that a cached read writes no cache line another
// thread reads or writes meanwhile; each thread's table of its copies of a manager's other
// entries, found by their parameters; and the hand-off by which an entry takes those
// copies back when its token changes or it goes away.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../token.hpp"
#include "../oauth/grant.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief A hash of token_params that ignores the order of scopes, resources and extra
/// parameters, as token_params' == does.
struct params_hash {
    std::size_t operator()(const token_params& p) const noexcept {
        const std::hash<std::string_view> h;
        const auto mix = [](std::size_t x) {
            x ^= x >> 31;
            x *= 0x9e3779b97f4a7c15ULL;
            return x ^ (x >> 29);
        };
        std::size_t scopes = 0, resources = 0, extras = 0;
        for (const auto& v : p.scopes) scopes += mix(h(v));
        for (const auto& v : p.resources) resources += mix(h(v) + 1);
        for (const auto& [name, value] : p.extra_params) extras += mix(mix(h(name)) + h(value));
        std::size_t out = h(p.audience) ^ mix(scopes + 0x51);
        out = mix(out) ^ mix(resources + 0xa3);
        return mix(out) ^ mix(extras + 0xc5);
    }
};

/// @brief The hash of a subject key (current_subject::key_hash); 0 for none.
inline std::size_t subject_hash(std::string_view subject) noexcept {
    return subject.empty() ? 0 : std::hash<std::string_view>{}(subject)*0x9e3779b97f4a7c15ULL;
}

/// @brief The hash of an entry's key: its token_params and the subject_hash() of its key.
inline std::size_t entry_hash(const token_params& p, std::size_t subject) noexcept {
    return params_hash{}(p) ^ subject;
}

/// @brief What an entry is found by: its token_params and, for a manager that follows its
/// subject, the subject's key (current_subject::key).
struct entry_key {
    token_params params;
    std::string subject;
    bool operator==(const entry_key& o) const { return subject == o.subject && params == o.params; }
};

struct entry_key_hash {
    std::size_t operator()(const entry_key& k) const noexcept {
        return entry_hash(k.params, subject_hash(k.subject));
    }
};

struct cache_cell;
struct keyed_cells;

/// @brief What a cell's copy is: the entry's current token, a token the entry has taken
/// back (a new copy is to be taken under the entry's lock), or of an entry that is gone
/// (a reader must not reach the entry through this cell again).
enum class cell_copy : unsigned char { current, stale, gone };

/// @brief One thread's copy of one entry's current token, and that thread's count of
/// cached reads. Shared by the thread (its slot list, or its keyed_cells) and the entry's
/// list of cells; on a cache line of its own.
///
/// The owning thread reads `copy`, `local`, `refresh_at` and `coarse_until` without the
/// entry's lock, between `enter_read()` and `leave_read()`. They are written only under
/// the entry's lock: by the owning thread when it takes a new copy, and by the entry when
/// it takes a copy back (`retire()`), which waits for no reader of this cell.
struct alignas(64) cache_cell {
    std::atomic<unsigned> reading{0};  ///< Written by the owning thread only.
    /// Cached reads by the owning thread. Written by it only, with a plain load and
    /// store (no locked instruction); the manager sums the cells' counts.
    std::atomic<std::uint64_t> hits{0};
    std::atomic<cell_copy> copy{cell_copy::stale};  ///< Stored seq_cst by retire().
    /// The token, under a control block of this thread's own, so that copying it
    /// touches no reference count that other threads write.
    std::shared_ptr<const token> local;
    std::chrono::steady_clock::time_point refresh_at;  ///< Served from here until then...
    /// ...and without reading steady_clock while the coarse clock is before this.
    std::chrono::steady_clock::time_point coarse_until;

    /// The owning thread's copies of the manager's other entries: in the cell of the
    /// config's own entry, made on the thread's first keyed read.
    std::unique_ptr<keyed_cells> keyed;
    /// The subject the owning thread saw last, for a manager that follows its subject
    /// (follows_subject()): in the cell of the config's own entry.
    std::unique_ptr<current_subject> subject;

    /// Marks the start of a read of this cell. The reader then loads `copy` seq_cst, and
    /// retire() stores it seq_cst before it loads the mark: in the single order of those
    /// four, either retire() sees the mark and waits, or the reader sees the copy taken
    /// back. The mark is one locked instruction on the thread's own cache line.
    void enter_read() noexcept { reading.exchange(1, std::memory_order_seq_cst); }
    /// Ends the read: retire() may take the copy back from here on.
    void leave_read() noexcept { reading.store(0, std::memory_order_release); }
    /// Counts a cached read; only the owning thread calls it.
    void count_hit() noexcept {
        hits.store(hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    /// Whether the copy may be served: inside a read mark, before reading `local`.
    bool current() const noexcept {
        return copy.load(std::memory_order_seq_cst) == cell_copy::current;
    }
};

/// @brief One thread's cells for the entries of one manager other than the config's own,
/// found by their token_params and subject key: open addressing over a fixed table, emptied when half
/// full, so that a thread holds at most 128 cells per manager however many entries the
/// manager has.
struct keyed_cells {
    struct slot {
        std::size_t hash = 0;
        token_params params;
        std::string subject;  ///< current_subject::key; empty but for subject entries
        /// The entry; reached only inside a read mark of `cell`, and only while the cell's
        /// copy is not `gone` (the entry marks it so before it is destroyed).
        void* entry = nullptr;
        std::shared_ptr<cache_cell> cell;
    };
    static constexpr std::size_t capacity = 256;

    /// The slot of p and subject, or null.
    slot* find(std::size_t hash, const token_params& p, std::string_view subject) noexcept {
        if (slots_.empty()) return nullptr;
        for (std::size_t i = hash % capacity;; i = (i + 1) % capacity) {
            slot& s = slots_[i];
            if (!s.cell) return nullptr;
            if (s.hash == hash && s.params == p && s.subject == subject) return &s;
        }
    }
    /// The slot of p and subject, made empty (no cell) when there was none.
    slot& find_or_add(std::size_t hash, const token_params& p, std::string_view subject) {
        if (slot* found = find(hash, p, subject)) return *found;
        if (slots_.empty() || used_ * 2 >= capacity) {
            slots_.assign(capacity, slot{});
            used_ = 0;
        }
        std::size_t i = hash % capacity;
        while (slots_[i].cell) i = (i + 1) % capacity;
        ++used_;
        slots_[i].hash = hash;
        slots_[i].params = p;
        slots_[i].subject = std::string(subject);
        return slots_[i];
    }

private:
    std::vector<slot> slots_;
    std::size_t used_ = 0;
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

/// @brief Takes the copies back from every cell: after this, no thread's cache keeps an
/// older token alive, and with `gone` no reader reaches the entry through a cell again.
/// Needs the entry's lock.
inline void retire(cell_list& list, cell_copy mark = cell_copy::stale) {
    list.drop_ended();
    if (list.cells.empty()) return;
    for (auto& cell : list.cells) cell->copy.store(mark, std::memory_order_seq_cst);
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
