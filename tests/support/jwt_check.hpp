// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// jwt_check.hpp: JWTs taken apart, and their signatures verified by OpenSSL from the
// public JWK alone, as a server verifies them: by the example resource server's own
// checks (examples/resource_server/proof_check.hpp), so the tests hold them to account.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../examples/resource_server/proof_check.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace oauth2cc_test {

using oauth2cc_examples::pkey_ptr;

inline std::string base64url_decode(const std::string& in) {
    std::string out;
    REQUIRE(oauth2cc_examples::base64url_decode(in, out));
    return out;
}

using jwt_parts = oauth2cc_examples::compact_jws;

inline jwt_parts split_jwt(const std::string& jwt) {
    jwt_parts p;
    REQUIRE(oauth2cc_examples::parse_compact_jws(jwt, p));
    return p;
}

// A public key built from nothing but a JWK, as a server builds it from `jwks`.
inline pkey_ptr public_key_from_jwk(const nlohmann::json& jwk) {
    pkey_ptr key = oauth2cc_examples::public_key_from_jwk(jwk);
    REQUIRE(key != nullptr);
    return key;
}

// Verifies a JWS signature with OpenSSL, from the JWK and the `alg` alone.
inline bool verifies(const nlohmann::json& jwk, const std::string& alg, const std::string& input,
                     const std::string& signature) {
    public_key_from_jwk(jwk);  // a JWK that is no public key fails the test, not just the check
    return oauth2cc_examples::verify_jws(jwk, alg, input, signature);
}

}  // namespace oauth2cc_test
