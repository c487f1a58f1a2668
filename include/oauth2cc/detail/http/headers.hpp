// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/headers.hpp: which request headers a caller may set, and which may cross origins.
// SPDX-License-Identifier: MIT
#pragma once

#include "../text/text.hpp"

#include <string_view>

namespace oauth2cc::detail {

/// @brief Headers that frame a message or steer its connection. The transport writes
/// them itself; one from the caller could send the request to another virtual host or
/// desynchronise a kept-alive connection (RFC 9112 §6, §9.6; RFC 9110 §7.2, §7.6.1).
inline bool is_framing_header(std::string_view name) noexcept {
    for (std::string_view framing :
         {"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade",
          "TE", "Trailer", "Proxy-Connection", "Expect"}) {
        if (iequals(name, framing)) return true;
    }
    return false;
}

/// @brief Caller headers that a redirect may carry to another origin: those that say
/// what the client accepts or sends, none that could be a credential. Every other header
/// (Cookie, Proxy-Authorization, X-Api-Key, whatever a caller named) stays behind, as the
/// token does (the Fetch standard and RFC 9110 §15.4 leave this to the client; curl and
/// browsers drop credentials the same way).
inline bool crosses_origins(std::string_view name) noexcept {
    for (std::string_view safe : {"Accept", "Accept-Language", "Accept-Encoding", "Content-Type",
                                  "Content-Language", "User-Agent", "Cache-Control", "Pragma"}) {
        if (iequals(name, safe)) return true;
    }
    return false;
}

}  // namespace oauth2cc::detail
