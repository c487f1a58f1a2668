// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// authorized_client.hpp: calls to an API with a Bearer token on each, and one clean
// retry when the API says the token is no longer good.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"
#include "connection_options.hpp"
#include "http.hpp"
#include "token_manager.hpp"
#include "transport.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief How an authorized_client reaches its API: connection_options, with room for
/// larger API responses (16 MiB) and more idle connections (8), and redirects.
struct client_options : connection_options {
    /// The defaults of connection_options, but for the response cap and idle connections.
    client_options() {
        max_response_bytes = 16 * 1024 * 1024;
        max_idle_connections = 8;
    }
    /// Off by default. When on, the token goes only to the base URL's origin: a
    /// redirect elsewhere is followed without it and without any caller header that
    /// could be a credential (only Accept*, Content-Type, Content-Language, User-Agent,
    /// Cache-Control and Pragma go along); a 307 or 308 elsewhere that would carry a
    /// body is not followed, and comes back to the caller.
    bool follow_redirects = false;
    int max_redirects = 5;  ///< Redirects followed per call, at most.
    /// The token this client sends: the manager's entry of these parameters, so that one
    /// manager serves an authorized_client per API audience or resource. Unset: the
    /// config's own.
    std::optional<token_params> params;
    /// Off by default. When on, a 403 `insufficient_scope` whose challenge names a `scope`
    /// (RFC 6750 §3.1) is answered once per call with a token for this client's own scopes
    /// (those of `params`, else the config's) plus the scopes the challenge named. The API
    /// chooses what is added, within step_up_scopes: the client keeps its own scopes plus
    /// those of the last challenge it answered (a new challenge replaces that widening,
    /// never adds to it), and only once a token for them was had. A challenge that names
    /// no scope, or none this client may add and does not already send, and a wider token
    /// that cannot be had, leave the 403 as it came.
    bool step_up_scope = false;
    /// The scopes a step-up may add. Empty: any scope the API's challenge names.
    std::set<std::string> step_up_scopes;
};

/// @brief The path with params appended as a percent-encoded query: A-Z a-z 0-9 - . _ ~
/// as they are, a space as %20, every other byte as %XX, so that a server reads each value
/// back exactly, whether it decodes the query as a form or by RFC 3986.
std::string with_query(std::string_view path, const name_value_list& params);

/// @brief Calls an API with `Authorization: Bearer <token>` from a token_manager.
///
/// On a 401 whose WWW-Authenticate names `invalid_token` or no error, it invalidates the
/// token it sent and repeats the call once with a new one; never more. While the
/// manager's rejection guard keeps the token (see token_manager::invalidate), the 401
/// comes back as it came, with no new token. Any other 401 or 403 comes back as it came
/// (see find_bearer_challenge for its parameters), but for the step-up of scope that
/// client_options::step_up_scope turns on. A call that succeeds tells the manager, so
/// that a later rejection of that token is taken for a revocation.
///
/// Thread-safe: share one between threads. Calls run in parallel, each on a kept-alive
/// connection of its own taken from a pool.
class authorized_client {
public:
    /// @param base_url an http(s) URL, optionally with a path prefix; no query or fragment
    /// @param tokens   where tokens come from; must outlive this client
    /// @param options  timeouts, TLS, redirects
    /// @param via      the transport; null makes an httplib_transport from options
    /// @throws error `config` for a base URL that is malformed or plain http:// to a
    ///         host that is not loopback (unless allowed)
    authorized_client(std::string base_url, token_manager& tokens, client_options options = {},
                      std::shared_ptr<transport> via = nullptr);

    /// @brief GET base_url + path.
    http_response get(std::string_view path, const name_value_list& headers = {});
    /// @brief DELETE base_url + path.
    http_response del(std::string_view path, const name_value_list& headers = {});
    /// @brief POST a body of content_type to base_url + path.
    http_response post(std::string_view path, std::string_view body,
                       std::string_view content_type = "application/json",
                       const name_value_list& headers = {});
    /// @brief PUT a body of content_type to base_url + path.
    http_response put(std::string_view path, std::string_view body,
                      std::string_view content_type = "application/json",
                      const name_value_list& headers = {});
    /// @brief PATCH a body of content_type to base_url + path.
    http_response patch(std::string_view path, std::string_view body,
                        std::string_view content_type = "application/json",
                        const name_value_list& headers = {});

    /// @brief Any method. path starts with '/' and may carry a query (see with_query).
    /// @returns the response, whatever its status
    /// @throws error `config` for a path that is not relative to the base URL, for a
    ///         caller's own Authorization header, or for a header that frames the message
    ///         (Host, Content-Length, Transfer-Encoding, Connection, ...); the
    ///         token_manager's error when no token can be had; `transport` or `tls` when
    ///         no response arrives
    http_response send(std::string_view method, std::string_view path, std::string_view body = {},
                       std::string_view content_type = {}, const name_value_list& headers = {});

    /// @brief The base URL, without a trailing '/'.
    const std::string& base_url() const noexcept { return base_url_; }

private:
    // The steps of send(): the request checked and built; one hop sent with the token's
    // headers; a redirect followed (false: the response is the answer); one exchange with
    // the redirects it may follow.
    http_request request_for(std::string_view method, std::string_view path, std::string_view body,
                             std::string_view content_type, const name_value_list& headers) const;
    // `attempt` numbers the call's exchanges (0, then each retry) for its spans.
    http_response send_hop(http_request& req, const token& tok, bool on_origin, bool& new_nonce,
                           unsigned attempt);
    bool redirect(http_request& req, const http_response& res, bool& on_origin) const;
    http_response exchange(const http_request& base, const token& tok, bool& on_origin,
                           bool& new_nonce, unsigned attempt);
    // The parameters of the token to send now (unset: the config's own), and a token of
    // them.
    std::optional<token_params> current_params() const;
    std::shared_ptr<const token> token_of(const std::optional<token_params>& params);
    // This client's own parameters with the scopes a 403 `insufficient_scope` named (and
    // step_up_scopes allows) added, when that adds one the sent parameters lacked; else
    // unset.
    std::optional<token_params> stepped_up(const std::optional<token_params>& sent,
                                           const http_response& res, bool dpop) const;

    std::string base_url_;
    std::string origin_;
    token_manager& tokens_;
    client_options options_;
    std::shared_ptr<transport> transport_;
    std::string who_;  ///< the manager's client id, sanitised, for the observer
    mutable std::mutex params_mutex_;
    std::optional<token_params> params_;  ///< options_.params, or the last step-up's
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/authorized_client_inl.hpp"
#endif
