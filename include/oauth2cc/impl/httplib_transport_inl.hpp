// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/httplib_transport_inl.hpp: the bodies of httplib_transport.
// SPDX-License-Identifier: MIT
#pragma once

#include "../httplib_transport.hpp"

#include "../detail/httplib_glue.hpp"

#include <memory>
#include <utility>

namespace oauth2cc {

struct httplib_transport::state {
    explicit state(const transport_options& opts)
        : options(opts),
          sender(detail::sender_options{opts.connect_timeout, opts.read_timeout,
                                        opts.max_response_bytes, opts.tls,
                                        opts.max_idle_connections, opts.proxy}) {}
    transport_options options;
    detail::httplib_sender sender;
};

OAUTH2CC_INLINE transport_options transport_options::from(const client_config& cfg) {
    transport_options options;
    options.connect_timeout = cfg.connect_timeout;
    options.read_timeout = cfg.read_timeout;
    options.max_response_bytes = cfg.max_response_bytes;
    options.tls = cfg.tls;
    options.proxy = cfg.proxy;
    return options;
}

OAUTH2CC_INLINE httplib_transport::httplib_transport(transport_options options)
    : state_(std::make_unique<state>(options)) {}

OAUTH2CC_INLINE httplib_transport::httplib_transport(const client_config& cfg)
    : httplib_transport(transport_options::from(cfg)) {}

OAUTH2CC_INLINE httplib_transport::~httplib_transport() = default;

OAUTH2CC_INLINE http_response httplib_transport::send(const http_request& request) {
    return state_->sender.send(request);
}

OAUTH2CC_INLINE const transport_options& httplib_transport::options() const noexcept {
    return state_->options;
}

}  // namespace oauth2cc
