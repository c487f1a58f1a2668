// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/deadline_watchdog.hpp: one thread that acts when an exchange passes its deadline.
// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace oauth2cc::detail {

/// @brief Runs a callback when a deadline passes unless it was disarmed first. One lazily
/// started thread serves every armed deadline; shared() is the one every transport of the
/// process uses.
class deadline_watchdog {
public:
    using clock = std::chrono::steady_clock;
    using ticket = std::uint64_t;

    deadline_watchdog() = default;

    /// @brief The process's watchdog: made on first use and never destroyed, so that a
    /// transport anywhere (a static one included) may use it to the end.
    static deadline_watchdog& shared() {
        static deadline_watchdog* const one = new deadline_watchdog();
        return *one;
    }
    deadline_watchdog(const deadline_watchdog&) = delete;
    deadline_watchdog& operator=(const deadline_watchdog&) = delete;

    ~deadline_watchdog() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    /// @brief Calls on_expiry on the watchdog thread once `when` has passed.
    ticket arm(clock::time_point when, std::function<void()> on_expiry) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        const ticket id = ++last_ticket_;
        armed_.emplace(id, entry{when, std::move(on_expiry), false});
        // The thread wakes at next_wake_ anyway; only an earlier deadline needs it now.
        // Most deadlines are later, so most requests cost no wake-up of the thread.
        if (when < next_wake_) {
            next_wake_ = when;
            wake_.notify_all();
        }
        return id;
    }

    /// @brief Forgets a deadline. Once this returns its callback is not running and never
    /// will run.
    /// @returns true when the deadline had already fired
    bool disarm(ticket id) {
        std::lock_guard<std::mutex> lock(mutex_);
        const auto it = armed_.find(id);
        if (it == armed_.end()) return false;
        const bool fired = it->second.fired;
        armed_.erase(it);
        return fired;
    }

private:
    struct entry {
        clock::time_point when;
        std::function<void()> on_expiry;
        bool fired;
    };

    void run() {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!stopping_) {
            bool any = false;
            clock::time_point next = clock::time_point::max();
            const auto now = clock::now();
            for (auto& [id, e] : armed_) {
                if (e.fired) continue;
                if (e.when <= now) {
                    e.fired = true;
                    // Under the lock, so that disarm() cannot return while it runs.
                    e.on_expiry();
                } else {
                    any = true;
                    if (e.when < next) next = e.when;
                }
            }
            // With nothing armed, look again after a while rather than never, so that arm()
            // rarely has to wake this thread.
            next_wake_ = any ? next : now + idle_recheck;
            wake_.wait_until(lock, next_wake_);
        }
    }

    static constexpr std::chrono::seconds idle_recheck{1};

    std::mutex mutex_;
    std::condition_variable wake_;
    clock::time_point next_wake_ = clock::time_point::max();
    std::map<ticket, entry> armed_;
    ticket last_ticket_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace oauth2cc::detail
