// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/authorized_client_inl.hpp: the bodies of authorized_client.
// SPDX-License-Identifier: MIT
#pragma once

#include "../authorized_client.hpp"

#include "../detail/http/connection_check.hpp"
#include "../detail/text/form.hpp"
#include "../detail/http/headers.hpp"
#include "../detail/manager/manager_events.hpp"
#include "../detail/text/text.hpp"
#include "../detail/http/url.hpp"
#include "../detail/text/wipe.hpp"
#include "../httplib_transport.hpp"
#include "../www_authenticate.hpp"
#include "../detail/http/redirect.hpp"
#include "../detail/http/trace.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::string with_query(std::string_view path, const name_value_list& params) {
    std::string out(path);
    char separator = out.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [name, value] : params) {
        out.push_back(separator);
        separator = '&';
        // %20 for a space: read as a space by form decoders and RFC 3986 decoders alike,
        // where '+' is a space to the first and a plus sign to the second.
        out += detail::percent_encode(name, "%20");
        out.push_back('=');
        out += detail::percent_encode(value, "%20");
    }
    return out;
}

OAUTH2CC_INLINE authorized_client::authorized_client(std::string base_url, token_manager& tokens,
                                                     client_options options,
                                                     std::shared_ptr<transport> via)
    : tokens_(tokens),
      options_(std::move(options)),
      transport_(std::move(via)),
      who_(detail::excerpt(tokens.config().client_id, 100)),
      params_(options_.params) {
    // A certificate-bound token (RFC 8705 §3) works only over a connection that presents
    // the certificate it is bound to: the token_manager's, unless the API has its own.
    const tls_options& manager_tls = tokens_.config().tls;
    if (!options_.tls.has_client_certificate() && options_.tls.client_key_file.empty() &&
        options_.tls.client_key_pem.empty()) {
        options_.tls.client_cert_file = manager_tls.client_cert_file;
        options_.tls.client_key_file = manager_tls.client_key_file;
        options_.tls.client_cert_pem = manager_tls.client_cert_pem;
        options_.tls.client_key_pem = manager_tls.client_key_pem;
    }
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    const auto url = detail::parse_url(base_url);
    if (!url) {
        fail("base_url " + detail::url_problem(base_url) +
             " (an absolute http:// or https:// URL is wanted)");
    }
    if (url->path.find('?') != std::string::npos) fail("base_url must not carry a query");
    detail::check_plain_http(*url, options_, "base_url", "tokens");
    detail::check_connection(options_);
    if (options_.max_redirects < 0) fail("max_redirects must not be negative");
    while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    base_url_ = std::move(base_url);
    origin_ = detail::origin_of(*url);
    if (!transport_) {
        transport_ =
            std::make_shared<httplib_transport>(static_cast<const connection_options&>(options_));
    }
}

OAUTH2CC_INLINE http_response authorized_client::get(std::string_view path,
                                                     const name_value_list& headers) {
    return send("GET", path, {}, {}, headers);
}

OAUTH2CC_INLINE http_response authorized_client::del(std::string_view path,
                                                     const name_value_list& headers) {
    return send("DELETE", path, {}, {}, headers);
}

OAUTH2CC_INLINE http_response authorized_client::post(std::string_view path, std::string_view body,
                                                      std::string_view content_type,
                                                      const name_value_list& headers) {
    return send("POST", path, body, content_type, headers);
}

OAUTH2CC_INLINE http_response authorized_client::put(std::string_view path, std::string_view body,
                                                     std::string_view content_type,
                                                     const name_value_list& headers) {
    return send("PUT", path, body, content_type, headers);
}

OAUTH2CC_INLINE http_response authorized_client::patch(std::string_view path, std::string_view body,
                                                       std::string_view content_type,
                                                       const name_value_list& headers) {
    return send("PATCH", path, body, content_type, headers);
}

OAUTH2CC_INLINE http_request authorized_client::request_for(std::string_view method,
                                                            std::string_view path,
                                                            std::string_view body,
                                                            std::string_view content_type,
                                                            const name_value_list& headers) const {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    if (path.empty() || path.front() != '/' || (path.size() > 1 && path[1] == '/')) {
        fail(
            "the path must start with a single '/': it is relative to the base URL, so "
            "the token cannot be sent to another origin");
    }
    if (path.find('#') != std::string_view::npos) fail("the path must not carry a fragment");
    http_request base;
    base.method = std::string(method);
    base.url = base_url_ + std::string(path);
    bool has_type = false, has_agent = false;
    for (const auto& [name, value] : headers) {
        if (detail::iequals(name, "Authorization")) {
            fail(
                "the call carries its own Authorization header; the token_manager's token "
                "is the one sent, so remove it");
        }
        if (detail::is_framing_header(name)) {
            fail("the call sets \"" + detail::excerpt(name, 60) +
                 "\", which frames the message or steers the connection; the transport "
                 "writes it, never the caller");
        }
        has_type = has_type || detail::iequals(name, "Content-Type");
        has_agent = has_agent || detail::iequals(name, "User-Agent");
        base.headers.emplace_back(name, value);
    }
    if (!content_type.empty() && !has_type) {
        base.headers.emplace_back("Content-Type", std::string(content_type));
    }
    if (!has_agent && !options_.user_agent.empty()) {
        base.headers.emplace_back("User-Agent", options_.user_agent);
    }
    base.body = std::string(body);
    return base;
}

