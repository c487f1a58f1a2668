// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// assertions.hpp: assertions as a workload identity platform issues them, for the
// workload client of oidc-provider (tests/peers/oidc-provider/server.mjs --key-dir).
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/detail/crypto/jose.hpp>
#include <oauth2cc/signing_key.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace oauth2cc_test {

/// @brief The wall clock in Unix seconds, for the claims of assertions.
inline std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// @brief An ES256 assertion signed with the `workload.pem` that the server wrote to
/// key_dir, as the platform's own key signs it: iss = sub = client_id, the given aud, a
/// new jti, and iat and exp in Unix seconds.
inline std::string workload_assertion(const std::string& key_dir, const std::string& client_id,
                                      const std::string& audience, std::int64_t iat,
                                      std::int64_t exp) {
    const auto issuer = oauth2cc::signing_key::from_pem_file(key_dir + "/workload.pem", "workload");
    nlohmann::json header = nlohmann::json::object();
    header["alg"] = "ES256";
    header["typ"] = "JWT";
    header["kid"] = "workload";
    nlohmann::json claims = nlohmann::json::object();
    claims["iss"] = client_id;
    claims["sub"] = client_id;
    claims["aud"] = audience;
    claims["jti"] = oauth2cc::detail::new_jti();
    claims["iat"] = iat;
    claims["exp"] = exp;
    const std::string input = oauth2cc::detail::jws_signing_input(header, claims);
    return oauth2cc::detail::jws_compact(input, issuer.sign(input));
}

}  // namespace oauth2cc_test
