// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// metrics.hpp: what a token_manager (with its store) and an authorized_client report to a
// metrics system (prometheus.hpp has a ready exporter in the Prometheus text format).
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "error.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

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
    /// Credential files rotated that this request took up (read after the file
    /// changed, or after an `invalid_client` answer): a new client secret from
    /// client_config::client_secret_file, a new key from the file of a
    /// client_config::client_key, new client certificate files (tls_options): 0 or more.
    unsigned credential_rotations = 0;
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

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/metrics_inl.hpp"
#endif
