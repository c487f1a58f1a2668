// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/token_request.hpp: checks a client_config and builds its token request.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "cache_key.hpp"
#include "client_assertion.hpp"
#include "dpop.hpp"
#include "grant.hpp"
#include "../http/connection_check.hpp"
#include "../text/form.hpp"
#include "../text/limits.hpp"
#include "../text/redact.hpp"
#include "../text/text.hpp"
#include "../http/trace.hpp"
#include "../http/url.hpp"
#include "../text/wipe.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace oauth2cc::detail {

/// @brief The requested scopes, space-joined as RFC 6749 §3.3 wants.
inline std::string joined_scope(const client_config& cfg) {
    std::string scope;
    for (const auto& s : cfg.scopes) {
        if (!scope.empty()) scope.push_back(' ');
        scope += s;
    }
    return scope;
}

/// @brief Refuses an authentication method that lacks what it needs.
/// @throws error of kind `config`; the message names the field, never a secret
inline void validate_client_authentication(const client_config& cfg) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    switch (cfg.auth) {
        case auth_method::client_secret_basic:
        case auth_method::client_secret_post:
            // Sending no secret would only earn an invalid_client, one request later.
            if (cfg.client_secret.empty() && cfg.client_secret_file.empty()) {
                fail(std::string(to_string(cfg.auth)) +
                     " sends a client secret, and none is set: set client_secret_file "
                     "(OAUTH2_CLIENT_SECRET_FILE, oauth2cc-cli --client-secret-file) or "
                     "client_secret; a public client, which has none, uses "
                     "auth_method::none");
            }
            return;
        case auth_method::none:
            return;
        case auth_method::client_secret_jwt:
            // RFC 7518 §3.2: an HS256 key is at least as long as the hash, 32 bytes.
            if (cfg.client_secret.reveal().size() < 32) {
                fail(
                    "client_secret_jwt signs with HS256, which needs a client_secret of 32 "
                    "bytes or more (RFC 7518 §3.2); this one has " +
                    std::to_string(cfg.client_secret.reveal().size()));
            }
            break;
        case auth_method::private_key_jwt:
            if (!cfg.client_key) fail("private_key_jwt needs client_key");
            break;
        case auth_method::client_assertion:
            if (!cfg.client_assertion) {
                fail(
                    "auth_method::client_assertion needs the client_assertion function "
                    "(e.g. assertion_from_file(path))");
            }
            break;
        case auth_method::tls_client_auth:
        case auth_method::self_signed_tls_client_auth:
            if (!cfg.tls.has_client_certificate()) {
                fail(std::string(to_string(cfg.auth)) +
                     " authenticates with the TLS client certificate: set "
                     "tls.client_cert_file and tls.client_key_file (or the _pem fields)");
            }
            break;
    }
    if (cfg.assertion_lifetime.count() < 1 || cfg.assertion_lifetime > std::chrono::hours(1)) {
        fail("assertion_lifetime must be from 1 second to 1 hour");
    }
    if (!cfg.assertion_audience.empty() && has_control(cfg.assertion_audience)) {
        fail("assertion_audience contains control characters");
    }
}

/// @brief Refuses a configuration that cannot make a correct, safe token request.
/// @throws error of kind `config`; the message names the field, never a secret
inline url_parts validate_config(const client_config& cfg) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    auto url = parse_url(cfg.token_endpoint);
    if (!url) {
        // The text is not echoed: a refused URL may carry credentials ("user:pass@").
        fail("token_endpoint " + url_problem(cfg.token_endpoint) +
             " (an absolute http:// or https:// URL is wanted)");
    }
    check_plain_http(*url, cfg, "token_endpoint", "credentials");
    if (cfg.client_id.empty()) fail("client_id is empty");
    for (const auto& s : cfg.scopes) {
        if (!is_scope_token(s)) {
            fail("scope \"" + excerpt(s, 100) +
                 "\" is not an RFC 6749 §3.3 scope-token (printable ASCII, no space, '\"' "
                 "or '\\\\')");
        }
    }
    for (const auto& r : cfg.resources) {
        if (r.empty()) fail("a resource indicator is empty");
    }
    for (const auto& [name, value] : cfg.extra_params) {
        if (name.empty()) fail("an extra parameter has an empty name");
        if (has_control(name)) fail("an extra parameter's name has control characters");
        for (const char* reserved :
             {"grant_type", "client_id", "client_secret", "scope", "client_assertion",
              "client_assertion_type", "assertion", "subject_token", "subject_token_type",
              "actor_token", "actor_token_type", "requested_token_type"}) {
            if (name == reserved) {
                fail("extra parameter \"" + name + "\" is reserved: it has its own field");
            }
        }
    }
    validate_grant(cfg);
    validate_client_authentication(cfg);
    check_connection(cfg);
    return *url;
}

