// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/www_authenticate_inl.hpp: the bodies of the WWW-Authenticate parser.
// SPDX-License-Identifier: MIT
#pragma once

#include "../www_authenticate.hpp"

#include "../detail/text/text.hpp"
#include "../detail/http/challenges.hpp"

#include <cstddef>

namespace oauth2cc {

OAUTH2CC_INLINE std::optional<std::string> auth_challenge::param(std::string_view name) const {
    for (const auto& [k, v] : params) {
        if (detail::iequals(k, name)) return v;
    }
    return std::nullopt;
}

OAUTH2CC_INLINE std::vector<auth_challenge> parse_www_authenticate(std::string_view value) {
    return detail::challenge_reader(value.substr(0, 16384)).read_all();
}

OAUTH2CC_INLINE std::optional<token_challenge> find_bearer_challenge(
    const http_response& response) {
    return detail::find_challenge(response, "Bearer");
}

OAUTH2CC_INLINE std::optional<token_challenge> find_dpop_challenge(const http_response& response) {
    return detail::find_challenge(response, "DPoP");
}

}  // namespace oauth2cc
