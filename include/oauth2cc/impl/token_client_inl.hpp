// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_client_inl.hpp: the bodies of the token request functions.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_client.hpp"

#include "../detail/token_request.hpp"
#include "../detail/token_response.hpp"

#include <chrono>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE token request_token(const client_config& cfg, transport& via) {
    detail::validate_config(cfg);
    const http_request req = detail::build_token_request(cfg);
    const http_response res = via.send(req);
    const auto obtained_at = std::chrono::steady_clock::now();
    if (res.body.size() > cfg.max_response_bytes) {
        throw error(error_kind::transport,
                    "the token response body is over max_response_bytes (" +
                        std::to_string(cfg.max_response_bytes) + ")",
                    error_details{{}, {}, {}, res.status, {}});
    }
    return detail::parse_token_response(res, detail::joined_scope(cfg), obtained_at,
                                        std::chrono::system_clock::now());
}

}  // namespace oauth2cc
