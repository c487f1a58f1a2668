// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/issuer_check.hpp: the rules an issuer URL must meet before discovery asks it.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../http/connection_check.hpp"
#include "../http/url.hpp"

#include <string>

namespace oauth2cc::detail {

// Refuses an issuer that discovery cannot use.
inline void check_issuer(const client_config& cfg) {
    const auto url = parse_url(cfg.issuer);
    if (!url) {
        throw error(error_kind::config, "issuer " + url_problem(cfg.issuer) +
                                            " (an absolute https:// URL is wanted, RFC 8414 §2)");
    }
    if (cfg.issuer.find('?') != std::string::npos) {
        throw error(error_kind::config,
                    "issuer has a query (?...): an issuer has none (RFC 8414 §2)");
    }
    check_plain_http(*url, cfg, "issuer", "the metadata request");
    check_connection(cfg);
}

}  // namespace oauth2cc::detail
