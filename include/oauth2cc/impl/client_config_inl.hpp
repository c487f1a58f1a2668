// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/client_config_inl.hpp: the bodies of token_params' comparison, the names of methods
// and grants, and the credential sources (assertion_from_file, jwt_bearer_assertion).
// SPDX-License-Identifier: MIT
#pragma once

#include "../client_config.hpp"

#include "../detail/text/limits.hpp"
#include "../detail/store/private_files.hpp"
#include "../detail/text/text.hpp"
#include "../detail/text/wipe.hpp"
#include "../detail/oauth/jwt_bearer_signer.hpp"
#include "../error.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace oauth2cc::detail {

OAUTH2CC_INLINE std::string file_credential::operator()() const {
    struct stat now {};
    const bool known = ::stat(path.c_str(), &now) == 0;
    const std::lock_guard<std::mutex> lock(state->mutex);
    // A FIFO or a shell's <(...) is read once: a second read would wait for a writer.
    if (state->read &&
        ((known && same_file_version(now, state->seen)) || !S_ISREG(state->seen.st_mode))) {
        return state->text.reveal();
    }
    state->read = false;
    state->text = secret(read_trimmed_credential(path));
    if (known) {
        state->seen = now;
        state->read = true;
    }
    return state->text.reveal();
}

}  // namespace oauth2cc::detail

namespace oauth2cc {

OAUTH2CC_INLINE token_params params_of(const client_config& cfg) {
    return token_params{cfg.scopes, cfg.audience, cfg.resources, cfg.extra_params};
}

OAUTH2CC_INLINE bool operator==(const token_params& a, const token_params& b) {
    // The same values as many times each, in any order.
    const auto same_multiset = [](const auto& x, const auto& y) {
        if (x.size() != y.size()) return false;
        for (const auto& v : x) {
            if (std::count(x.begin(), x.end(), v) != std::count(y.begin(), y.end(), v)) {
                return false;
            }
        }
        return true;
    };
    return a.audience == b.audience && same_multiset(a.extra_params, b.extra_params) &&
           same_multiset(a.scopes, b.scopes) && same_multiset(a.resources, b.resources);
}

OAUTH2CC_INLINE bool operator!=(const token_params& a, const token_params& b) { return !(a == b); }

OAUTH2CC_INLINE std::string_view to_string(auth_method method) noexcept {
    switch (method) {
        case auth_method::client_secret_basic:
            return "client_secret_basic";
        case auth_method::client_secret_post:
            return "client_secret_post";
        case auth_method::none:
            return "none";
        case auth_method::client_secret_jwt:
            return "client_secret_jwt";
        case auth_method::private_key_jwt:
            return "private_key_jwt";
        case auth_method::client_assertion:
            return "client_assertion";
        case auth_method::tls_client_auth:
            return "tls_client_auth";
        case auth_method::self_signed_tls_client_auth:
            return "self_signed_tls_client_auth";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(grant_type grant) noexcept {
    switch (grant) {
        case grant_type::client_credentials:
            return "client_credentials";
        case grant_type::token_exchange:
            return "token_exchange";
        case grant_type::jwt_bearer:
            return "jwt_bearer";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::function<std::string()> jwt_bearer_assertion(
    signing_key key, std::string issuer, std::string subject, std::string audience,
    std::chrono::seconds lifetime, nlohmann::json extra_claims) {
    return detail::jwt_bearer_signer(std::move(key), std::move(issuer), std::move(subject),
                                     std::move(audience), lifetime, std::move(extra_claims));
}

OAUTH2CC_INLINE std::function<std::string()> assertion_from_file(std::string path) {
    return detail::file_credential{std::move(path), std::make_shared<detail::file_source_state>()};
}

}  // namespace oauth2cc
