// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// client_config.hpp: everything that says how to ask for a token.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "connection_options.hpp"
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

/// @brief Everything that shapes a token request: what to ask for, how to authenticate,
/// and (from connection_options) how to reach the token endpoint.
/// @sa RFC 6749 §4.4.2
struct client_config : connection_options {
    /// `https://...`; plain `http://` only to loopback or when allow_insecure_http is set.
    std::string token_endpoint;
    std::string client_id;  ///< The client's id at the authorization server.
    secret client_secret;   ///< Its secret; unused by auth_method::none.
    /// How the client authenticates.
    auth_method auth = auth_method::client_secret_basic;
    /// How client_secret_basic encodes the id and secret.
    credential_encoding basic_encoding = credential_encoding::form_urlencoded;
    std::vector<std::string> scopes;  ///< Each an RFC 6749 §3.3 scope-token; sent space-joined.
    std::string audience;  ///< Sent as `audience` when not empty.
    std::vector<std::string> resources;  ///< RFC 8707 `resource`, one parameter each.
    /// Further body parameters. `grant_type`, `client_id`, `client_secret` and `scope` are
    /// refused: they have their own fields.
    std::vector<std::pair<std::string, std::string>> extra_params;
};

}  // namespace oauth2cc
