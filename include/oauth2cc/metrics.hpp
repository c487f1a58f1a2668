// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// metrics.hpp: what a token_manager (with its store) and an authorized_client report to a
// metrics system, and a ready exporter in the Prometheus text format.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "error.hpp"

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

class token_manager;

/// @brief How a token request ended: `success`, or the kind of its error.
enum class request_outcome { success, config, transport, tls, http_status, oauth, bad_response };

/// @brief The outcome's name, e.g. "success", "oauth": the values of the `outcome` label.
std::string_view to_string(request_outcome outcome) noexcept;

/// @brief The outcome of a failed request, by its error's kind.
request_outcome outcome_of(error_kind kind) noexcept;

/// @brief One token request a token_manager made (a token taken from the store is not
/// one; it is a store_event).
struct token_request_event {
    std::string_view client_id;  ///< the manager's client id, as in its log lines
    request_outcome outcome = request_outcome::success;  ///< success, or the error's kind
    int http_status = 0;                  ///< the response's status; 0 when none came
    std::string_view oauth_error;         ///< the RFC 6749 §5.2 `error` of an `oauth` failure
    std::chrono::nanoseconds latency{0};  ///< from the request's start to its outcome
    bool retry = false;                   ///< made after a failed request
    /// Requests the token endpoint answered with `use_dpop_nonce` and this request
    /// repeated with the nonce it gave (RFC 9449 §8): 0 or 1.
    unsigned dpop_nonce_retries = 0;
};

/// @brief What a token_manager asked of its token_store.
enum class store_operation { load, save, remove };

/// @brief How a store operation went: `hit` (a usable token loaded), `miss` (none, or one
/// not worth taking), `ok` (saved, removed), `failure` (the store refused, e.g. a file
/// others may read), `unavailable` (the store could not be reached, e.g. Redis down).
enum class store_result { hit, miss, ok, failure, unavailable };

/// @brief The operation's name: "load", "save", "remove".
std::string_view to_string(store_operation operation) noexcept;

/// @brief The result's name: "hit", "miss", "ok", "failure", "unavailable".
std::string_view to_string(store_result result) noexcept;

/// @brief One operation of a token_manager on its token_store.
struct store_event {
    std::string_view client_id;                         ///< the manager's client id
    store_operation operation = store_operation::load;  ///< what was asked
    store_result result = store_result::miss;           ///< how it went
};

/// @brief Where a request answered with `use_dpop_nonce` was repeated with the nonce given.
enum class nonce_origin { token_endpoint, resource_server };

/// @brief The origin's name: "token_endpoint", "resource_server".
std::string_view to_string(nonce_origin origin) noexcept;

/// @brief Receives what a token_manager does, for a metrics system
/// (token_manager::set_observer()). Every function has an empty default; override the
/// ones wanted. Events are reported after the work is done, outside every lock of the
/// manager, on the thread that did it (a worker or the background thread for requests
/// and the store, the caller's thread for waits, invalidate() and an authorized_client's
/// retries); a request and its store operations are reported before the callers
/// waiting for it are woken. An observer shared by several managers is called from
/// several threads at once; it may call the manager as its logger may. An exception an
/// observer throws is swallowed.
///
/// Cache hits are not events: a cached get() costs no more with an observer than
/// without. They are counted in token_manager::stats(), which an observer reads when it
/// is scraped, for each manager it was attached to (on_attach()).
class metrics_observer {
public:
    virtual ~metrics_observer() = default;

    /// @brief A token request ended.
    virtual void on_token_request(const token_request_event& event) { (void)event; }

    /// @brief A get() (or request_headers(), authorization_header(), an
    /// authorized_client call) waited for a token request.
    /// @param client_id the client of the manager that the caller waited on
    /// @param waited    how long it waited
    /// @param got_token false when the wait ended in an error
    virtual void on_wait(std::string_view client_id, std::chrono::nanoseconds waited,
                         bool got_token) {
        (void)client_id, (void)waited, (void)got_token;
    }

    /// @brief A token store operation ended.
    virtual void on_store(const store_event& event) { (void)event; }

    /// @brief An authorized_client got a 401 for a token that is no longer good, dropped
    /// it, and repeats the call once with a new one.
    virtual void on_unauthorized_retry(std::string_view client_id) { (void)client_id; }

    /// @brief A request answered with `use_dpop_nonce` is repeated with the server's new
    /// nonce (RFC 9449 §8, §9).
    virtual void on_dpop_nonce_retry(std::string_view client_id, nonce_origin where) {
        (void)client_id, (void)where;
    }

    /// @brief manager now reports here. Until on_detach() for it returns, the observer
    /// may call its stats() from any thread (on_attach() and on_detach() included): the
    /// manager is not destroyed before then.
    virtual void on_attach(const token_manager& manager, std::string_view client_id) {
        (void)manager, (void)client_id;
    }

    /// @brief manager reports here no more: it is being destroyed (after its last token
    /// request), or was given another observer. The observer must not touch it once this
    /// returns.
    virtual void on_detach(const token_manager& manager) { (void)manager; }
};

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
        /// Counts of managers detached, so that the counters never go down.
        std::uint64_t gone_cache_hits = 0;
        std::uint64_t gone_fast_failures = 0;  ///< as gone_cache_hits
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

// The bodies come with token_manager.hpp, which they need whole.
#include "token_manager.hpp"
