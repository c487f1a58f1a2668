// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// error.hpp: the one exception type, with what went wrong and where.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief What kind of failure an error is; each calls for another remedy. Only `oauth`
/// and `http_status` mean that a server said so; a decision made here (a refused
/// configuration, a deadline, a backoff) is never an `oauth` error.
enum class error_kind {
    /// Unusable input, found before anything is sent or where nothing can be sent: the
    /// client_config, a key or certificate file, a URL or header, a token source. Retrying
    /// changes nothing; fix the configuration.
    config,
    /// No usable response: connection refused or reset, name not resolved, the deadline
    /// (connect_timeout + read_timeout) passed, or a store that cannot be reached. Worth
    /// retrying later.
    transport,
    /// The TLS handshake failed: certificate chain or host name not verified, a client
    /// certificate refused or unusable. Fix the trust or the certificate.
    tls,
    /// A non-2xx response that is not an OAuth error response (a 503, a proxy's 502); the
    /// status and a short, sanitised excerpt of the body come with it.
    http_status,
    /// An RFC 6749 §5.2 (or RFC 8693, RFC 9449) error response from the server: an `error`
    /// member, whatever the status; oauth_error() has its code.
    oauth,
    /// A response that arrived but is not what the protocol allows: a 2xx that is not a
    /// valid token response, a body over max_response_bytes, a Content-Encoding not asked
    /// for, HTML where JSON was due.
    bad_response,
};

/// @brief The kind's name, e.g. "oauth".
std::string_view to_string(error_kind kind) noexcept;

/// @brief The parts of a failure that came from the server, when it answered.
struct error_details {
    std::string oauth_error;        ///< RFC 6749 §5.2 `error`, e.g. "invalid_client".
    std::string error_description;  ///< §5.2 `error_description`, sanitised.
    std::string error_uri;          ///< §5.2 `error_uri`.
    int http_status = 0;            ///< The response status; 0 when there was none.
    std::optional<std::chrono::seconds> retry_after;  ///< From a `Retry-After` header.
};

/// @brief The exception oauth2cc throws. what() names the failure and never contains a
/// client secret, an access token, an `Authorization` header or a request body.
class error : public std::runtime_error {
public:
    /// @param kind    what kind of failure
    /// @param message a sentence for people; callers never put secrets in it
    /// @param details what the server said, if it answered
    error(error_kind kind, const std::string& message, error_details details = {});

    /// @brief What kind of failure this is.
    error_kind kind() const noexcept { return kind_; }
    /// @brief The RFC 6749 §5.2 error code, e.g. "invalid_scope"; empty when none.
    const std::string& oauth_error() const noexcept { return details_.oauth_error; }
    /// @brief The server's `error_description`, sanitised; empty when none.
    const std::string& error_description() const noexcept { return details_.error_description; }
    /// @brief The server's `error_uri`; empty when none.
    const std::string& error_uri() const noexcept { return details_.error_uri; }
    /// @brief The HTTP status of the response; 0 when no response arrived.
    int http_status() const noexcept { return details_.http_status; }
    /// @brief How long the server asked the client to wait (`Retry-After`), if it did.
    std::optional<std::chrono::seconds> retry_after() const noexcept {
        return details_.retry_after;
    }

private:
    error_kind kind_;
    error_details details_;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/error_inl.hpp"
#endif
