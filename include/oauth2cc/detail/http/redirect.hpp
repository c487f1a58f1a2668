// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/redirect.hpp: where a redirect points, and which ones authorized_client follows.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../http.hpp"
#include "../text/text.hpp"
#include "url.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief Where a redirect's Location points, resolved against the URL it came from.
/// Absolute http(s) URLs, scheme-relative "//host/..." and paths; empty for anything else.
inline std::optional<std::string> resolve_location(std::string_view from_url, const url_parts& from,
                                                   std::string_view location) {
    location = trim(location);
    if (location.empty() || has_control(location)) return std::nullopt;
    if (parse_url(location)) return std::string(location);
    const std::string scheme = from.https ? "https:" : "http:";
    if (location.size() > 1 && location[0] == '/' && location[1] == '/') {
        const std::string absolute = scheme + std::string(location);
        if (parse_url(absolute)) return absolute;
        return std::nullopt;
    }
    // The scheme and authority as the URL wrote them.
    const std::size_t authority = from_url.find("://") + 3;
    const std::string origin(from_url.substr(0, from_url.find_first_of("/?", authority)));
    if (location[0] == '/') return origin + std::string(location);
    // A relative reference: against the directory of the current path.
    std::string base = from.path.substr(0, from.path.find('?'));
    base = base.substr(0, base.rfind('/') + 1);
    return origin + base + std::string(location);
}

inline bool is_followable_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace oauth2cc::detail
