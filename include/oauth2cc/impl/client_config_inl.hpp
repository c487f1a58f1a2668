// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/client_config_inl.hpp: the body of assertion_from_file.
// SPDX-License-Identifier: MIT
#pragma once

#include "../client_config.hpp"

#include "../detail/text/limits.hpp"
#include "../detail/store/private_files.hpp"
#include "../detail/text/text.hpp"
#include "../detail/text/wipe.hpp"
#include "../error.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE token_params params_of(const client_config& cfg) {
    return token_params{cfg.scopes, cfg.audience, cfg.resources, cfg.extra_params};
}

OAUTH2CC_INLINE bool operator==(const token_params& a, const token_params& b) {
    // The same strings as many times each, in any order.
    const auto same_multiset = [](const std::vector<std::string>& x,
                                  const std::vector<std::string>& y) {
        if (x.size() != y.size()) return false;
        for (const auto& v : x) {
            if (std::count(x.begin(), x.end(), v) != std::count(y.begin(), y.end(), v)) {
                return false;
            }
        }
        return true;
    };
    return a.audience == b.audience && a.extra_params == b.extra_params &&
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

OAUTH2CC_INLINE std::function<std::string()> assertion_from_file(std::string path) {
    return [path = std::move(path)]() -> std::string {
        std::string text = detail::read_credential_file(path, detail::max_credential_file_bytes,
                                                        "the client assertion file");
        // Trimmed in place: erase() moves bytes within the one buffer, which the caller
        // wipes with the assertion.
        std::size_t end = text.size();
        while (end > 0 && detail::is_space(text[end - 1])) --end;
        std::size_t begin = 0;
        while (begin < end && detail::is_space(text[begin])) ++begin;
        text.resize(end);
        text.erase(0, begin);
        if (text.empty()) {
            throw error(error_kind::config, "the client assertion file \"" +
                                                detail::excerpt(path, 200) + "\" is empty");
        }
        return text;
    };
}

}  // namespace oauth2cc
