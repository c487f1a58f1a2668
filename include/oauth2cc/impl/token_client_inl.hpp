// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_client_inl.hpp: the bodies of the token request functions.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_client.hpp"

#include "../detail/oauth/token_request.hpp"
#include "../discovery.hpp"
#include "../detail/oauth/token_response.hpp"
#include "../httplib_transport.hpp"
#include "../detail/oauth/token_send.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE token request_token(const client_config& cfg, transport& via) {
    if (detail::discovers_endpoint(cfg)) {
        detail::validate_before_discovery(cfg);
        const detail::prepared_token_request prepared(
            detail::discovered_token_request::resolved(cfg, via));
        return detail::send_token_request(prepared, via);
    }
    const detail::prepared_token_request prepared(cfg);
    return detail::send_token_request(prepared, via);
}

OAUTH2CC_INLINE token request_token(const client_config& cfg) {
    if (detail::discovers_endpoint(cfg)) {
        detail::validate_before_discovery(cfg);
    } else {
        detail::validate_config(cfg);
    }
    httplib_transport via(cfg);
    return request_token(cfg, via);
}

OAUTH2CC_INLINE token_client::token_client(client_config cfg, std::shared_ptr<transport> via)
    : cfg_(std::move(cfg)), transport_(std::move(via)) {
    if (detail::discovers_endpoint(cfg_)) {
        detail::validate_before_discovery(cfg_);
        discovered_ = std::make_shared<detail::discovered_token_request>();
    } else {
        prepared_ = std::make_shared<const detail::prepared_token_request>(cfg_);
    }
    if (!transport_) transport_ = std::make_shared<httplib_transport>(cfg_);
}

OAUTH2CC_INLINE token token_client::fetch() {
    if (prepared_) return detail::send_token_request(*prepared_, *transport_, &nonce_retries_);
    const auto prepared = discovered_->get(cfg_, *transport_);
    return detail::send_token_request(*prepared, *transport_, &nonce_retries_);
}

}  // namespace oauth2cc