/// @brief The HTTP Basic header value for the client's credentials.
/// @sa RFC 6749 §2.3.1, RFC 7617
inline std::string basic_authorization(const client_config& cfg) {
    const std::string& id = cfg.client_id;
    const std::string& password = cfg.client_secret.reveal();
    // Built in place, in buffers sized up front: no copy of the secret is left in memory.
    std::string joined;
    if (cfg.basic_encoding == credential_encoding::form_urlencoded) {
        joined.reserve(percent_encoded_bound(id.size()) + 1 +
                       percent_encoded_bound(password.size()));
        percent_encode_append(joined, id, "+");
        joined.push_back(':');
        percent_encode_append(joined, password, "+");
    } else {
        joined.reserve(id.size() + 1 + password.size());
        joined.append(id).append(1, ':').append(password);
    }
    std::string header;
    header.reserve(6 + base64_size(joined.size()) + 1);
    header.append("Basic ");
    base64_append(header, joined);
    wipe(joined);
    return header;
}

/// @brief Adds the client's authentication to a request to the authorization server:
/// a Basic header, or client_id (and client_secret) in the form body.
/// @sa RFC 6749 §2.3.1
inline void append_client_authentication(http_request& req, const client_config& cfg) {
    switch (cfg.auth) {
        case auth_method::client_secret_basic:
            req.headers.emplace_back("Authorization", basic_authorization(cfg));
            break;
        case auth_method::client_secret_post:
            append_form_field(req.body, "client_id", cfg.client_id);
            append_form_field(req.body, "client_secret", cfg.client_secret.reveal());
            break;
        case auth_method::none:
        case auth_method::client_secret_jwt:
        case auth_method::private_key_jwt:
        case auth_method::client_assertion:
        case auth_method::tls_client_auth:
        case auth_method::self_signed_tls_client_auth:
            // The assertion methods add their assertion per request (see
            // with_assertion()); the TLS methods authenticate in the handshake.
            append_form_field(req.body, "client_id", cfg.client_id);
            break;
    }
}

/// @brief A copy of a prepared request with more fields in its body: the credentials made
/// for one send (a grant's tokens or assertion, a client assertion). The copy's body is
/// sized for them up front, so no copy of them is left behind.
/// @param fields the fields, which the caller wipes
inline http_request with_fields(const http_request& prepared, const name_value_list& fields) {
    http_request req;
    req.method = prepared.method;
    req.url = prepared.url;
    req.headers = prepared.headers;
    std::size_t size = prepared.body.size();
    for (const auto& [name, value] : fields) {
        size += 2 + percent_encoded_bound(name.size()) + percent_encoded_bound(value.size());
    }
    req.body.reserve(size);
    req.body = prepared.body;
    for (const auto& [name, value] : fields) append_form_field(req.body, name, value);
    return req;
}

/// @brief The head of a form POST the client makes to one of the server's endpoints
/// (token, introspection, revocation): method, URL, Content-Type, Accept, User-Agent. The
/// caller appends the form's fields, then append_client_authentication().
inline http_request form_post(const client_config& cfg, std::string url) {
    http_request req;
    req.method = "POST";
    req.url = std::move(url);
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
    if (!cfg.user_agent.empty()) req.headers.emplace_back("User-Agent", cfg.user_agent);
    return req;
}

/// @brief The token request for a valid configuration, but for the credentials each send
/// adds (a grant's tokens or assertion, a client assertion).
/// @sa RFC 6749 §4.4.2, §2.3.1, §3.3; RFC 8707 §2; RFC 8693 §2.1; RFC 7523 §2.1
inline http_request build_token_request(const client_config& cfg) {
    http_request req = form_post(cfg, cfg.token_endpoint);
    append_form_field(req.body, "grant_type", grant_type_value(cfg.grant));
    if (!cfg.requested_token_type.empty()) {
        append_form_field(req.body, "requested_token_type", cfg.requested_token_type);
    }
    if (!cfg.scopes.empty()) append_form_field(req.body, "scope", joined_scope(cfg));
    if (!cfg.audience.empty()) append_form_field(req.body, "audience", cfg.audience);
    for (const auto& r : cfg.resources) append_form_field(req.body, "resource", r);
    for (const auto& [name, value] : cfg.extra_params) append_form_field(req.body, name, value);

    append_client_authentication(req, cfg);
    return req;
}

