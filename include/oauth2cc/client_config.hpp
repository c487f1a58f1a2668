// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// client_config.hpp: everything that says how to ask for a token.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "secret.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief How the client authenticates at the token endpoint.
/// @sa RFC 6749 §2.3.1, RFC 7591 §2 (the method names)
enum class auth_method {
    client_secret_basic,  ///< HTTP Basic with the form-encoded id and secret (the default).
    client_secret_post,   ///< `client_id` and `client_secret` in the request body.
    none,                 ///< A public client: `client_id` in the body, no secret.
};

/// @brief How the id and secret are encoded before they are joined for HTTP Basic.
enum class credential_encoding {
    /// RFC 6749 §2.3.1: each is form-encoded (application/x-www-form-urlencoded) first.
    form_urlencoded,
    /// Joined as they are, for servers that do not decode them (many PHP and Java
    /// servers). A client id with ':' is sent as it is, but a server that splits at the
    /// first ':' (RFC 7617 §2) then sees another id: use form_urlencoded or post.
    raw,
};

/// @brief TLS settings for the connection to the token endpoint.
struct tls_options {
    bool verify = true;            ///< Verify the certificate chain and the host name.
    std::string ca_file;           ///< PEM bundle of trusted CAs; empty: the system store.
    std::string ca_dir;            ///< Hashed directory of trusted CAs; empty: none.
    std::string client_cert_file;  ///< PEM client certificate for mutual TLS.
    std::string client_key_file;   ///< PEM key of the client certificate.
};

/// @brief Everything that shapes a token request.
/// @sa RFC 6749 §4.4.2
struct client_config {
    std::string token_endpoint;  ///< `https://...`; plain `http://` only to loopback or when allowed.
    std::string client_id;
    secret client_secret;
    auth_method auth = auth_method::client_secret_basic;
    credential_encoding basic_encoding = credential_encoding::form_urlencoded;
    std::vector<std::string> scopes;  ///< Each an RFC 6749 §3.3 scope-token; sent space-joined.
    std::string audience;             ///< Sent as `audience` when not empty.
    std::vector<std::string> resources;  ///< RFC 8707 `resource`, one parameter each.
    /// Further body parameters. `grant_type`, `client_id`, `client_secret` and `scope` are
    /// refused: they have their own fields.
    std::vector<std::pair<std::string, std::string>> extra_params;
    tls_options tls;
    std::chrono::milliseconds connect_timeout{OAUTH2CC_DEFAULT_CONNECT_TIMEOUT_MS};
    /// With connect_timeout, bounds the whole exchange, not only each socket read.
    std::chrono::milliseconds read_timeout{OAUTH2CC_DEFAULT_READ_TIMEOUT_MS};
    bool allow_insecure_http = false;  ///< Allow plain `http://` to hosts other than loopback.
    std::size_t max_response_bytes = OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES;
    std::string user_agent = "oauth2cc/" OAUTH2CC_VERSION_STRING;
    /// An HTTP proxy, `http://[user:password@]host[:port]` (port 1080 when absent);
    /// https:// endpoints are reached through it with CONNECT. Empty: none. Never
    /// echoed in a message, since it may hold credentials. proxy_from_environment()
    /// gives the one curl would use.
    std::string proxy;
};

}  // namespace oauth2cc
