// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// discovery.hpp: an authorization server's metadata, from its issuer URL.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"
#include "server_metadata.hpp"
#include "transport.hpp"

namespace oauth2cc {

/// @brief Reads cfg.issuer's metadata: the RFC 8414 well-known URL first
/// (`/.well-known/oauth-authorization-server` inserted before the issuer's path), then
/// OpenID Connect's (`/.well-known/openid-configuration` appended). The connection
/// rules of token requests apply (plain http only to loopback, TLS, timeouts, size cap).
/// @throws error `config` when cfg.issuer is not an https URL without query and
///         fragment, or the document's `issuer` is not cfg.issuer exactly (RFC 8414
///         §3.3); `transport`, `tls`, `http_status` or `bad_response` when neither URL
///         gives a metadata document
authorization_server_metadata discover(const client_config& cfg);

/// @brief discover(cfg) through the given transport.
authorization_server_metadata discover(const client_config& cfg, transport& via);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/discovery_inl.hpp"
#endif
