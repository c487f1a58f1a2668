// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/connection_check.hpp: the one check of connection_options, for the token request,
// the transport and authorized_client alike, and the plain-http rule.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../connection_options.hpp"
#include "../../error.hpp"
#include "../text/limits.hpp"
#include "proxy.hpp"
#include "../text/text.hpp"
#include "url.hpp"

#include <string>

namespace oauth2cc::detail {

/// @brief Refuses connection options that no request could be made with.
/// @throws error of kind `config`; the message names the field, never its value where it
///         may hold a credential (the proxy URL)
inline void check_connection(const connection_options& o) {
    const auto fail = [](const char* why) { throw error(error_kind::config, why); };
    if (!timeouts_in_range(o.connect_timeout, o.read_timeout)) {
        fail("connect_timeout and read_timeout must be positive and at most a day each");
    }
    if (o.max_response_bytes == 0) fail("max_response_bytes must be positive");
    if (has_control(o.user_agent)) fail("user_agent contains control characters");
    if (o.tls.client_cert_file.empty() != o.tls.client_key_file.empty()) {
        fail("tls.client_cert_file and tls.client_key_file go together");
    }
    if (o.tls.client_cert_pem.empty() != o.tls.client_key_pem.empty()) {
        fail("tls.client_cert_pem and tls.client_key_pem go together");
    }
    if (!o.tls.client_cert_file.empty() && !o.tls.client_cert_pem.empty()) {
        fail("set the client certificate once: tls.client_cert_file or tls.client_cert_pem");
    }
    if (!o.proxy.empty() && !parse_proxy(o.proxy)) {
        fail(
            "the proxy is not an http://[user:password@]host[:port] URL (cpp-httplib "
            "speaks plain HTTP to a proxy)");
    }
}

/// @brief Refuses plain http:// to a host that is not loopback, unless allowed.
/// @param field   the option that holds the URL, for the message
/// @param exposed what would cross the network in clear, for the message
inline void check_plain_http(const url_parts& url, const connection_options& o, const char* field,
                             const char* exposed) {
    if (url.https || o.allow_insecure_http || is_loopback_host(url.host)) return;
    throw error(error_kind::config, std::string(field) + " uses plain http:// to " +
                                        excerpt(url.host, 100) +
                                        ", which is not loopback: " + exposed +
                                        " would cross the network in clear; use https:// or set "
                                        "allow_insecure_http");
}

}  // namespace oauth2cc::detail
