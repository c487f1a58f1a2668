// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// revocation.hpp: tells the authorization server that a token is no longer needed
// (RFC 7009), so that it stops being good before it expires.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"
#include "error.hpp"
#include "secret.hpp"
#include "transport.hpp"

#include <string_view>

namespace oauth2cc {

/// @brief Revokes a token (RFC 7009 §2.1), authenticating as the client of cfg as a token
/// request does (every auth method; a client_secret_file is read as for tokens). The
/// endpoint is cfg.revocation_endpoint, else the `revocation_endpoint` of cfg.issuer's
/// metadata. A token the server does not know, or that has expired, is revoked already:
/// the server says 200 (RFC 7009 §2.2) and so this returns.
/// @param token            the token; it appears in no error message
/// @param token_type_hint  sent as `token_type_hint` when not empty
/// @throws error `config` when there is no endpoint, the token is empty or the hint is not
///         a plain word; `oauth` for the server's error (`unsupported_token_type`,
///         `invalid_client`, ...); `transport`, `tls` or `http_status` as request_token does
/// @sa RFC 7009 §2
void revoke(const client_config& cfg, const secret& token,
            std::string_view token_type_hint = "access_token");

/// @brief As above, through the given transport.
void revoke(const client_config& cfg, const secret& token, std::string_view token_type_hint,
            transport& via);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/revocation_inl.hpp"
#endif
