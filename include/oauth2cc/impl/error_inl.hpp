// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/error_inl.hpp: the bodies of error.
// SPDX-License-Identifier: MIT
#pragma once

#include "../error.hpp"

#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(error_kind kind) noexcept {
    switch (kind) {
        case error_kind::config:
            return "config";
        case error_kind::transport:
            return "transport";
        case error_kind::tls:
            return "tls";
        case error_kind::http_status:
            return "http_status";
        case error_kind::oauth:
            return "oauth";
        case error_kind::bad_response:
            return "bad_response";
    }
    return "unknown";
}

OAUTH2CC_INLINE error::error(error_kind kind, const std::string& message, error_details details)
    : std::runtime_error("oauth2cc: " + std::string(to_string(kind)) + " error: " + message),
      kind_(kind),
      details_(std::move(details)) {}

}  // namespace oauth2cc