OAUTH2CC_INLINE http_response authorized_client::send_hop(http_request& req, const token& tok,
                                                          bool on_origin, bool& new_nonce,
                                                          unsigned attempt) {
    const client_config& cfg = tokens_.config();
    const std::string server = cfg.tracer ? detail::server_of(req.url) : std::string();
    span_start what;
    what.client_id = who_;
    what.server = server;
    what.grant = to_string(cfg.grant);
    what.endpoint = "resource";
    what.method = req.method;
    what.attempt = attempt;
    detail::span_scope span(cfg.tracer, what);
    // The token's headers (Authorization, and a DPoP proof for this hop's URL) are added
    // for this hop only, and wiped and removed once it is sent, so the request is not
    // copied per hop.
    std::size_t added = 0;
    const auto drop_authorization = [&] {
        for (; added > 0; --added) {
            detail::wipe(req.headers.back().second);
            req.headers.pop_back();
        }
    };
    if (on_origin) {
        for (auto& header : tokens_.headers_for(tok, req.method, req.url)) {
            req.headers.push_back(std::move(header));
            ++added;
        }
    }
    http_response res;
    try {
        res = transport_->send(req);
    } catch (...) {
        drop_authorization();
        throw;
    }
    drop_authorization();
    span.answered(res.status);
    if (span.get() != nullptr && (res.status == 401 || res.status == 403)) {
        const auto challenge =
            tok.token_type == "DPoP" ? find_dpop_challenge(res) : find_bearer_challenge(res);
        if (challenge) span.challenged(challenge->error);
    }
    const auto nonce = res.header("DPoP-Nonce");
    new_nonce =
        on_origin && tok.token_type == "DPoP" && nonce && tokens_.set_dpop_nonce(req.url, *nonce);
    return res;
}

OAUTH2CC_INLINE bool authorized_client::redirect(http_request& req, const http_response& res,
                                                 bool& on_origin) const {
    const auto location = res.header("Location");
    const auto from = detail::parse_url(req.url);
    if (!location || !from) return false;
    const auto next = detail::resolve_location(req.url, *from, *location);
    const auto next_parts = next ? detail::parse_url(*next) : std::nullopt;
    if (!next_parts) return false;
    if (!next_parts->https && !options_.allow_insecure_http &&
        !detail::is_loopback_host(next_parts->host)) {
        return false;  // never downgrade to clear text on the network
    }
    // Once the call has left the base URL's origin, the token stays behind, and so does
    // every caller header that could be a credential, and a body that a 307 or 308 would
    // carry along.
    if (on_origin && detail::origin_of(*next_parts) != origin_) {
        if ((res.status == 307 || res.status == 308) && !req.body.empty()) return false;
        on_origin = false;
        for (auto it = req.headers.begin(); it != req.headers.end();) {
            if (detail::crosses_origins(it->first)) {
                ++it;
            } else {
                detail::wipe(it->second);
                it = req.headers.erase(it);
            }
        }
    }
    if (res.status == 303 || ((res.status == 301 || res.status == 302) && req.method == "POST")) {
        req.method = "GET";
        req.body.clear();
        for (auto it = req.headers.begin(); it != req.headers.end();) {
            it = detail::iequals(it->first, "Content-Type") ? req.headers.erase(it) : it + 1;
        }
    }
    req.url = *next;
    return true;
}

OAUTH2CC_INLINE http_response authorized_client::exchange(const http_request& base,
                                                          const token& tok, bool& on_origin,
                                                          bool& new_nonce, unsigned attempt) {
    if (detail::has_control(tok.access_token.reveal())) {
        throw error(error_kind::bad_response,
                    "the access token holds control characters; it is never sent");
    }
    http_request req = base;
    on_origin = true;
    for (int hop = 0;; ++hop) {
        http_response res = send_hop(req, tok, on_origin, new_nonce, attempt);
        if (!options_.follow_redirects || !detail::is_followable_redirect(res.status) ||
            hop >= options_.max_redirects || !redirect(req, res, on_origin)) {
            return res;
        }
    }
}

