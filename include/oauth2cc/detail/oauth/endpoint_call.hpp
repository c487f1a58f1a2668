// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/endpoint_call.hpp: a request to one of the server's endpoints beside the
// token endpoint (introspection, revocation): the client authenticated as for its token
// requests, an assertion for the assertion methods, one span, the answer checked.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "../../transport.hpp"
#include "../http/trace.hpp"
#include "../text/form.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"
#include "client_assertion.hpp"
#include "token_request.hpp"
#include "token_response.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief cfg as the client of endpoint: no token parameters and no grant, the assertions'
/// audience the token endpoint (else the issuer) unless cfg names one; checked.
/// @throws error `config` as validate_config() does
inline client_config endpoint_client(const client_config& cfg, std::string endpoint) {
    client_config target = cfg;
    if (target.assertion_audience.empty()) {
        target.assertion_audience = !cfg.token_endpoint.empty() ? cfg.token_endpoint : cfg.issuer;
    }
    target.token_endpoint = std::move(endpoint);
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
    return target;
}

/// @brief What call_endpoint() returns.
struct endpoint_answer {
    int status = 0;                     ///< a 2xx
    std::optional<nlohmann::json> doc;  ///< the body, when asked for and readable
};

/// @brief POSTs fields to target.token_endpoint (made by endpoint_client()) as target's
/// client: a Basic header, the secret in the body, or a new client assertion (RFC 7523
/// §2.2), as its method wants. `name` names the endpoint ("introspection"), for the span
/// and the messages. hide holds credential_redactions(target) and what fields carry; the
/// assertion made is added.
/// @returns the answer's status, and its document (none when read_body is false, or the
///          body is neither JSON nor a form)
/// @throws error as throw_for_error_response() does for an error answer; `bad_response`
///         for a body over max_response_bytes; the transport's errors
inline endpoint_answer call_endpoint(const client_config& target, const name_value_list& fields,
                                     redactions& hide, transport& via, const std::string& name,
                                     bool read_body) {
    http_request req = form_post(target, target.token_endpoint);
    const request_wiper wiper(req);
    for (const auto& [field, value] : fields) append_form_field(req.body, field, value);
    append_client_authentication(req, target);
    if (sends_assertion(target.auth)) {
        std::string assertion = assertion_maker(target).make();
        const wipe_at_exit assertion_wiper{[&assertion] { wipe(assertion); }};
        hide.add(assertion);
        append_form_field(req.body, "client_assertion_type", jwt_bearer_assertion_type);
        append_form_field(req.body, "client_assertion", assertion);
    }
    add_traceparent(req, target.traceparent);
    const std::string client_id = excerpt(target.client_id, 100);
    const std::string server = server_of(target.token_endpoint);
    span_start what;
    what.client_id = client_id;
    what.server = server;
    what.endpoint = name;
    what.method = "POST";
    span_scope span(target.tracer, what);
    try {
        http_response res = via.send(req);
        const wipe_at_exit body_wiper{[&res] { wipe(res.body); }};
        span.answered(res.status);
        if (res.body.size() > target.max_response_bytes) {
            throw error(error_kind::bad_response,
                        "the " + name + " response body is over max_response_bytes (" +
                            std::to_string(target.max_response_bytes) + ")",
                        error_details{{}, {}, {}, res.status, {}});
        }
        const bool success = res.status >= 200 && res.status <= 299;
        std::optional<nlohmann::json> doc;
        if (read_body || !success) doc = response_document(res);
        throw_for_error_response(res, doc, hide, std::chrono::system_clock::now(),
                                 "the " + name + " endpoint");
        return endpoint_answer{res.status, std::move(doc)};
    } catch (const error& e) {
        span.failed(e);
        throw;
    }
}

}  // namespace oauth2cc::detail
