// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/proxy_inl.hpp: the body of proxy_from_environment().
// SPDX-License-Identifier: MIT
#pragma once

#include "../proxy.hpp"

#include "../detail/http/proxy.hpp"
#include "../detail/http/url.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

namespace oauth2cc {

OAUTH2CC_INLINE std::string proxy_from_environment(std::string_view url) {
    const auto variable = [](const char* name) -> std::string {
        const char* value = std::getenv(name);
        return value != nullptr ? std::string(detail::trim(value)) : std::string();
    };
    const auto first = [&](const char* a, const char* b) {
        std::string value = variable(a);
        return value.empty() && b != nullptr ? variable(b) : value;
    };
    const auto parts = detail::parse_url(url);
    if (!parts) return {};
    std::string proxy =
        parts->https ? first("https_proxy", "HTTPS_PROXY") : first("http_proxy", nullptr);
    if (proxy.empty()) proxy = first("all_proxy", "ALL_PROXY");
    if (proxy.empty()) return {};
    if (detail::no_proxy_matches(first("no_proxy", "NO_PROXY"), parts->host)) return {};
    return proxy;
}

}  // namespace oauth2cc
