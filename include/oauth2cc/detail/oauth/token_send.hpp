// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/token_send.hpp: how a prepared token request is sent: a new assertion and DPoP proof
// for each send, one retry for a server's nonce, and the endpoint found by discovery.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../discovery.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "../../token.hpp"
#include "../../transport.hpp"
#include "../text/wipe.hpp"
#include "issuer_check.hpp"
#include "metadata.hpp"
#include "token_request.hpp"
#include "token_response.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace oauth2cc::detail {

// What a 404 or 405 from the token endpoint means: the URL is not the token endpoint.
inline std::string not_a_token_endpoint(const std::string& url, const http_response& res) {
    return "the token endpoint " + excerpt(url, 200) + " answered HTTP " +
           std::to_string(res.status) +
           (res.status == 404 ? " (no such page)" : " (no POST there)") +
           ": it is not the token endpoint. Check the token URL (token_endpoint, "
           "OAUTH2_TOKEN_URL, oauth2cc-cli --token-url), or give the server's issuer instead "
           "(issuer, OAUTH2_ISSUER, --issuer) and discovery finds the endpoint";
}

// Sends a prepared token request once and reads its response. A grant beyond client
// credentials and the assertion methods send a copy with the credentials made for this
// send (a subject token, an assertion), kept out of error messages like the secret; with
// a DPoP key the copy carries a new proof with nonce (none when empty), and a nonce the
// response gives is kept. The copy carries the traceparent too, and the attempt is a span
// (a child of parent, numbered attempt).
inline token send_token_request_once(const prepared_token_request& prepared, transport& via,
                                     const std::string& nonce = {}, trace_span* parent = nullptr,
                                     unsigned attempt = 0) {
    span_scope span(prepared.trace, prepared.span(span_kind::http_attempt, attempt), parent);
    http_response res;
    const wipe_at_exit body_wiper{[&res] { wipe(res.body); }};
    std::optional<http_request> copy;
    std::optional<redactions> hide_too;
    name_value_list fields;
    std::vector<std::string> secrets;
    const wipe_at_exit fields_wiper{[&fields, &secrets] {
        for (auto& field : fields) wipe(field.second);
        for (auto& s : secrets) wipe(s);
    }};
    if (prepared.grant || prepared.assertion) {
        secrets.reserve(3);  // never moved, so that no unwiped copy is left behind
        fields.reserve(6);
        if (prepared.grant) prepared.grant->make(fields, secrets);
        if (prepared.assertion) {
            secrets.push_back(prepared.assertion->make());
            fields.emplace_back("client_assertion_type", jwt_bearer_assertion_type);
            fields.emplace_back("client_assertion", secrets.back());
        }
        copy.emplace(with_fields(prepared.request, fields));
        hide_too.emplace(prepared.hide.copy());
        for (const auto& s : secrets) hide_too->add(s);
    }
    const wipe_at_exit request_wiper{[&copy] {
        if (copy) wipe_credentials(*copy);
    }};
    if (prepared.dpop) {
        if (!copy) copy.emplace(prepared.request);
        copy->headers.emplace_back("DPoP", prepared.dpop->proof("POST", copy->url, nonce));
    }
    if (prepared.traceparent) {
        if (!copy) copy.emplace(prepared.request);
        add_traceparent(*copy, prepared.traceparent);
    }
    res = via.send(copy ? *copy : prepared.request);
    span.answered(res.status);
    const auto obtained_at = std::chrono::steady_clock::now();
    if (prepared.dpop) {
        if (const auto given = res.header("DPoP-Nonce"))
            prepared.nonces->put(prepared.request.url, *given);
    }
    if (res.body.size() > prepared.max_response_bytes) {
        throw error(error_kind::bad_response,
                    "the token response body is over max_response_bytes (" +
                        std::to_string(prepared.max_response_bytes) + ")",
                    error_details{{}, {}, {}, res.status, {}});
    }
    token_rules rules;
    rules.dpop = prepared.dpop.has_value();
    rules.exchange = prepared.exchange;
    rules.not_applicable = prepared.not_applicable;
    try {
        return parse_token_response(res, prepared.scope, obtained_at,
                                    std::chrono::system_clock::now(),
                                    hide_too ? *hide_too : prepared.hide, rules);
    } catch (const error& e) {
        span.failed(e);
        if (e.kind() == error_kind::http_status && (res.status == 404 || res.status == 405)) {
            throw error(error_kind::http_status, not_a_token_endpoint(prepared.request.url, res),
                        error_details{{}, {}, {}, res.status, {}});
        }
        throw;
    }
}

// Sends a prepared token request. A `use_dpop_nonce` error that came with a new nonce
// is answered by exactly one more request carrying it (RFC 9449 §8); so is a proof
// refused for its clock (`invalid_dpop_proof`) when the server gave a nonce to use
// instead of the client's clock.
/// @param nonce_retries counts that retry, when given
/// @param parent        the span of the acquisition the attempts are part of
/// @param attempt       the number of the next attempt, counted up by each
inline token send_token_request(const prepared_token_request& prepared, transport& via,
                                std::atomic<unsigned>* nonce_retries = nullptr,
                                trace_span* parent = nullptr, unsigned* attempt = nullptr) {
    unsigned first = 0;
    unsigned& n = attempt != nullptr ? *attempt : first;
    if (!prepared.dpop) return send_token_request_once(prepared, via, {}, parent, n++);
    // The nonce read once and passed in, so that the one compared below is the one sent,
    // whatever other threads keep meanwhile.
    const std::string sent_nonce = prepared.nonces->get(prepared.request.url);
    std::string retry_nonce;
    try {
        return send_token_request_once(prepared, via, sent_nonce, parent, n++);
    } catch (const error& e) {
        const bool nonce_error =
            e.kind() == error_kind::oauth &&
            (e.oauth_error() == "use_dpop_nonce" || e.oauth_error() == "invalid_dpop_proof");
        retry_nonce = prepared.nonces->get(prepared.request.url);
        if (!nonce_error || retry_nonce == sent_nonce) throw;
    }
    if (nonce_retries != nullptr) ++*nonce_retries;
    return send_token_request_once(prepared, via, retry_nonce, parent, n++);
}

// True when the token endpoint is to be discovered from the issuer.
inline bool discovers_endpoint(const client_config& cfg) {
    return cfg.token_endpoint.empty() && !cfg.issuer.empty();
}

// Checks what can be checked before discovery: the issuer, and the rest of cfg as if the
// issuer were the token endpoint.
inline void validate_before_discovery(const client_config& cfg) {
    check_issuer(cfg);
    client_config probe = cfg;
    probe.token_endpoint = cfg.issuer;
    validate_config(probe);
}

// cfg with the token endpoint its issuer's metadata names, once the server is known to
// take cfg's method. What the metadata left worth saying goes to *note, when given.
inline client_config with_discovered_endpoint(const client_config& cfg, transport& via,
                                              std::string* note = nullptr) {
    const authorization_server_metadata meta = discover(cfg, via);
    std::string said = check_server_takes(meta, cfg);
    if (note != nullptr) *note = std::move(said);
    client_config out = cfg;
    out.token_endpoint = meta.token_endpoint;
    // A client that presents a certificate uses the server's mutual-TLS endpoint, where
    // it has one (RFC 8705 §5).
    if (cfg.tls.has_client_certificate()) {
        const auto alias = meta.mtls_endpoint_aliases.find("token_endpoint");
        if (alias != meta.mtls_endpoint_aliases.end()) out.token_endpoint = alias->second;
    }
    return out;
}

}  // namespace oauth2cc::detail
