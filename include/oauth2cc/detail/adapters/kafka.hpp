// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/adapters/kafka.hpp: the Kafka adapter's bindings, the token's principal and
// lifetime, and librdkafka's refresh callback.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../kafka.hpp"

#include "../crypto/jose.hpp"
#include "../text/text.hpp"
#include "../../error.hpp"

#include <nlohmann/json.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

struct kafka_binding {
    std::shared_ptr<token_manager> tokens;
    kafka_options options;
};

// The bindings by name: librdkafka's refresh callback receives `sasl.oauthbearer.config`
// and the configuration's opaque, which is the application's. Never destroyed, so that a
// client that outlives main() still finds its binding.
struct kafka_registry {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const kafka_binding>> bindings;
    std::uint64_t next = 0;

    static kafka_registry& instance() {
        static auto* registry = new kafka_registry();
        return *registry;
    }
};

// A JWT's claims; null when the token is no JWT.
inline nlohmann::json jwt_claims(std::string_view jwt) {
    const auto first = jwt.find('.');
    const auto second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
    if (second == std::string_view::npos) return nullptr;
    const auto payload = base64url_decode(jwt.substr(first + 1, second - first - 1));
    if (!payload) return nullptr;
    auto claims = nlohmann::json::parse(*payload, nullptr, false);
    return claims.is_object() ? claims : nlohmann::json();
}

// The claim of a JWT as a string; empty when the token is no JWT or the claim no string.
inline std::string jwt_string_claim(std::string_view jwt, const std::string& claim) {
    const auto claims = jwt_claims(jwt);
    const auto it = claims.is_object() ? claims.find(claim) : claims.end();
    return claims.is_object() && it != claims.end() && it->is_string() ? it->get<std::string>()
                                                                       : std::string();
}

// The token's expiry in milliseconds since the epoch: its expires_in, else its JWT exp,
// else five minutes from now.
inline std::int64_t kafka_lifetime_ms(const token& tok) {
    using namespace std::chrono;
    const auto wall_now = duration_cast<milliseconds>(system_clock::now().time_since_epoch());
    if (const auto at = tok.expires_at()) {
        return (wall_now + duration_cast<milliseconds>(*at - steady_clock::now())).count();
    }
    const auto claims = jwt_claims(tok.access_token.reveal());
    if (claims.is_object() && claims.contains("exp") && claims["exp"].is_number_integer()) {
        return claims["exp"].get<std::int64_t>() * 1000;
    }
    return (wall_now + minutes(5)).count();
}

inline void kafka_refresh(rd_kafka_t* rk, const char* name, void* /*opaque*/) {
    std::shared_ptr<const kafka_binding> binding;
    {
        auto& registry = kafka_registry::instance();
        const std::lock_guard<std::mutex> lock(registry.mutex);
        const auto it = registry.bindings.find(name != nullptr ? name : "");
        if (it != registry.bindings.end()) binding = it->second;
    }
    if (!binding) {
        rd_kafka_oauthbearer_set_token_failure(
            rk,
            "oauth2cc: sasl.oauthbearer.config names no binding of kafka_oauthbearer(); "
            "leave that setting as kafka_oauthbearer() set it");
        return;
    }
    try {
        const auto& o = binding->options;
        auto& tokens = *binding->tokens;
        auto tok = o.params ? tokens.get(*o.params) : tokens.get();
        // librdkafka refuses a token it sees as expired, and asks again only when its timer
        // next ticks: a token about to expire (its refresh failed) is replaced now.
        const auto at = tok->expires_at();
        if (at && *at - std::chrono::steady_clock::now() < std::chrono::seconds(1)) {
            o.params ? tokens.invalidate(*o.params, tok.get()) : tokens.invalidate(tok.get());
            tok = o.params ? tokens.get(*o.params) : tokens.get();
        }
        std::string principal = jwt_string_claim(tok->access_token.reveal(), o.principal_claim);
        if (principal.empty()) principal = tokens.config().client_id;
        std::vector<const char*> extensions;
        for (const auto& [key, value] : o.extensions) {
            extensions.push_back(key.c_str());
            extensions.push_back(value.c_str());
        }
        char why[512] = {0};
        if (rd_kafka_oauthbearer_set_token(rk, tok->access_token.reveal().c_str(),
                                           kafka_lifetime_ms(*tok), principal.c_str(),
                                           extensions.data(), extensions.size(), why,
                                           sizeof why) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            // librdkafka's reason names arguments, never the token's value.
            rd_kafka_oauthbearer_set_token_failure(
                rk, ("oauth2cc: librdkafka refused the token: " + std::string(why)).c_str());
        }
    } catch (const std::exception& e) {
        rd_kafka_oauthbearer_set_token_failure(rk, e.what());
    }
}

inline void kafka_check(const kafka_options& o) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    if (o.principal_claim.empty()) fail("kafka_options::principal_claim is empty");
    for (const auto& [key, value] : o.extensions) {
        bool letters = !key.empty();
        for (const char c : key)
            letters = letters && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
        if (!letters) {
            fail("the SASL extension key \"" + excerpt(key, 60) +
                 "\" must be letters only (RFC 7628 §3.1)");
        }
        if (key == "auth") fail("the SASL extension key \"auth\" is reserved (RFC 7628 §3.1)");
        for (const char c : value) {
            if (is_control(c) && c != '\t' && c != '\r' && c != '\n') {
                fail("the value of SASL extension \"" + key + "\" holds a control character");
            }
        }
    }
}

}  // namespace oauth2cc::detail
