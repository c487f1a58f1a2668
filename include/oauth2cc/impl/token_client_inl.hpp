// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_client_inl.hpp: the bodies of the token request functions.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_client.hpp"

#include "../detail/token_request.hpp"
#include "../detail/token_response.hpp"
#include "../httplib_transport.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE token request_token(const client_config& cfg, transport& via) {
    detail::validate_config(cfg);
    http_request req = detail::build_token_request(cfg);
    http_response res;
    const detail::wipe_at_exit body_wiper{[&res] { detail::wipe(res.body); }};
    {
        const detail::request_wiper wiper(req);
        res = via.send(req);
    }
    const auto obtained_at = std::chrono::steady_clock::now();
    if (res.body.size() > cfg.max_response_bytes) {
        throw error(error_kind::bad_response,
                    "the token response body is over max_response_bytes (" +
                        std::to_string(cfg.max_response_bytes) + ")",
                    error_details{{}, {}, {}, res.status, {}});
    }
    const detail::redactions hide = detail::credential_redactions(cfg);
    return detail::parse_token_response(res, detail::joined_scope(cfg), obtained_at,
                                        std::chrono::system_clock::now(), hide);
}

OAUTH2CC_INLINE token request_token(const client_config& cfg) {
    detail::validate_config(cfg);
    httplib_transport via(cfg);
    return request_token(cfg, via);
}

OAUTH2CC_INLINE token_client::token_client(client_config cfg, std::shared_ptr<transport> via)
    : cfg_(std::move(cfg)), transport_(std::move(via)) {
    detail::validate_config(cfg_);
    if (!transport_) transport_ = std::make_shared<httplib_transport>(cfg_);
}

OAUTH2CC_INLINE token token_client::fetch() { return request_token(cfg_, *transport_); }

}  // namespace oauth2cc
