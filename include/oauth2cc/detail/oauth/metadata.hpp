// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/metadata.hpp: the well-known URLs of an issuer, and its metadata document read
// and checked.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../server_metadata.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "cache_key.hpp"
#include "../text/json_bounded.hpp"
#include "../text/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace oauth2cc::detail {

/// @brief The metadata URLs of an issuer, in the order they are tried: RFC 8414 §3.1
/// (the well-known part between host and path, a terminating "/" of the path dropped),
/// then OpenID Connect Discovery §4 (appended). An issuer without a path has the one
/// RFC 8414 URL and the OpenID Connect URL.
inline std::vector<std::string> well_known_urls(const std::string& issuer) {
    const std::size_t scheme_end = issuer.find("://");
    const std::size_t path_at =
        scheme_end == std::string::npos ? std::string::npos : issuer.find('/', scheme_end + 3);
    const std::string authority = issuer.substr(0, path_at);
    std::string path = path_at == std::string::npos ? std::string() : issuer.substr(path_at);
    while (!path.empty() && path.back() == '/') path.pop_back();
    return {authority + "/.well-known/oauth-authorization-server" + path,
            authority + path + "/.well-known/openid-configuration"};
}

/// @brief Reads a metadata document.
/// @throws error `bad_response` for a document that is not a JSON object or has a
///         member of the wrong type; `config` when its issuer is not expected_issuer
/// @sa RFC 8414 §3.2, §3.3
inline authorization_server_metadata parse_metadata(const http_response& res,
                                                    const std::string& expected_issuer) {
    const auto bad = [&res](const std::string& why) {
        throw error(error_kind::bad_response, "the authorization server metadata " + why,
                    error_details{{}, {}, {}, res.status, {}});
    };
    json_notes notes;
    nlohmann::json doc = parse_json_bounded(res.body, notes);
    if (notes.too_deep) bad("nests JSON too deep");
    if (doc.is_discarded() || !doc.is_object()) bad("is not a JSON object");
    if (!notes.repeated.empty()) {
        bad("has the member \"" + excerpt(notes.repeated, 60) + "\" twice");
    }
    authorization_server_metadata m;
    const auto text = [&](const char* name, std::string& out) {
        const auto it = doc.find(name);
        if (it == doc.end() || it->is_null()) return;
        if (!it->is_string()) bad(std::string("member ") + name + " is not a string");
        out = it->get_ref<const std::string&>();
    };
    const auto list = [&](const char* name, std::vector<std::string>& out) {
        const auto it = doc.find(name);
        if (it == doc.end() || it->is_null()) return;
        if (!it->is_array()) bad(std::string("member ") + name + " is not an array");
        for (const auto& v : *it) {
            if (!v.is_string()) bad(std::string("member ") + name + " holds a non-string");
            out.push_back(v.get_ref<const std::string&>());
        }
    };
    text("issuer", m.issuer);
    if (m.issuer != expected_issuer) {
        throw error(error_kind::config, "the metadata's issuer \"" + excerpt(m.issuer, 200) +
                                            "\" is not the configured issuer \"" +
                                            excerpt(expected_issuer, 200) +
                                            "\" (RFC 8414 §3.3 wants them identical)");
    }
    text("token_endpoint", m.token_endpoint);
    text("introspection_endpoint", m.introspection_endpoint);
    text("revocation_endpoint", m.revocation_endpoint);
    text("jwks_uri", m.jwks_uri);
    list("token_endpoint_auth_methods_supported", m.token_endpoint_auth_methods_supported);
    // Absent, null or empty: the document names no method, and RFC 8414 §2's default,
    // client_secret_basic, is meant (an empty list would refuse every method).
    if (m.token_endpoint_auth_methods_supported.empty()) {
        m.token_endpoint_auth_methods_supported = {"client_secret_basic"};
    }
    list("token_endpoint_auth_signing_alg_values_supported",
         m.token_endpoint_auth_signing_alg_values_supported);
    list("dpop_signing_alg_values_supported", m.dpop_signing_alg_values_supported);
    list("grant_types_supported", m.grant_types_supported);
    list("scopes_supported", m.scopes_supported);
    if (const auto it = doc.find("mtls_endpoint_aliases"); it != doc.end() && !it->is_null()) {
        if (!it->is_object()) bad("member mtls_endpoint_aliases is not an object");
        for (auto alias = it->begin(); alias != it->end(); ++alias) {
            if (!alias->is_string()) bad("member mtls_endpoint_aliases holds a non-string");
            m.mtls_endpoint_aliases[alias.key()] = alias->get_ref<const std::string&>();
        }
    }
    m.document = std::move(doc);
    return m;
}

