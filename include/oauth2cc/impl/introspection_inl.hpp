// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/introspection_inl.hpp: the bodies of introspect().
// SPDX-License-Identifier: MIT
#pragma once

#include "../introspection.hpp"

#include "../detail/text/form.hpp"
#include "../detail/text/text.hpp"
#include "../detail/oauth/endpoint_call.hpp"
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
    const client_config target =
        detail::endpoint_client(detail::with_current_credentials(cfg), std::string(endpoint));
    if (access_token.empty()) throw error(error_kind::config, "the token to introspect is empty");
    // Made in place: an initializer list would leave a copy of the token behind, unwiped.
    name_value_list fields;
    fields.reserve(2);
    fields.emplace_back("token", access_token);
    const detail::wipe_at_exit fields_wiper{[&fields] { detail::wipe(fields.front().second); }};
    fields.emplace_back("token_type_hint", "access_token");
    detail::redactions hide = detail::credential_redactions(target);
    hide.add(std::string(access_token));
    const auto answer = detail::call_endpoint(target, fields, hide, via, "introspection", true);
    const auto& doc = answer.doc;
    const int status = answer.status;
    const auto bad = [&](const std::string& why) {
        throw error(error_kind::bad_response, why, error_details{{}, {}, {}, status, {}});
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
