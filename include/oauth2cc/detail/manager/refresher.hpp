// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/refresher.hpp: the threads every token_manager of a process shares: a
// bounded pool of workers that run token requests, and one refresher thread that starts
// the background refreshes of every manager and entry when they fall due.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief A job handed to the workers. It runs once: on a worker, or on a worker that
/// would otherwise wait for it (a credential source that asks another manager for its
/// token, say), so that a wait on a worker never needs another worker.
class worker_job {
public:
    /// @param whose  whose job it is (a manager), for the fair share of the workers
    /// @param hurry  a caller waits for it (no valid token): it goes before the others
    worker_job(std::function<void()> fn, const void* whose, bool hurry)
        : owner(whose), urgent(hurry), fn_(std::move(fn)) {}

    /// @brief Runs the job on this thread unless it ran or runs elsewhere.
    /// @returns whether it ran here
    bool run_once() {
        if (claimed_.exchange(true)) return false;
        std::function<void()> fn = std::move(fn_);
        fn_ = nullptr;
        fn();  // a job catches what it throws
        return true;
    }

    /// @brief True once run_once() was called anywhere.
    bool claimed() const noexcept { return claimed_.load(); }

    const void* const owner;   ///< whose job it is
    std::atomic<bool> urgent;  ///< set when a caller comes to wait for it

private:
    std::atomic<bool> claimed_{false};
    std::function<void()> fn_;
};

/// @brief The process's workers and refresher. Made on first use and never destroyed, so
/// that no manager, wherever it lives, outlives it; its threads wait idle until the
/// process ends.
class refresh_service {
public:
    using steady = std::chrono::steady_clock;
    /// @brief One background pass over a manager's entries: starts the refreshes that are
    /// due, and returns when the next falls due (none: only a poke() wakes it).
    using pass_fn = std::function<std::optional<steady::time_point>()>;

    static refresh_service& instance() {
        static refresh_service* const service = new refresh_service();
        return *service;
    }

    /// @brief Runs fn on a worker: the urgent jobs first (a caller waits for them), in the
    /// order they came, then the others; an owner (a manager) never holds more than half
    /// the workers (one when the limit is 1), so that one slow endpoint or one caller's
    /// many entries leave the other managers workers. A new worker is started while fewer
    /// than the limit run and the jobs waiting outnumber the idle workers.
    /// @returns the job, which a worker waiting for it may run itself (run_once())
    /// @throws error `transport` when no worker runs and none can be started
    std::shared_ptr<worker_job> submit(std::function<void()> fn, const void* owner, bool urgent) {
        auto job = std::make_shared<worker_job>(std::move(fn), owner, urgent);
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        jobs_.push_back(job);
        if (idle_ > 0) jobs_ready_.notify_all();
        // A worker more while the jobs waiting outnumber the idle workers.
        if (idle_ >= jobs_.size() || workers_ >= limit_) return job;
        try {
            std::thread([this] { work(); }).detach();
            ++workers_;
        } catch (const std::system_error&) {
            if (workers_ > 0) return job;
            jobs_.pop_back();
            throw error(error_kind::transport, "could not start a thread for token requests");
        }
        return job;
    }

    /// @brief Has the workers look again at the jobs waiting: one became urgent.
    void hurry() {
        const std::lock_guard<std::mutex> lock(jobs_mutex_);
        if (idle_ > 0) jobs_ready_.notify_all();
    }

    /// @brief True on one of the workers.
    static bool on_worker() noexcept { return worker_thread(); }

    /// @brief The most workers that run token requests at once (1 to 256; default 4).
    void set_workers(std::size_t count) {
        const std::lock_guard<std::mutex> lock(jobs_mutex_);
        limit_ = std::clamp<std::size_t>(count, 1, 256);
    }
    std::size_t workers_limit() const {
        const std::lock_guard<std::mutex> lock(jobs_mutex_);
        return limit_;
    }

