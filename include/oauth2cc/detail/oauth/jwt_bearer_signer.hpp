// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/jwt_bearer_signer.hpp: what jwt_bearer_assertion() returns: a source that
// signs a new JWT bearer grant assertion (RFC 7523 §2.1, §3) for every call.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../signing_key.hpp"
#include "../crypto/jose.hpp"
#include "../text/text.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief The source jwt_bearer_assertion() makes: signs a new JWT for every call. What
/// its assertions claim is known without a call, so that a manager keys its token by it
/// (subject_key()).
class jwt_bearer_signer {
public:
    jwt_bearer_signer(signing_key key, std::string issuer, std::string subject,
                      std::string audience, std::chrono::seconds lifetime, nlohmann::json extra)
        : key_(std::move(key)),
          issuer_(std::move(issuer)),
          subject_(std::move(subject)),
          audience_(std::move(audience)),
          lifetime_(lifetime),
          extra_(std::move(extra)) {
        const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
        const auto check = [&fail](const std::string& value, const char* name) {
            if (value.empty()) fail(std::string("jwt_bearer_assertion: ") + name + " is empty");
            if (has_control(value)) {
                fail(std::string("jwt_bearer_assertion: ") + name + " has control characters");
            }
        };
        check(issuer_, "issuer");
        check(subject_, "subject");
        check(audience_, "audience");
        if (lifetime_.count() < 1 || lifetime_ > std::chrono::hours(1)) {
            fail("jwt_bearer_assertion: the lifetime must be from 1 second to 1 hour");
        }
        if (extra_.is_null()) extra_ = nlohmann::json::object();
        if (!extra_.is_object()) fail("jwt_bearer_assertion: extra_claims must be an object");
        for (const char* name : {"iss", "sub", "aud", "iat", "exp", "jti"}) {
            if (extra_.contains(name)) {
                fail(std::string("jwt_bearer_assertion: extra_claims must not set \"") + name +
                     "\": it has its own argument or is made for each assertion");
            }
        }
    }

    /// @brief A new assertion: `iat` now, a new `jti`. The caller wipes it once sent.
    std::string operator()() const {
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        nlohmann::json header(nlohmann::json::value_t::object);
        header["alg"] = std::string(to_string(key_.alg()));
        header["typ"] = "JWT";
        if (!key_.kid().empty()) header["kid"] = key_.kid();
        nlohmann::json claims = lasting_claims();
        claims["iat"] = now;
        claims["exp"] = now + lifetime_.count();
        claims["jti"] = new_jti();
        std::string input = jws_signing_input(header, claims);
        const std::string signature = key_.sign(input);
        return jws_compact(std::move(input), signature);
    }

    const std::string& issuer() const noexcept { return issuer_; }
    const std::string& subject() const noexcept { return subject_; }

    /// @brief The claims every assertion of this signer makes (all but iat, exp, jti).
    nlohmann::json lasting_claims() const {
        nlohmann::json claims = extra_;
        claims["iss"] = issuer_;
        claims["sub"] = subject_;
        claims["aud"] = audience_;
        return claims;
    }

    /// @brief The RFC 7638 thumbprint of the key that signs.
    std::string key_thumbprint() const { return key_.jwk_thumbprint(); }

private:
    signing_key key_;
    std::string issuer_;
    std::string subject_;
    std::string audience_;
    std::chrono::seconds lifetime_;
    nlohmann::json extra_;
};

}  // namespace oauth2cc::detail