/// @brief Every form in which the client secret travels, for keeping server-echoed
/// text free of it.
inline redactions credential_redactions(const client_config& cfg) {
    redactions hide;
    const std::string& raw = cfg.client_secret.reveal();
    if (!raw.empty()) {
        hide.add(raw);
        if (cfg.auth == auth_method::client_secret_basic) {
            std::string header = basic_authorization(cfg);
            hide.add(header.substr(6));  // after "Basic "
            wipe(header);
        }
    }
    return hide;
}

/// @brief Wipes the credentials a built request holds: its body and Authorization.
inline void wipe_credentials(http_request& req) noexcept {
    wipe(req.body);
    for (auto& [name, value] : req.headers) {
        if (iequals(name, "Authorization")) wipe(value);
    }
}

/// @brief Wipes the credentials a built token request holds once it has been sent.
class request_wiper {
public:
    explicit request_wiper(http_request& req) noexcept : req_(req) {}
    request_wiper(const request_wiper&) = delete;
    request_wiper& operator=(const request_wiper&) = delete;
    ~request_wiper() { wipe_credentials(req_); }

private:
    http_request& req_;
};

/// @brief A token request built once for a valid configuration, with what reading its
/// response needs: sent as it is by every fetch, so that a fetch neither checks the
/// configuration again nor encodes the credentials again. Wipes its credentials when
/// destroyed.
struct prepared_token_request {
    /// @param kept_nonces where the token endpoint's DPoP nonces are kept: shared by the
    ///        requests of one client, so that a request built later sends the nonce an
    ///        earlier one was given (null: this request's own)
    /// @throws error `config` when cfg is unusable
    explicit prepared_token_request(const client_config& cfg,
                                    std::shared_ptr<dpop_nonces> kept_nonces = nullptr)
        : request((validate_config(cfg), build_token_request(cfg))),
          hide(credential_redactions(cfg)),
          scope(joined_scope(cfg)),
          max_response_bytes(cfg.max_response_bytes),
          exchange(cfg.grant == grant_type::token_exchange),
          not_applicable(accepts_not_applicable(cfg)),
          traceparent(cfg.traceparent),
          trace(cfg.tracer),
          client_id(excerpt(cfg.client_id, 100)),
          server(server_of(cfg.token_endpoint)),
          grant_name(to_string(cfg.grant)) {
        if (cfg.grant != grant_type::client_credentials) grant.emplace(cfg);
        if (sends_assertion(cfg.auth)) assertion.emplace(cfg);
        if (cfg.dpop_key) {
            dpop.emplace(*cfg.dpop_key);
            nonces = kept_nonces ? std::move(kept_nonces) : std::make_shared<dpop_nonces>();
        }
    }
    prepared_token_request(const prepared_token_request&) = delete;
    prepared_token_request& operator=(const prepared_token_request&) = delete;
    ~prepared_token_request() { wipe_credentials(request); }

    http_request request;
    redactions hide;    ///< every form of the secret, kept out of error messages
    std::string scope;  ///< the scope asked for, the token's when the response has none
    std::size_t max_response_bytes;
    bool exchange;        ///< a token exchange: the response must name issued_token_type
    bool not_applicable;  ///< token_type `N_A` is accepted (accepts_not_applicable())
    /// Makes each request's grant credentials, for the grants beyond client credentials.
    std::optional<grant_maker> grant;
    /// Makes each request's assertion, for the methods that send one.
    std::optional<assertion_maker> assertion;
    /// Makes each request's DPoP proof, when client_config::dpop_key is set.
    std::optional<dpop_prover> dpop;
    /// The latest nonce the token endpoint gave for DPoP proofs (RFC 9449 §8); set with
    /// dpop.
    std::shared_ptr<dpop_nonces> nonces;
    std::function<std::string()> traceparent;  ///< client_config::traceparent
    std::shared_ptr<tracer> trace;             ///< client_config::tracer
    std::string client_id, server;             ///< for spans
    std::string_view grant_name;               ///< to_string(grant)

    /// @brief What a span of this request is about.
    span_start span(span_kind kind, unsigned attempt = 0) const {
        span_start what;
        what.kind = kind;
        what.client_id = client_id;
        what.server = server;
        what.grant = grant_name;
        if (kind == span_kind::http_attempt) {
            what.endpoint = "token";
            what.method = "POST";
            what.attempt = attempt;
        }
        return what;
    }
};

}  // namespace oauth2cc::detail
