// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// http.hpp: the plain HTTP request and response that transports carry.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief Name-value pairs: request headers, or query parameters.
using name_value_list = std::vector<std::pair<std::string, std::string>>;

/// @brief An HTTP request as oauth2cc hands it to a transport.
struct http_request {
    std::string method;  ///< "GET", "POST", ...
    std::string url;     ///< Absolute: scheme, host, optional port, path and query.
    std::vector<std::pair<std::string, std::string>> headers;  ///< Name-value, in order.
    std::string body;  ///< The body as sent; empty for none.
};

/// @brief An HTTP response as a transport hands it back.
struct http_response {
    int status = 0;                                            ///< The HTTP status code.
    std::vector<std::pair<std::string, std::string>> headers;  ///< Name-value, in order.
    std::string body;                                          ///< The body, decompressed.

    /// @brief The first header of that name, compared case-insensitively.
    std::optional<std::string> header(std::string_view name) const;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/http_inl.hpp"
#endif
