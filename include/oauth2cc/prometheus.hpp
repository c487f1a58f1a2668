// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// prometheus.hpp: prometheus_exporter, a metrics_observer that writes the Prometheus text
// format. An add-on, outside oauth2cc.hpp: include it where metrics are served (it is in
// the compiled library too).
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "metrics.hpp"
#include "token_manager.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief A metrics_observer that keeps what it sees as Prometheus metrics, by client id,
/// and writes them in the text exposition format (version 0.0.4) for a `/metrics`
/// endpoint:
///
/// - `oauth2cc_token_requests_total{client_id,outcome}` counter;
/// - `oauth2cc_token_request_duration_seconds{client_id}` histogram;
/// - `oauth2cc_token_request_retries_total{client_id}` counter: requests after a failure;
/// - `oauth2cc_token_waits_total{client_id}` counter and
///   `oauth2cc_token_wait_seconds_total{client_id}` counter of the time waited;
/// - `oauth2cc_token_store_operations_total{client_id,operation,result}` counter;
/// - `oauth2cc_unauthorized_retries_total{client_id}` counter;
/// - `oauth2cc_dpop_nonce_retries_total{client_id,origin}` counter;
/// - `oauth2cc_credential_rotations_total{client_id}` counter: rotated credential files
///   taken up (token_request_event::credential_rotations);
/// - from the stats() of the attached managers, read at each scrape:
///   `oauth2cc_token_cache_hits_total{client_id}` counter,
///   `oauth2cc_token_fast_failures_total{client_id}` counter (callers given the last
///   error while backing off), and `oauth2cc_token_consecutive_failures{client_id}` gauge.
///
/// Thread-safe. Its cost is one lock per event, never on a cached get().
class prometheus_exporter : public metrics_observer {
public:
    /// @brief The Content-Type of what text() writes.
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

    /// @brief The upper bounds, in seconds, of the request duration histogram's buckets
    /// (`+Inf` comes after them).
    static constexpr std::array<double, 12> duration_buckets{0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
                                                             0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

    prometheus_exporter() = default;
    prometheus_exporter(const prometheus_exporter&) = delete;
    prometheus_exporter& operator=(const prometheus_exporter&) = delete;

    /// @brief Every metric, in the Prometheus text exposition format 0.0.4.
    std::string text() const;

    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that does not use it emits neither its vtable nor its bodies.
    /// @brief Counts the request by outcome and times it in the histogram.
    OAUTH2CC_INLINE void on_token_request(const token_request_event& event) override;
    /// @brief Counts the wait and its time.
    OAUTH2CC_INLINE void on_wait(std::string_view client_id, std::chrono::nanoseconds waited,
                                 bool got_token) override;
    /// @brief Counts the store operation by operation and result.
    OAUTH2CC_INLINE void on_store(const store_event& event) override;
    /// @brief Counts the 401 retry.
    OAUTH2CC_INLINE void on_unauthorized_retry(std::string_view client_id) override;
    /// @brief Counts the nonce retry by origin.
    OAUTH2CC_INLINE void on_dpop_nonce_retry(std::string_view client_id,
                                             nonce_origin where) override;
    /// @brief Reads manager's stats() at each scrape from now on.
    OAUTH2CC_INLINE void on_attach(const token_manager& manager,
                                   std::string_view client_id) override;
    /// @brief Keeps manager's last counts, and reads its stats() no more.
    OAUTH2CC_INLINE void on_detach(const token_manager& manager) override;

private:
    /// What one client id has seen.
    struct client_series {
        std::map<std::string, std::uint64_t> requests;                 ///< by outcome
        std::array<std::uint64_t, duration_buckets.size()> buckets{};  ///< not cumulative
        std::uint64_t duration_count = 0;                              ///< requests timed
        double duration_sum = 0;                                       ///< their seconds
        std::uint64_t retries = 0;                                     ///< requests after a failure
        std::uint64_t waits = 0;                                       ///< callers that waited
        double wait_seconds = 0;  ///< how long they waited in all
        std::map<std::pair<std::string, std::string>, std::uint64_t> store;  ///< op, result
        std::uint64_t unauthorized_retries = 0;              ///< calls repeated after a 401
        std::map<std::string, std::uint64_t> nonce_retries;  ///< by origin
        std::uint64_t credential_rotations = 0;              ///< rotated credential files
        /// Counts of managers detached, so that the counters never go down.
        std::uint64_t gone_cache_hits = 0;
        std::uint64_t gone_fast_failures = 0;  ///< as gone_cache_hits
        std::uint64_t gone_evictions = 0;      ///< as gone_cache_hits
    };
    /// A manager attached, whose stats() are read at each scrape.
    struct attached {
        const token_manager* manager;  ///< valid until on_detach()
        std::string client_id;         ///< its label
    };

    mutable std::mutex mutex_;
    std::map<std::string, client_series> clients_;
    std::vector<attached> managers_;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/prometheus_inl.hpp"
#endif
