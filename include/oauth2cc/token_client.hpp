// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// token_client.hpp: client-credentials token requests, one at a time, no caching.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"
#include "error.hpp"
#include "token.hpp"
#include "transport.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace oauth2cc {

namespace detail {
class request_source;
}  // namespace detail

/// @brief Makes one client-credentials token request through the given transport.
/// @param cfg  what to ask for, where, and how to authenticate
/// @param via  the transport that carries the request
/// @returns the token of a valid RFC 6749 §5.1 response
/// @throws error `config` before any request when cfg is unusable; `transport` or `tls`
///         when no response arrives; `bad_response` when the body is over
///         max_response_bytes; `oauth`, `http_status` or `bad_response` as the response says
/// @sa RFC 6749 §4.4
token request_token(const client_config& cfg, transport& via);

/// @brief Makes one client-credentials token request over a new httplib_transport.
/// @throws error as request_token(cfg, via) does
/// @sa RFC 6749 §4.4
token request_token(const client_config& cfg);

/// @brief Makes token requests for one client_config over one kept-alive connection.
/// No caching: every fetch() asks the server (token_manager caches and refreshes).
/// Thread-safe when its transport is; the default httplib_transport is.
class token_client {
public:
    /// @param cfg  what to ask for, where, and how to authenticate
    /// @param via  the transport; null makes an httplib_transport from cfg
    /// @throws error `config` when cfg is unusable (with an issuer and no token_endpoint,
    ///         the endpoint is discovered by the first fetch())
    explicit token_client(client_config cfg, std::shared_ptr<transport> via = nullptr);

    /// @brief Requests a new token.
    /// @throws error as request_token(cfg, via) does
    /// @sa RFC 6749 §4.4
    token fetch();

    /// @brief The configuration this client requests tokens with.
    const client_config& config() const noexcept { return cfg_; }

    /// @brief The transport its requests go through.
    const std::shared_ptr<transport>& via() const noexcept { return transport_; }

    /// @brief The `use_dpop_nonce` retries its requests have made (RFC 9449 §8).
    unsigned nonce_retries() const noexcept { return nonce_retries_.load(); }

    /// @brief The rotated credential files taken up since the first read: a new secret
    /// in client_config::client_secret_file, a new key in the file of a
    /// client_config::client_key, a replaced tls_options::client_cert_file or
    /// client_key_file (a rotation is counted once, whatever requests it serves).
    unsigned credential_rotations() const noexcept;

    /// @brief What the discovered metadata left worth a log line (a grant it does not
    /// list, requested all the same), once; then, and when there is none, empty. A
    /// token_manager logs it on its fetch's line.
    std::string take_notice();

    /// @brief True when a credential file changed since it was last read (the client
    /// secret's, the client key's, the client certificate's, an assertion_from_file()
    /// source's): a token_manager that backs off after a failure asks again at once.
    bool credentials_changed() const;

private:
    client_config cfg_;
    std::shared_ptr<transport> transport_;
    /// The request, checked and built once (again when the secret file changes);
    /// shared by copies of this client.
    std::shared_ptr<detail::request_source> source_;
    std::atomic<unsigned> nonce_retries_{0};
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/token_client_inl.hpp"
#endif
