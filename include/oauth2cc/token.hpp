// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// token.hpp: an access token and what the server said about it.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "secret.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace oauth2cc {

/// @brief An access token from a successful token response.
/// @sa RFC 6749 §5.1
struct token {
    secret access_token;  ///< The token itself; never in a message or a log line.
    /// "Bearer" (RFC 6750), or "DPoP" (RFC 9449) when client_config::dpop_key is set and
    /// the server bound the token to it, or "N_A" (RFC 8693 §2.2.1) for an exchanged token
    /// that is not an access token, when one was requested: such a token is never attached
    /// to a request. Other types are refused.
    std::string token_type;
    /// The type of the token issued, an RFC 8693 §3 identifier: required in the answer to a
    /// token exchange, kept from any grant whose server sends it, else empty.
    std::string issued_token_type;
    /// The granted scope: the server's `scope`, or the requested scope when it sent none.
    std::string scope;
    /// The lifetime the server gave; empty when it sent no `expires_in`.
    std::optional<std::chrono::seconds> expires_in;
    /// When the response arrived, on the clock that measures expiry.
    std::chrono::steady_clock::time_point obtained_at{};
    /// Every other member of the response, as the server sent it, but for the credentials
    /// a response may carry (`refresh_token`, `id_token`), which are wiped, never kept.
    nlohmann::json extra = nlohmann::json(nlohmann::json::value_t::object);

    /// @brief obtained_at + expires_in; empty when the lifetime is unknown.
    std::optional<std::chrono::steady_clock::time_point> expires_at() const {
        if (!expires_in) return std::nullopt;
        return obtained_at + *expires_in;
    }
};

}  // namespace oauth2cc
