// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// server_metadata.hpp: what an authorization server publishes about itself (discover()
// reads it).
// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace oauth2cc {

/// @brief What an authorization server publishes about itself. Absent members are empty.
/// @sa RFC 8414 §2, OpenID Connect Discovery 1.0 §3, RFC 8705 §5, RFC 9449 §5.1
struct authorization_server_metadata {
    std::string issuer;                  ///< Equal to the issuer asked for, byte for byte.
    std::string token_endpoint;          ///< Where token requests go.
    std::string introspection_endpoint;  ///< RFC 7662.
    std::string revocation_endpoint;     ///< RFC 7009.
    std::string jwks_uri;                ///< The server's signing keys.
    /// The client authentication methods its token endpoint takes. RFC 8414 §2: when the
    /// document names none, client_secret_basic is meant, and that is what this holds.
    std::vector<std::string> token_endpoint_auth_methods_supported;
    /// The JWS algorithms it takes for client_secret_jwt and private_key_jwt assertions.
    std::vector<std::string> token_endpoint_auth_signing_alg_values_supported;
    std::vector<std::string> dpop_signing_alg_values_supported;  ///< RFC 9449 §5.1.
    std::vector<std::string> grant_types_supported;  ///< Empty when the document names none.
    std::vector<std::string> scopes_supported;       ///< Empty when the document names none.
    /// RFC 8705 §5: the endpoints to use with a client certificate, by name.
    std::map<std::string, std::string> mtls_endpoint_aliases;
    nlohmann::json document;  ///< The whole document, for members not named here.
};

}  // namespace oauth2cc
