// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/client_assertion.hpp: the JWT a client authenticates with (RFC 7523 §2.2, §3;
// OpenID Connect Core §9), made afresh for every token request.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../../secret.hpp"
#include "../../signing_key.hpp"
#include "../crypto/jose.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"
#include "grant.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace oauth2cc::detail {

/// @brief `client_assertion_type` for a JWT (RFC 7523 §2.2).
inline constexpr const char* jwt_bearer_assertion_type =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// @brief True for the methods that send a `client_assertion`.
/// @brief Whether the method sends the client secret (itself, or as the HS256 key).
constexpr bool sends_secret(auth_method m) noexcept {
    return m == auth_method::client_secret_basic || m == auth_method::client_secret_post ||
           m == auth_method::client_secret_jwt;
}

constexpr bool sends_assertion(auth_method m) noexcept {
    return m == auth_method::client_secret_jwt || m == auth_method::private_key_jwt ||
           m == auth_method::client_assertion;
}

/// @brief Makes the assertion of one token request, from what a valid client_config
/// says: signed here (client_secret_jwt, private_key_jwt) or taken from the user's
/// source (client_assertion).
class assertion_maker {
public:
    explicit assertion_maker(const client_config& cfg)
        : method_(cfg.auth),
          client_id_(cfg.client_id),
          audience_(cfg.assertion_audience.empty() ? cfg.token_endpoint : cfg.assertion_audience),
          lifetime_(cfg.assertion_lifetime),
          key_(cfg.client_key),
          source_(cfg.client_assertion) {
        if (method_ == auth_method::client_secret_jwt) hmac_key_ = cfg.client_secret;
    }

    /// @brief A new assertion: a new `jti`, `iat` now. The caller wipes it once sent.
    /// @throws error `config` when it cannot be made (the source threw or gave nothing)
    std::string make() const {
        if (method_ == auth_method::client_assertion)
            return call_source(source_, "client_assertion");
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        nlohmann::json header(nlohmann::json::value_t::object);
        header["alg"] = method_ == auth_method::client_secret_jwt
                            ? "HS256"
                            : std::string(to_string(key_->alg()));
        header["typ"] = "JWT";
        if (method_ == auth_method::private_key_jwt && !key_->kid().empty()) {
            header["kid"] = key_->kid();
        }
        nlohmann::json claims(nlohmann::json::value_t::object);
        claims["iss"] = client_id_;
        claims["sub"] = client_id_;
        claims["aud"] = audience_;
        claims["jti"] = new_jti();
        claims["iat"] = now;
        claims["exp"] = now + lifetime_.count();
        std::string input = jws_signing_input(header, claims);
        const std::string signature = method_ == auth_method::client_secret_jwt
                                          ? hmac_sha256(hmac_key_.reveal(), input)
                                          : key_->sign(input);
        return jws_compact(std::move(input), signature);
    }

private:
    auth_method method_;
    std::string client_id_;
    std::string audience_;
    std::chrono::seconds lifetime_;
    std::optional<signing_key> key_;
    secret hmac_key_;
    std::function<std::string()> source_;
};

}  // namespace oauth2cc::detail
