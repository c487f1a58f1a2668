// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/metrics_inl.hpp: the names of the metrics enums.
// SPDX-License-Identifier: MIT
#pragma once

#include "../metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(request_outcome outcome) noexcept {
    switch (outcome) {
        case request_outcome::success:
            return "success";
        case request_outcome::config:
            return "config";
        case request_outcome::transport:
            return "transport";
        case request_outcome::tls:
            return "tls";
        case request_outcome::http_status:
            return "http_status";
        case request_outcome::oauth:
            return "oauth";
        case request_outcome::bad_response:
            return "bad_response";
    }
    return "unknown";
}

OAUTH2CC_INLINE request_outcome outcome_of(error_kind kind) noexcept {
    switch (kind) {
        case error_kind::config:
            return request_outcome::config;
        case error_kind::transport:
            return request_outcome::transport;
        case error_kind::tls:
            return request_outcome::tls;
        case error_kind::http_status:
            return request_outcome::http_status;
        case error_kind::oauth:
            return request_outcome::oauth;
        case error_kind::bad_response:
            return request_outcome::bad_response;
    }
    return request_outcome::transport;
}

OAUTH2CC_INLINE std::string_view to_string(store_operation operation) noexcept {
    switch (operation) {
        case store_operation::load:
            return "load";
        case store_operation::save:
            return "save";
        case store_operation::remove:
            return "remove";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(store_result result) noexcept {
    switch (result) {
        case store_result::hit:
            return "hit";
        case store_result::miss:
            return "miss";
        case store_result::ok:
            return "ok";
        case store_result::failure:
            return "failure";
        case store_result::unavailable:
            return "unavailable";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(nonce_origin origin) noexcept {
    switch (origin) {
        case nonce_origin::token_endpoint:
            return "token_endpoint";
        case nonce_origin::resource_server:
            return "resource_server";
    }
    return "unknown";
}

}  // namespace oauth2cc
