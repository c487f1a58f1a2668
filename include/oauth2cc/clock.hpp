// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// clock.hpp: the monotonic clock that token expiry runs on, and a manual one for tests.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace oauth2cc {

/// @brief Where token_manager reads the time. The default is std::chrono::steady_clock,
/// so wall-clock jumps change nothing; tests inject a manual_clock.
class clock_source {
public:
    using time_point = std::chrono::steady_clock::time_point;  ///< steady_clock's
    using duration = std::chrono::steady_clock::duration;      ///< steady_clock's

    virtual ~clock_source() = default;

    /// @brief The current time.
    virtual time_point now() const = 0;

    /// @brief True when only explicit calls move this clock: a wait then ends when the
    /// clock says it has moved (see subscribe), not when real time passes.
    virtual bool is_manual() const noexcept { return false; }

    /// @brief Calls moved() after each explicit move of a manual clock.
    /// @returns an id for unsubscribe
    virtual std::uint64_t subscribe(std::function<void()> moved) {
        (void)moved;
        return 0;
    }

    /// @brief Stops the calls of a subscription; once it returns, none is running.
    virtual void unsubscribe(std::uint64_t id) { (void)id; }

protected:
    clock_source() = default;                                ///< For derived classes.
    clock_source(const clock_source&) = default;             ///< For derived classes.
    clock_source& operator=(const clock_source&) = default;  ///< For derived classes.
};

/// @brief std::chrono::steady_clock as a clock_source.
class steady_clock_source final : public clock_source {
public:
    time_point now() const override { return std::chrono::steady_clock::now(); }
};

/// @brief A clock that stands still until advance() or set() moves it. Thread-safe.
class manual_clock final : public clock_source {
public:
    /// @param start the time it shows first; an hour past the epoch by default, so that
    ///        times before it exist
    explicit manual_clock(time_point start = time_point(std::chrono::hours(1)));

    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that includes this header but makes none emits no vtable and
    // no code. In compiled mode they are the library's, with its vtable.
    OAUTH2CC_INLINE time_point now() const override;
    bool is_manual() const noexcept override { return true; }
    OAUTH2CC_INLINE std::uint64_t subscribe(std::function<void()> moved) override;
    OAUTH2CC_INLINE void unsubscribe(std::uint64_t id) override;

    /// @brief Moves the clock forward by by, then tells every subscriber.
    void advance(duration by);
    /// @brief Moves the clock to to (never backwards), then tells every subscriber.
    void set(time_point to);

private:
    void moved();

    mutable std::mutex mutex_;
    time_point now_;
    // Held while subscribers run, so that unsubscribe() waits for a running call.
    std::mutex calling_;
    std::map<std::uint64_t, std::function<void()>> subscribers_;
    std::uint64_t last_id_ = 0;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/clock_inl.hpp"
#endif
