// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/http_inl.hpp: the bodies of http_response.
// SPDX-License-Identifier: MIT
#pragma once

#include "../http.hpp"

#include "../detail/text/text.hpp"

namespace oauth2cc {

OAUTH2CC_INLINE std::optional<std::string> http_response::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (detail::iequals(key, name)) return value;
    }
    return std::nullopt;
}

}  // namespace oauth2cc
