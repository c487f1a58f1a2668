// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/refresher.hpp: the threads every token_manager of a process shares: a
// bounded pool of workers that run token requests, and one refresher thread that starts
// the background refreshes of every manager and entry when they fall due.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

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

    /// @brief Runs job on a worker, at once when one is idle, else after the jobs before
    /// it. A new worker is started while fewer than the limit run and the jobs waiting
    /// outnumber the idle workers.
    /// @throws error `transport` when no worker runs and none can be started
    void submit(std::function<void()> job) {
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        jobs_.push_back(std::move(job));
        if (idle_ > 0) jobs_ready_.notify_one();
        // A worker more while the jobs waiting outnumber the idle workers.
        if (idle_ >= jobs_.size() || workers_ >= limit_) return;
        try {
            std::thread([this] { work(); }).detach();
            ++workers_;
        } catch (const std::system_error&) {
            if (workers_ > 0) return;
            jobs_.pop_back();
            throw error(error_kind::transport, "could not start a thread for token requests");
        }
    }

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

    void work() {
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        for (;;) {
            ++idle_;
            jobs_ready_.wait(lock, [this] { return !jobs_.empty(); });
            --idle_;
            std::function<void()> job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();  // a job catches what it throws
            job = nullptr;
            lock.lock();
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
    std::deque<std::function<void()>> jobs_;
    std::size_t workers_ = 0, idle_ = 0, limit_ = 4;

    std::mutex passes_mutex_;  ///< held by the refresher while it runs passes
    std::map<std::uint64_t, pass_fn> passes_;
    std::uint64_t last_id_ = 0;
    bool refresher_started_ = false;

    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::uint64_t pokes_ = 0;
};

}  // namespace oauth2cc::detail