    /// @brief Has the refresher thread call pass from now on, until withdraw().
    /// @throws error `transport` when the refresher thread cannot be started
    std::uint64_t enroll(pass_fn pass) {
        const std::lock_guard<std::mutex> passes(passes_mutex_);
        if (!refresher_started_) {
            try {
                std::thread([this] { refresh(); }).detach();
            } catch (const std::system_error&) {
                throw error(error_kind::transport, "could not start the background refresh thread");
            }
            refresher_started_ = true;
        }
        const std::uint64_t id = ++last_id_;
        passes_.emplace(id, std::move(pass));
        poke();
        return id;
    }

    /// @brief Stops calling a pass. Once this returns it is not running and never will.
    /// Never call it from a pass.
    void withdraw(std::uint64_t id) {
        const std::lock_guard<std::mutex> passes(passes_mutex_);
        passes_.erase(id);
    }

    /// @brief Has the refresher run every pass again soon: something it waits for changed.
    /// Takes no lock that a pass holds, so it may be called with any lock held.
    void poke() {
        {
            const std::lock_guard<std::mutex> lock(wake_mutex_);
            ++pokes_;
        }
        wake_.notify_one();
    }

private:
    refresh_service() = default;

    static bool& worker_thread() noexcept {
        thread_local bool worker = false;
        return worker;
    }

    // The next job a worker may run (see submit()), taken from the queue; null when none
    // may run now. Jobs a waiting worker ran already are dropped. Needs jobs_mutex_.
    std::shared_ptr<worker_job> next_job() {
        const std::size_t share = std::max<std::size_t>(1, limit_ / 2);
        // Erased first, in one pass: an erase in a deque's middle moves every iterator.
        jobs_.erase(
            std::remove_if(jobs_.begin(), jobs_.end(),
                           [](const std::shared_ptr<worker_job>& j) { return j->claimed(); }),
            jobs_.end());
        auto pick = jobs_.end();
        for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
            const auto held = running_.find((*it)->owner);
            const bool may = held == running_.end() || held->second < share;
            if (may && (*it)->urgent.load()) {
                pick = it;
                break;
            }
            if (may && pick == jobs_.end()) pick = it;
        }
        if (pick == jobs_.end()) return nullptr;
        std::shared_ptr<worker_job> job = std::move(*pick);
        jobs_.erase(pick);
        return job;
    }

    void work() {
        worker_thread() = true;
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        for (;;) {
            ++idle_;
            std::shared_ptr<worker_job> job;
            jobs_ready_.wait(lock, [&] { return (job = next_job()) != nullptr; });
            --idle_;
            ++running_[job->owner];
            lock.unlock();
            job->run_once();  // nothing when a waiting worker ran it already
            lock.lock();
            const auto held = running_.find(job->owner);
            if (--held->second == 0) running_.erase(held);
            job = nullptr;
            // A job of this owner held back by its share may run now.
            if (!jobs_.empty()) jobs_ready_.notify_all();
        }
    }

    void refresh() {
        for (;;) {
            std::uint64_t seen = 0;
            {
                const std::lock_guard<std::mutex> lock(wake_mutex_);
                seen = pokes_;
            }
            std::optional<steady::time_point> next;
            {
                const std::lock_guard<std::mutex> passes(passes_mutex_);
                for (auto& [id, pass] : passes_) {
                    (void)id;
                    const auto wake = pass();
                    if (wake && (!next || *wake < *next)) next = wake;
                }
            }
            std::unique_lock<std::mutex> lock(wake_mutex_);
            const auto poked = [&] { return pokes_ != seen; };
            if (next) {
                wake_.wait_until(lock, *next, poked);
            } else {
                wake_.wait(lock, poked);
            }
        }
    }

    mutable std::mutex jobs_mutex_;
    std::condition_variable jobs_ready_;
    std::deque<std::shared_ptr<worker_job>> jobs_;
    std::size_t workers_ = 0, idle_ = 0, limit_ = 4;
    std::map<const void*, std::size_t> running_;  ///< jobs under way, by owner

    std::mutex passes_mutex_;  ///< held by the refresher while it runs passes
    std::map<std::uint64_t, pass_fn> passes_;
    std::uint64_t last_id_ = 0;
    bool refresher_started_ = false;

    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::uint64_t pokes_ = 0;
};

}  // namespace oauth2cc::detail
