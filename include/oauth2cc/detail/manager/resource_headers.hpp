// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/resource_headers.hpp: the headers of one resource request with a token (Bearer, or
// DPoP with a proof and the nonce the server gave last).
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../http.hpp"
#include "../../token.hpp"
#include "../oauth/dpop.hpp"
#include "manager_core.hpp"

#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief Refuses a token that is not an access token (token_type `N_A`, RFC 8693 §2.2.1).
/// @throws error `config`
inline void check_attachable(const token& tok) {
    if (tok.token_type == "N_A") {
        throw error(error_kind::config,
                    "the token is not an access token (token_type N_A, issued_token_type \"" +
                        excerpt(tok.issued_token_type, 100) +
                        "\"): it is never attached to a request; take it from get()");
    }
}

/// @brief The headers of one resource request with tok (see request_headers()).
inline name_value_list resource_headers(manager_core& s, const token& tok, std::string_view method,
                                        std::string_view url) {
    check_attachable(tok);
    name_value_list headers;
    if (tok.token_type != "DPoP") {
        headers.emplace_back("Authorization", "Bearer " + tok.access_token.reveal());
        return headers;
    }
    if (!s.dpop) {
        throw error(error_kind::config,
                    "the token is DPoP-bound but the client has no dpop_key to prove it");
    }
    // A fragment is neither sent (RFC 9110 §4.2.4) nor signed (RFC 9449 §4.2).
    url = url.substr(0, url.find('#'));
    const std::string origin = dpop_origin(url);
    if (origin.empty()) {
        throw error(error_kind::config,
                    "a DPoP proof needs the request's absolute http:// or https:// URL");
    }
    headers.emplace_back("Authorization", "DPoP " + tok.access_token.reveal());
    headers.emplace_back("DPoP", s.dpop->proof(method, url, s.resource_nonces.get(origin),
                                               tok.access_token.reveal()));
    return headers;
}

}  // namespace oauth2cc::detail
