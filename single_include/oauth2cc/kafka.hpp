// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// kafka.hpp, beside the single header, of oauth2cc 0.2.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

#include "oauth2cc.hpp"

// ---- oauth2cc/kafka.hpp ----

#include <librdkafka/rdkafka.h>

#include <memory>
#include <optional>
#include <string>

namespace oauth2cc {

/// @brief What kafka_oauthbearer() hands librdkafka beside the token.
struct kafka_options {
    /// The entry whose token is sent (its audience, resource, scopes); unset: the
    /// config's own.
    std::optional<token_params> params;
    /// The claim of a JWT access token that names the Kafka principal. A token that is no
    /// JWT, or lacks the claim as a string, gives the client id instead.
    std::string principal_claim = "sub";
    /// SASL extensions sent with the token (RFC 7628 §3.1): keys of letters only, not
    /// `auth`; values of visible characters, spaces and tabs.
    name_value_list extensions;
};

/// @brief Makes conf authenticate with SASL/OAUTHBEARER and tokens' token: sets
/// `sasl.mechanisms=OAUTHBEARER` and installs the
/// token refresh callback, which hands librdkafka (rd_kafka_oauthbearer_set_token) the
/// token with its real lifetime (its expiry in milliseconds since the epoch; a token
/// without expires_in uses its JWT `exp`, else five minutes), the principal (see
/// kafka_options::principal_claim) and the extensions. A token that cannot be had calls
/// rd_kafka_oauthbearer_set_token_failure with the library's message (no secret, no
/// token); librdkafka logs it, tries again later, and fails what waits for a broker.
///
/// It starts the manager's background refresh (token_manager::start_background_refresh),
/// so that each token is renewed at its refresh point, whoever asks. librdkafka asks again
/// at 80% of the lifetime (on a one-second timer): the manager's own lead still decides
/// when a token request goes out, and librdkafka is handed the token the manager holds;
/// one that lives less than a second more (its renewal failed) is replaced first. Set the
/// security protocol yourself (`security.protocol=SASL_SSL`), and leave
/// `sasl.oauthbearer.method` at `default` (librdkafka's own OIDC client is `oidc`). `sasl.oauthbearer.config`
/// holds this binding's name from now on: leave it. As for any refresh callback,
/// librdkafka calls it from rd_kafka_poll() (a producer polls; so does flush()), or on its
/// background thread after rd_kafka_conf_enable_sasl_queue(conf, 1) and, once the client
/// is made, rd_kafka_sasl_background_callbacks_enable(rk).
///
/// The binding (and tokens) lives as long as the process: a configuration may be
/// duplicated and used by any number of clients.
/// @throws error `config` for a null conf or manager, an empty principal_claim, a bad
///         extension, or a librdkafka built without SASL/OAUTHBEARER; `transport` when the
///         refresher thread cannot be started
void kafka_oauthbearer(rd_kafka_conf_t* conf, std::shared_ptr<token_manager> tokens,
                       kafka_options options = {});

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
// ---- oauth2cc/impl/kafka_inl.hpp ----

// ---- oauth2cc/detail/adapters/kafka.hpp ----

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

#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE void kafka_oauthbearer(rd_kafka_conf_t* conf, std::shared_ptr<token_manager> tokens,
                                       kafka_options options) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    if (conf == nullptr) fail("kafka_oauthbearer: the rd_kafka_conf_t is null");
    if (!tokens) fail("kafka_oauthbearer: the token_manager is null");
    detail::kafka_check(options);
    tokens->start_background_refresh();
    auto& registry = detail::kafka_registry::instance();
    std::string name;
    {
        const std::lock_guard<std::mutex> lock(registry.mutex);
        name = "oauth2cc-" + std::to_string(++registry.next);
    }
    char why[512] = {0};
    for (const auto& [key, value] :
         {std::pair<const char*, const char*>{"sasl.mechanisms", "OAUTHBEARER"},
          {"sasl.oauthbearer.config", name.c_str()}}) {
        if (rd_kafka_conf_set(conf, key, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
            fail("kafka_oauthbearer: librdkafka refused " + std::string(key) + "=" + value + ": " +
                 why + " (a librdkafka built with SASL/OAUTHBEARER is needed)");
        }
    }
    {
        const std::lock_guard<std::mutex> lock(registry.mutex);
        registry.bindings[name] = std::make_shared<const detail::kafka_binding>(
            detail::kafka_binding{std::move(tokens), std::move(options)});
    }
    rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, &detail::kafka_refresh);
}

}  // namespace oauth2cc
#endif  // OAUTH2CC_WITH_BODIES
