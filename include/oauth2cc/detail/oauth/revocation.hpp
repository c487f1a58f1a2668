// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/revocation.hpp: the RFC 7009 revocation request: where it goes, how the
// client authenticates, and what its answer means.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../discovery.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "../../secret.hpp"
#include "../../transport.hpp"
#include "../http/trace.hpp"
#include "../text/form.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"
#include "endpoint_call.hpp"
#include "token_request.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief cfg.revocation_endpoint, else the one cfg.issuer's metadata names.
/// @throws error `config` when neither names one; as discover() does
inline std::string revocation_endpoint_of(const client_config& cfg, transport& via) {
    if (!cfg.revocation_endpoint.empty()) return cfg.revocation_endpoint;
    if (cfg.issuer.empty()) {
        throw error(error_kind::config,
                    "no revocation endpoint: set client_config::revocation_endpoint, or the "
                    "issuer whose metadata names it");
    }
    const authorization_server_metadata meta = discover(cfg, via);
    if (meta.revocation_endpoint.empty()) {
        throw error(error_kind::config, "the metadata of issuer " + excerpt(cfg.issuer, 200) +
                                            " names no revocation_endpoint (RFC 8414 §2)");
    }
    return meta.revocation_endpoint;
}

/// @brief Revokes token at endpoint, authenticating as cfg's client (whose secret is the
/// one to send: see with_current_credentials()). An assertion's audience is the token
/// endpoint, else the issuer, unless cfg names one.
/// @throws error as oauth2cc::revoke() does
inline void revoke_at(const client_config& cfg, const std::string& endpoint, const secret& token,
                      std::string_view token_type_hint, transport& via) {
    if (token.empty()) throw error(error_kind::config, "the token to revoke is empty");
    if (has_control(token_type_hint) || token_type_hint.find(' ') != std::string_view::npos) {
        throw error(error_kind::config, "token_type_hint has spaces or control characters");
    }
    const client_config target = endpoint_client(cfg, endpoint);
    // Made in place: an initializer list would leave a copy of the token behind, unwiped.
    name_value_list fields;
    fields.reserve(2);
    fields.emplace_back("token", token.reveal());
    const wipe_at_exit fields_wiper{[&fields] { wipe(fields.front().second); }};
    if (!token_type_hint.empty()) fields.emplace_back("token_type_hint", token_type_hint);
    redactions hide = credential_redactions(target);
    hide.add(token.reveal());
    // RFC 7009 §2.2: the status says it all; a 200's body, if any, means nothing.
    call_endpoint(target, fields, hide, via, "revocation", false);
}

}  // namespace oauth2cc::detail
