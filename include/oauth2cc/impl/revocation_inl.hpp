// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/revocation_inl.hpp: the bodies of revoke().
// SPDX-License-Identifier: MIT
#pragma once

#include "../revocation.hpp"

#include "../detail/oauth/revocation.hpp"
#include "../detail/store/secret_file.hpp"
#include "../httplib_transport.hpp"

#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE void revoke(const client_config& cfg, const secret& token,
                            std::string_view token_type_hint, transport& via) {
    const client_config current = detail::with_current_credentials(cfg);
    const std::string endpoint = detail::revocation_endpoint_of(current, via);
    detail::revoke_at(current, endpoint, token, token_type_hint, via);
}

OAUTH2CC_INLINE void revoke(const client_config& cfg, const secret& token,
                            std::string_view token_type_hint) {
    httplib_transport via(cfg);
    revoke(cfg, token, token_type_hint, via);
}

}  // namespace oauth2cc
