// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/cache_key.hpp: one string for everything that shapes a token, and no secret.
// SPDX-License-Identifier: MIT
#pragma once

#include "../client_config.hpp"
#include "client_assertion.hpp"
#include "form.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

inline const char* auth_method_name(auth_method m) noexcept {
    switch (m) {
        case auth_method::client_secret_basic: return "client_secret_basic";
        case auth_method::client_secret_post: return "client_secret_post";
        case auth_method::none: return "none";
        case auth_method::client_secret_jwt: return "client_secret_jwt";
        case auth_method::private_key_jwt: return "private_key_jwt";
        case auth_method::client_assertion: return "client_assertion";
    }
    return "unknown";
}

/// @brief A canonical text of what shapes a token: endpoint, client id, authentication
/// method, scopes and resources as sets, audience, and extra parameters sorted; for the
/// assertion methods the assertions' audience, for private_key_jwt the key's RFC 7638
/// thumbprint, and the DPoP key's thumbprint. Two configurations that would get
/// interchangeable tokens have the same key. The secret, timeouts, TLS and the user agent
/// are not part of it.
inline std::string cache_key(const client_config& cfg) {
    auto as_set = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return v;
    };
    auto extras = cfg.extra_params;
    std::sort(extras.begin(), extras.end());
    // Form encoding is one-to-one and encodes '&' and '=', so distinct configurations
    // cannot meet on one key, whatever bytes their fields hold.
    std::string key = "oauth2cc-cache-key=1";
    const auto field = [&key](const char* name, const std::string& value) {
        key += '&';
        key += name;
        key += '=';
        key += form_encode(value);
    };
    field("token_endpoint", cfg.token_endpoint);
    if (cfg.token_endpoint.empty()) field("issuer", cfg.issuer);
    field("client_id", cfg.client_id);
    field("auth", auth_method_name(cfg.auth));
    for (const auto& s : as_set(cfg.scopes)) field("scope", s);
    field("audience", cfg.audience);
    if (cfg.auth == auth_method::private_key_jwt && cfg.client_key) {
        // The key's thumbprint, never the key: another key is another client credential.
        field("client_key", cfg.client_key->jwk_thumbprint());
    }
    if (cfg.dpop_key) {
        // A DPoP-bound token is good only with the key it is bound to.
        field("dpop_key", cfg.dpop_key->jwk_thumbprint());
    }
    if (sends_assertion(cfg.auth)) {
        field("assertion_audience", cfg.assertion_audience);
    }
    for (const auto& r : as_set(cfg.resources)) field("resource", r);
    for (const auto& [name, value] : extras) field("extra", form_encode(name) + "=" + form_encode(value));
    return key;
}

}  // namespace oauth2cc::detail