/// @brief Joins names for a message: "a, b, c".
inline std::string joined_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ", ";
        out += excerpt(n, 60);
    }
    return out.empty() ? "none" : out;
}

/// @brief Refuses a configuration the server says it does not take: an authentication
/// method it does not list, an assertion algorithm it does not list, or no token
/// endpoint. A grant it does not list is not refused: many servers under-list
/// grant_types_supported (or omit it, which RFC 8414 §2 reads as authorization_code and
/// implicit) and take client_credentials all the same; the server's own
/// `unsupported_grant_type` is the answer. The returned text says so, for a log line;
/// empty when there is nothing to say.
/// @throws error `config` naming what the server lists
inline std::string check_server_takes(const authorization_server_metadata& m,
                                      const client_config& cfg) {
    if (m.token_endpoint.empty()) {
        throw error(error_kind::config,
                    "the authorization server's metadata has no token_endpoint");
    }
    const auto listed = [](const std::vector<std::string>& names, const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    // An assertion issued elsewhere is, to the server, a private_key_jwt assertion.
    const std::string method(cfg.auth == auth_method::client_assertion
                                 ? std::string_view("private_key_jwt")
                                 : to_string(cfg.auth));
    if (!listed(m.token_endpoint_auth_methods_supported, method)) {
        throw error(error_kind::config, "the authorization server does not take " + method +
                                            " at its token endpoint; it lists " +
                                            joined_names(m.token_endpoint_auth_methods_supported));
    }
    // The grants a server lists (RFC 8414 §2) are advisory: a note, never a refusal.
    std::string note;
    const std::string grant = grant_type_value(cfg.grant);
    if (!m.grant_types_supported.empty() && !listed(m.grant_types_supported, grant)) {
        note = "the authorization server's metadata does not list the grant " + grant +
               " (it lists " + joined_names(m.grant_types_supported) +
               "); requesting it all the same";
    }
    // A server that lists its DPoP algorithms (RFC 9449 §5.1) refuses proofs by others.
    if (cfg.dpop_key && !m.dpop_signing_alg_values_supported.empty() &&
        !listed(m.dpop_signing_alg_values_supported, std::string(to_string(cfg.dpop_key->alg())))) {
        throw error(error_kind::config,
                    std::string("the authorization server does not take DPoP proofs signed with ") +
                        std::string(to_string(cfg.dpop_key->alg())) + "; it lists " +
                        joined_names(m.dpop_signing_alg_values_supported));
    }
    if (m.token_endpoint_auth_signing_alg_values_supported.empty()) return note;
    std::string alg;
    if (cfg.auth == auth_method::client_secret_jwt) alg = "HS256";
    if (cfg.auth == auth_method::private_key_jwt && cfg.client_key) {
        alg = std::string(to_string(cfg.client_key->alg()));
    }
    if (!alg.empty() && !listed(m.token_endpoint_auth_signing_alg_values_supported, alg)) {
        throw error(error_kind::config,
                    "the authorization server does not take " + alg + " assertions; it lists " +
                        joined_names(m.token_endpoint_auth_signing_alg_values_supported));
    }
    return note;
}

}  // namespace oauth2cc::detail
