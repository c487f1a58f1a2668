// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// introspection.hpp: asks an authorization server whether an access token is active and
// what it grants (RFC 7662), for resource servers written with oauth2cc.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"
#include "error.hpp"
#include "transport.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief What an introspection endpoint says of a token.
/// @sa RFC 7662 §2.2
struct introspection_result {
    bool active = false;              ///< Whether the token is active; nothing else counts if not.
    std::string scope;                ///< Space-separated, as sent.
    std::string client_id;            ///< The client the token was issued to.
    std::string username;             ///< The resource owner who authorized it, if any.
    std::string token_type;           ///< As the token response gave it.
    std::string sub;                  ///< The token's subject.
    std::string iss;                  ///< The token's issuer.
    std::optional<std::int64_t> exp;  ///< Seconds since the epoch.
    std::optional<std::int64_t> iat;  ///< Issued at, seconds since the epoch.
    std::optional<std::int64_t> nbf;  ///< Not before, seconds since the epoch.
    nlohmann::json raw;               ///< The whole response object, `aud` included.

    /// @brief True when the token is active and its scope holds this scope-token.
    bool has_scope(std::string_view scope_token) const;
};

/// @brief Introspects a token, authenticating as the client of cfg (its auth method,
/// credentials, TLS options and timeouts; cfg.token_endpoint is not used).
/// @param cfg          the resource server's own client configuration
/// @param endpoint     the introspection endpoint URL; the plain-http rule of cfg applies
/// @param access_token the token to ask about; it appears in no error message
/// @param via          the transport
/// @throws error `config`, `transport`, `tls`, `oauth`, `http_status` or `bad_response`,
///         as request_token does
/// @sa RFC 7662 §2.1
introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                std::string_view access_token, transport& via);

/// @brief As above, over a new httplib_transport.
introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                std::string_view access_token);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/introspection_inl.hpp"
#endif
