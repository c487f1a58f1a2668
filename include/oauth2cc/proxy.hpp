// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// proxy.hpp: the HTTP proxy for a URL, from the environment variables curl reads.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"

#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief The proxy that curl would use for url, from the environment; empty for none.
///
/// For https:// URLs `https_proxy`, else `HTTPS_PROXY`; for http:// URLs `http_proxy`
/// only (curl ignores `HTTP_PROXY` in upper case: a CGI program receives it from a
/// request's Proxy header); then `all_proxy`, else `ALL_PROXY`. `no_proxy`, else
/// `NO_PROXY`, exempts hosts: `*` all of them; each comma-separated entry a host and the
/// hosts under it (`example.com` and `.example.com` both cover `api.example.com`), an IP
/// address, or a range such as `10.0.0.0/8`. Put what it returns in
/// connection_options::proxy (of a client_config, client_options or transport).
/// @param url the URL a request goes to
std::string proxy_from_environment(std::string_view url);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/proxy_inl.hpp"
#endif
