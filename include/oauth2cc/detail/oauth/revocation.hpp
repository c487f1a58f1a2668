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
#include "client_assertion.hpp"
#include "token_request.hpp"
#include "token_response.hpp"

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
    client_config target = cfg;
    if (target.assertion_audience.empty()) {
        target.assertion_audience = !cfg.token_endpoint.empty() ? cfg.token_endpoint : cfg.issuer;
    }
    target.token_endpoint = endpoint;
    target.scopes.clear();
    target.resources.clear();
    target.audience.clear();
    target.extra_params.clear();
    target.grant = grant_type::client_credentials;  // the grant's sources are not needed
    target.subject_token = nullptr;
    target.actor_token = nullptr;
    target.actor_token_type.clear();
    target.requested_token_type.clear();
    target.grant_assertion = nullptr;
    validate_config(target);

    http_request req = form_post(target, endpoint);
    const request_wiper wiper(req);
    append_form_field(req.body, "token", token.reveal());
    if (!token_type_hint.empty()) append_form_field(req.body, "token_type_hint", token_type_hint);
    append_client_authentication(req, target);
    redactions hide = credential_redactions(target);
    hide.add(token.reveal());
    if (sends_assertion(target.auth)) {
        std::string assertion = assertion_maker(target).make();
        const wipe_at_exit assertion_wiper{[&assertion] { wipe(assertion); }};
        hide.add(assertion);
        append_form_field(req.body, "client_assertion_type", jwt_bearer_assertion_type);
        append_form_field(req.body, "client_assertion", assertion);
    }
    add_traceparent(req, target.traceparent);
    const std::string client_id = excerpt(target.client_id, 100);
    const std::string server = server_of(endpoint);
    span_start what;
    what.client_id = client_id;
    what.server = server;
    what.endpoint = "revocation";
    what.method = "POST";
    span_scope span(target.tracer, what);
    http_response res = via.send(req);
    const wipe_at_exit body_wiper{[&res] { wipe(res.body); }};
    span.answered(res.status);
    if (res.body.size() > target.max_response_bytes) {
        throw error(error_kind::bad_response,
                    "the revocation response body is over max_response_bytes (" +
                        std::to_string(target.max_response_bytes) + ")",
                    error_details{{}, {}, {}, res.status, {}});
    }
    // RFC 7009 §2.2: the status says it all; a 200's body, if any, means nothing.
    const auto doc = res.status >= 200 && res.status <= 299 ? std::nullopt : response_document(res);
    try {
        throw_for_error_response(res, doc, hide, std::chrono::system_clock::now(),
                                 "the revocation endpoint");
    } catch (const error& e) {
        span.failed(e);
        throw;
    }
}

}  // namespace oauth2cc::detail
