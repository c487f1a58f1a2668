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
#include "../detail/store/request_source.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE token request_token(const client_config& cfg, transport& via) {
    detail::request_source source(cfg);
    return detail::send_with_renewal(source, via);
}

OAUTH2CC_INLINE token request_token(const client_config& cfg) {
    detail::request_source source(cfg);
    httplib_transport via(cfg);
    return detail::send_with_renewal(source, via);
}

OAUTH2CC_INLINE token_client::token_client(client_config cfg, std::shared_ptr<transport> via)
    : cfg_(std::move(cfg)),
      transport_(std::move(via)),
      source_(std::make_shared<detail::request_source>(cfg_)) {
    if (!transport_) transport_ = std::make_shared<httplib_transport>(cfg_);
}

OAUTH2CC_INLINE token token_client::fetch() {
    return detail::send_with_renewal(*source_, *transport_, &nonce_retries_);
}

OAUTH2CC_INLINE unsigned token_client::credential_rotations() const noexcept {
    return source_->rotations();
}

OAUTH2CC_INLINE std::string token_client::take_notice() { return source_->take_note(); }

OAUTH2CC_INLINE bool token_client::credentials_changed() const {
    return source_->credentials_changed();
}

}  // namespace oauth2cc
