// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/discovery_inl.hpp: the bodies of discover().
// SPDX-License-Identifier: MIT
#pragma once

#include "../discovery.hpp"

#include "../detail/http/connection_check.hpp"
#include "../detail/oauth/metadata.hpp"
#include "../detail/http/url.hpp"
#include "../httplib_transport.hpp"
#include "../detail/oauth/issuer_check.hpp"

#include <optional>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE authorization_server_metadata discover(const client_config& cfg, transport& via) {
    detail::check_issuer(cfg);
    std::optional<error> last;
    for (const std::string& url : detail::well_known_urls(cfg.issuer)) {
        http_request req;
        req.method = "GET";
        req.url = url;
        req.headers = {{"Accept", "application/json"}};
        if (!cfg.user_agent.empty()) req.headers.emplace_back("User-Agent", cfg.user_agent);
        const http_response res = via.send(req);
        if (res.body.size() > cfg.max_response_bytes) {
            throw error(
                error_kind::bad_response,
                "the metadata at " + detail::excerpt(url, 200) + " is over max_response_bytes",
                error_details{{}, {}, {}, res.status, {}});
        }
        if (res.status != 200) {
            last = error(error_kind::http_status,
                         "the metadata URL " + detail::excerpt(url, 200) + " answered HTTP " +
                             std::to_string(res.status),
                         error_details{{}, {}, {}, res.status, {}});
            continue;
        }
        try {
            return detail::parse_metadata(res, cfg.issuer);
        } catch (const error& e) {
            // An issuer mismatch ends discovery; a page that is not metadata (an HTML
            // page at the first URL) lets the next URL be tried.
            if (e.kind() == error_kind::config) throw;
            last = e;
        }
    }
    throw *last;
}

OAUTH2CC_INLINE authorization_server_metadata discover(const client_config& cfg) {
    detail::check_issuer(cfg);
    httplib_transport via(cfg);
    return discover(cfg, via);
}

}  // namespace oauth2cc
