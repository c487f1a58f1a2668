// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/tracing_inl.hpp: the bodies of the tracing names.
// SPDX-License-Identifier: MIT
#pragma once

#include "../tracing.hpp"

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(span_kind kind) noexcept {
    return kind == span_kind::token_acquisition ? "oauth2cc.token" : "oauth2cc.http";
}

OAUTH2CC_INLINE std::string_view to_string(cache_outcome outcome) noexcept {
    switch (outcome) {
        case cache_outcome::hit:
            return "hit";
        case cache_outcome::wait:
            return "wait";
        case cache_outcome::miss:
            break;
    }
    return "miss";
}

}  // namespace oauth2cc
