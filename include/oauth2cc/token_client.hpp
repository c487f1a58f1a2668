// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// token_client.hpp: one client-credentials token request, no caching.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"
#include "error.hpp"
#include "token.hpp"
#include "transport.hpp"

namespace oauth2cc {

/// @brief Makes one client-credentials token request through the given transport.
/// @param cfg  what to ask for, where, and how to authenticate
/// @param via  the transport that carries the request
/// @returns the token of a valid RFC 6749 §5.1 response
/// @throws error `config` before any request when cfg is unusable; `transport` or `tls`
///         when no response arrives or the body is over max_response_bytes; `oauth`,
///         `http_status` or `bad_response` as the response says
/// @sa RFC 6749 §4.4
token request_token(const client_config& cfg, transport& via);

}  // namespace oauth2cc

#include "impl/token_client_inl.hpp"