OAUTH2CC_INLINE http_response authorized_client::send(std::string_view method,
                                                      std::string_view path, std::string_view body,
                                                      std::string_view content_type,
                                                      const name_value_list& headers) {
    http_request base = request_for(method, path, body, content_type, headers);
    // One traceparent for the call, its retries and redirects.
    detail::add_traceparent(base, tokens_.config().traceparent);
    unsigned attempt = 0;
    // `token_sent`: the final response answered a request that carried the token;
    // `new_nonce`: the last response on the origin gave a new DPoP nonce.
    bool token_sent = false, new_nonce = false;
    auto params = current_params();
    auto tok = token_of(params);
    http_response res = exchange(base, *tok, token_sent, new_nonce, attempt++);
    const bool dpop = tok->token_type == "DPoP";
    if (res.status == 401 && token_sent && dpop) {
        // RFC 9449 §9: a new nonce the server asks for is answered once, same token.
        const auto challenge = find_dpop_challenge(res);
        if (challenge && challenge->error == "use_dpop_nonce" && new_nonce) {
            detail::tell(tokens_.observer(), [&](metrics_observer& o) {
                o.on_dpop_nonce_retry(who_, nonce_origin::resource_server);
            });
            res = exchange(base, *tok, token_sent, new_nonce, attempt++);
        }
    }
    if (res.status == 401 && token_sent) {
        const auto challenge = dpop ? find_dpop_challenge(res) : find_bearer_challenge(res);
        if (!challenge || challenge->error.empty() || challenge->error == "invalid_token") {
            // The token is no longer good: drop it (unless another caller already did)
            // and repeat once with a new one. The rejection guard may keep it instead:
            // then the API's answer goes back as it came.
            if (params) {
                tokens_.invalidate(*params, tok.get());
            } else {
                tokens_.invalidate(tok.get());
            }
            auto next = token_of(params);
            if (next == tok) return res;
            tok = std::move(next);
            detail::tell(tokens_.observer(),
                         [&](metrics_observer& o) { o.on_unauthorized_retry(who_); });
            res = exchange(base, *tok, token_sent, new_nonce, attempt++);
        }
    } else if (res.status == 403 && token_sent && options_.step_up_scope) {
        if (auto wider = stepped_up(params, res, dpop)) {
            // The wider scopes are kept only once a token for them was had: a server that
            // refuses them leaves this client as it was, and the API's 403 as it came.
            std::shared_ptr<const token> wider_token;
            try {
                wider_token = token_of(wider);
            } catch (const error&) {
                return res;
            }
            {
                const std::lock_guard<std::mutex> lock(params_mutex_);
                params_ = wider;
            }
            params = std::move(wider);
            tok = std::move(wider_token);
            res = exchange(base, *tok, token_sent, new_nonce, attempt++);
        }
    }
    if (token_sent && res.status != 401) {
        if (params) {
            tokens_.note_accepted(*params, *tok);
        } else {
            tokens_.note_accepted(*tok);
        }
    }
    return res;
}

OAUTH2CC_INLINE std::optional<token_params> authorized_client::current_params() const {
    const std::lock_guard<std::mutex> lock(params_mutex_);
    return params_;
}

OAUTH2CC_INLINE std::shared_ptr<const token> authorized_client::token_of(
    const std::optional<token_params>& params) {
    return params ? tokens_.get(*params) : tokens_.get();
}

OAUTH2CC_INLINE std::optional<token_params> authorized_client::stepped_up(
    const std::optional<token_params>& sent, const http_response& res, bool dpop) const {
    const auto challenge = dpop ? find_dpop_challenge(res) : find_bearer_challenge(res);
    if (!challenge || challenge->error != "insufficient_scope" || challenge->scope.empty()) {
        return std::nullopt;
    }
    // This client's own scopes, never those of an earlier step-up: a challenge replaces
    // the last widening, so a run of challenges cannot grow the scopes without bound.
    token_params wider = options_.params ? *options_.params : params_of(tokens_.config());
    const std::vector<std::string>& sent_scopes = sent ? sent->scopes : tokens_.config().scopes;
    const auto has = [](const std::vector<std::string>& scopes, const std::string& scope) {
        return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
    };
    bool adds = false;
    std::size_t at = 0;
    const std::string& named = challenge->scope;
    while (at < named.size()) {
        const std::size_t end = std::min(named.find(' ', at), named.size());
        std::string scope = named.substr(at, end - at);
        at = end + 1;
        if (scope.empty() ||
            (!options_.step_up_scopes.empty() && options_.step_up_scopes.count(scope) == 0)) {
            continue;
        }
        adds = adds || !has(sent_scopes, scope);
        if (!has(wider.scopes, scope)) wider.scopes.push_back(std::move(scope));
    }
    if (!adds) return std::nullopt;
    return wider;
}

}  // namespace oauth2cc
