// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/introspection_inl.hpp: the bodies of introspect().
// SPDX-License-Identifier: MIT
#pragma once

#include "../introspection.hpp"

#include "../detail/text/form.hpp"
#include "../detail/text/text.hpp"
#include "../detail/oauth/token_request.hpp"
#include "../detail/oauth/token_response.hpp"
#include "../detail/http/trace.hpp"
#include "../detail/store/secret_file.hpp"
#include "../httplib_transport.hpp"

#include <chrono>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE bool introspection_result::has_scope(std::string_view scope_token) const {
    if (!active || scope_token.empty()) return false;
    std::string_view rest = scope;
    while (!rest.empty()) {
        const std::size_t space = rest.find(' ');
        if (rest.substr(0, space) == scope_token) return true;
        if (space == std::string_view::npos) break;
        rest.remove_prefix(space + 1);
    }
    return false;
}

OAUTH2CC_INLINE introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                                std::string_view access_token, transport& via) {
    client_config target = detail::with_current_credentials(cfg);
    target.token_endpoint = std::string(endpoint);
    target.scopes.clear();
    target.resources.clear();
    target.audience.clear();
    target.extra_params.clear();
    detail::validate_config(target);
    if (access_token.empty()) throw error(error_kind::config, "the token to introspect is empty");

    http_request req = detail::form_post(target, target.token_endpoint);
    detail::append_form_field(req.body, "token", access_token);
    detail::append_form_field(req.body, "token_type_hint", "access_token");
    detail::append_client_authentication(req, target);
    detail::add_traceparent(req, target.traceparent);

    const std::string client_id = detail::excerpt(target.client_id, 100);
    const std::string server = detail::server_of(endpoint);
    span_start what;
    what.client_id = client_id;
    what.server = server;
    what.endpoint = "introspection";
    what.method = "POST";
    detail::span_scope span(target.tracer, what);
    http_response res;
    {
        const detail::request_wiper wiper(req);
        res = via.send(req);
    }
    span.answered(res.status);
    if (res.body.size() > target.max_response_bytes) {
        throw error(error_kind::bad_response,
                    "the introspection response body is over max_response_bytes (" +
                        std::to_string(target.max_response_bytes) + ")",
                    error_details{{}, {}, {}, res.status, {}});
    }
    detail::redactions hide = detail::credential_redactions(target);
    hide.add(std::string(access_token));
    const auto doc = detail::response_document(res);
    try {
        detail::throw_for_error_response(res, doc, hide, std::chrono::system_clock::now(),
                                         "the introspection endpoint");
    } catch (const error& e) {
        span.failed(e);
        throw;
    }
    const auto bad = [&](const std::string& why) {
        throw error(error_kind::bad_response, why, error_details{{}, {}, {}, res.status, {}});
    };
    if (!doc || !doc->is_object()) bad("the introspection response is not a JSON object");
    const auto active = doc->find("active");
    if (active == doc->end() || !active->is_boolean()) {
        bad("the introspection response has no boolean \"active\" (RFC 7662 §2.2)");
    }
    introspection_result out;
    out.active = active->get<bool>();
    const auto text = [&](const char* name, std::string& into) {
        const auto it = doc->find(name);
        if (it != doc->end() && it->is_string()) into = it->get<std::string>();
    };
    const auto number = [&](const char* name, std::optional<std::int64_t>& into) {
        const auto it = doc->find(name);
        if (it != doc->end() && it->is_number_integer()) into = it->get<std::int64_t>();
    };
    text("scope", out.scope);
    text("client_id", out.client_id);
    text("username", out.username);
    text("token_type", out.token_type);
    text("sub", out.sub);
    text("iss", out.iss);
    number("exp", out.exp);
    number("iat", out.iat);
    number("nbf", out.nbf);
    out.raw = *doc;
    return out;
}

OAUTH2CC_INLINE introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                                std::string_view access_token) {
    httplib_transport via(cfg);
    return introspect(cfg, endpoint, access_token, via);
}

}  // namespace oauth2cc
