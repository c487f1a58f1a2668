// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/manager_events.hpp: what a token_manager tells others after a fetch, outside its
// lock: the metrics observer's events, and the get_async() callbacks waiting for it.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../metrics.hpp"
#include "../../token_manager.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

using token_callback = std::function<void(token_result)>;

/// @brief Calls one observer function; what it throws goes no further.
template <class Call>
void tell(const std::shared_ptr<metrics_observer>& observer, Call&& call) noexcept {
    if (!observer) return;
    try {
        call(*observer);
    } catch (...) {
        // An observer that throws must not take the manager down with it.
    }
}

/// @brief Hands result to done; what it throws goes no further.
inline void hand_over(const token_callback& done, const token_result& result) noexcept {
    try {
        done(result);
    } catch (...) {
        // A callback that throws must not take the refreshing thread down with it.
    }
}

/// @brief The request of a fetch, for the observer.
struct request_record {
    request_outcome outcome = request_outcome::success;
    int http_status = 0;
    std::string oauth_error;
    std::chrono::nanoseconds latency{0};
    bool retry = false;
    unsigned nonce_retries = 0;
    unsigned credential_rotations = 0;
};

/// @brief What a fetch tells after its lock is released.
struct fetch_events {
    std::shared_ptr<metrics_observer> observer;
    std::optional<request_record> request;
    std::vector<std::pair<store_operation, store_result>> store;
    std::vector<token_callback> callbacks;
    token_result result;

    /// @brief Tells the observer, then the callbacks. who: the manager's client id.
    void deliver(const std::string& who) const noexcept {
        if (request) {
            tell(observer, [&](metrics_observer& o) {
                token_request_event e;
                e.client_id = who;
                e.outcome = request->outcome;
                e.http_status = request->http_status;
                e.oauth_error = request->oauth_error;
                e.latency = request->latency;
                e.retry = request->retry;
                e.dpop_nonce_retries = request->nonce_retries;
                e.credential_rotations = request->credential_rotations;
                o.on_token_request(e);
            });
        }
        for (const auto& [operation, result_of] : store) {
            tell(observer, [&, op = operation, res = result_of](metrics_observer& o) {
                o.on_store(store_event{who, op, res});
            });
        }
        for (const token_callback& done : callbacks) hand_over(done, result);
    }
};

/// @brief Reports a caller's wait for a token request to the observer when it ends: it
/// lives in get() before the lock, so that it reports after the lock is released.
class wait_report {
public:
    wait_report() = default;
    wait_report(const wait_report&) = delete;
    wait_report& operator=(const wait_report&) = delete;
    ~wait_report() {
        if (!observer_) return;
        const auto waited = std::chrono::steady_clock::now() - start_;
        const bool got = std::uncaught_exceptions() == exceptions_;
        tell(observer_, [&](metrics_observer& o) { o.on_wait(*who_, waited, got); });
    }
    /// @brief The wait begins; who outlives this report.
    void begin(std::shared_ptr<metrics_observer> observer, const std::string& who) {
        observer_ = std::move(observer);
        who_ = &who;
        start_ = std::chrono::steady_clock::now();
        exceptions_ = std::uncaught_exceptions();
    }

private:
    std::shared_ptr<metrics_observer> observer_;
    const std::string* who_ = nullptr;
    std::chrono::steady_clock::time_point start_;
    int exceptions_ = 0;
};

}  // namespace oauth2cc::detail
