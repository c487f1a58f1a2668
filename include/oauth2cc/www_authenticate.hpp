// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// www_authenticate.hpp: the challenges of a WWW-Authenticate header, and the Bearer
// error a resource server gives with a 401 or 403.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "http.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief One challenge of a WWW-Authenticate header (RFC 9110 §11.6.1).
struct auth_challenge {
    std::string scheme;   ///< As sent, e.g. "Bearer"; compare case-insensitively.
    std::string token68;  ///< The token68 form, when the challenge has one.
    /// Parameter names lower-cased (they are case-insensitive), values unquoted.
    std::vector<std::pair<std::string, std::string>> params;

    /// @brief The value of a parameter, by its lower-case name.
    std::optional<std::string> param(std::string_view name) const;
};

/// @brief The challenges of one WWW-Authenticate field value. Malformed parts end the
/// parse; what was read before them is kept. Never throws for any input.
/// @sa RFC 9110 §11.6.1
std::vector<auth_challenge> parse_www_authenticate(std::string_view value);

/// @brief What a resource server said in its challenge for an access token: a Bearer
/// challenge (RFC 6750 §3) or a DPoP one (RFC 9449 §7.1), which carry the same parameters.
struct token_challenge {
    std::string realm;              ///< The protection space, when given.
    std::string error;              ///< "invalid_token", "insufficient_scope", ... or empty.
    std::string error_description;  ///< Text for a developer, when given.
    std::string error_uri;          ///< A page about the error, when given.
    std::string scope;              ///< The scope the resource needs, when given.
    auth_challenge raw;             ///< Every parameter, as parsed.
};

/// @brief The first Bearer challenge of a response's WWW-Authenticate headers, if any.
/// @sa RFC 6750 §3
std::optional<token_challenge> find_bearer_challenge(const http_response& response);

/// @brief The first DPoP challenge of a response's WWW-Authenticate headers, if any: its
/// `error` is e.g. "invalid_token", "invalid_dpop_proof" or "use_dpop_nonce"; its
/// `algs` are in raw.
/// @sa RFC 9449 §7.1, §9
std::optional<token_challenge> find_dpop_challenge(const http_response& response);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/www_authenticate_inl.hpp"
#endif
