// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/httplib_transport_inl.hpp: the bodies of httplib_transport.
// SPDX-License-Identifier: MIT
#pragma once

#include "../httplib_transport.hpp"

#include "../detail/http/httplib_glue.hpp"

#include <memory>
#include <utility>

namespace oauth2cc {

struct httplib_transport::state {
    explicit state(connection_options opts) : sender(std::move(opts)) {}
    detail::httplib_sender sender;
};

OAUTH2CC_INLINE httplib_transport::httplib_transport(connection_options options)
    : state_(std::make_unique<state>(std::move(options))) {}

OAUTH2CC_INLINE httplib_transport::~httplib_transport() = default;

OAUTH2CC_INLINE http_response httplib_transport::send(const http_request& request) {
    return state_->sender.send(request);
}

OAUTH2CC_INLINE const connection_options& httplib_transport::options() const noexcept {
    return state_->sender.options();
}

}  // namespace oauth2cc
