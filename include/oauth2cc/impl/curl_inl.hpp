// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/curl_inl.hpp: the bodies of curl.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include "../curl.hpp"

#include "../detail/adapters/curl.hpp"
#include "../detail/http/url.hpp"
#include "../detail/manager/manager_events.hpp"
#include "../detail/text/text.hpp"
#include "../www_authenticate.hpp"

#include <optional>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE curl_headers::~curl_headers() { reset(); }

OAUTH2CC_INLINE curl_headers::curl_headers(curl_headers&& other) noexcept
    : list_(std::exchange(other.list_, nullptr)) {}

OAUTH2CC_INLINE curl_headers& curl_headers::operator=(curl_headers&& other) noexcept {
    if (this != &other) {
        reset();
        list_ = std::exchange(other.list_, nullptr);
    }
    return *this;
}

OAUTH2CC_INLINE void curl_headers::add(std::string_view name, std::string_view value) {
    detail::check_curl_header(name, value);
    std::string line(name);
    // "Name;" is libcurl's way to send a header with an empty value ("Name:" removes it).
    if (value.empty()) {
        line += ";";
    } else {
        line += ": ";
        line += value;
    }
    append_line(std::move(line));
}

OAUTH2CC_INLINE void curl_headers::append_line(std::string line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    detail::wipe(line);
    if (next == nullptr) throw std::bad_alloc();
    list_ = next;
}

OAUTH2CC_INLINE void curl_headers::reset() noexcept {
    // The lines hold the token: wiped, as detail::wipe() does, before libcurl frees them.
    for (curl_slist* p = list_; p != nullptr; p = p->next) {
        if (p->data != nullptr) OPENSSL_cleanse(p->data, std::strlen(p->data));
    }
    curl_slist_free_all(list_);
    list_ = nullptr;
}

OAUTH2CC_INLINE curl_headers attach_token(CURL* easy, token_manager& tokens,
                                          std::string_view method, std::string_view url,
                                          std::optional<token_params> params) {
    if (easy == nullptr) throw error(error_kind::config, "attach_token: the CURL handle is null");
    curl_headers out;
    detail::curl_access::append_token(out, params ? tokens.request_headers(*params, method, url)
                                                  : tokens.request_headers(method, url));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, out.get());
    return out;
}

OAUTH2CC_INLINE CURLcode perform(CURL* easy, token_manager& tokens, std::string_view method,
                                 std::string_view url, std::optional<token_params> params) {
    return perform(easy, tokens, method, url, name_value_list{}, std::move(params));
}

OAUTH2CC_INLINE CURLcode perform(CURL* easy, token_manager& tokens, std::string_view method,
                                 std::string_view url, const name_value_list& headers,
                                 std::optional<token_params> params) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    if (easy == nullptr) fail("perform: the CURL handle is null");
    if (method.empty()) fail("perform: the method is empty");
    for (const char c : method) {
        if (!detail::is_tchar(c))
            fail("perform: the method \"" + detail::excerpt(method, 30) + "\" is no HTTP token");
    }
    const auto parts = detail::parse_url(url);
    if (!parts) {
        fail("perform: the url " + detail::url_problem(url) +
             " (an absolute http:// or https:// URL is wanted)");
    }
    if (!parts->https && !tokens.config().allow_insecure_http &&
        !detail::is_loopback_host(parts->host)) {
        fail("perform: the url uses plain http:// to " + detail::excerpt(parts->host, 100) +
             ", which is not loopback: the token would cross the network in clear; use "
             "https://");
    }
    for (const auto& [name, value] : headers) detail::check_curl_header(name, value);
    const std::string origin = detail::origin_of(*parts);
    const std::string target(url), verb(method);
    curl_easy_setopt(easy, CURLOPT_URL, target.c_str());
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, verb.c_str());
    if (verb == "HEAD") curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(easy, CURLOPT_UNRESTRICTED_AUTH, 0L);

    const std::string who = detail::excerpt(tokens.config().client_id, 100);
    auto tok = detail::curl_token(tokens, params);
    bool dpop = tok->token_type == "DPoP";
    const auto send = [&]() {
        if (dpop) curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
        return detail::curl_transfer(easy, tokens, *tok, method, url, headers);
    };
    bool token_sent = false, new_nonce = false;
    CURLcode rc = send();
    if (rc != CURLE_OK) return rc;
    http_response res = detail::curl_outcome(easy, tokens, url, origin, token_sent, new_nonce);
    if (res.status == 401 && token_sent && dpop) {
        // RFC 9449 §9: a new nonce the server asks for is answered once, same token.
        const auto challenge = find_dpop_challenge(res);
        if (challenge && challenge->error == "use_dpop_nonce" && new_nonce) {
            detail::tell(tokens.observer(), [&](metrics_observer& o) {
                o.on_dpop_nonce_retry(who, nonce_origin::resource_server);
            });
            if ((rc = send()) != CURLE_OK) return rc;
            res = detail::curl_outcome(easy, tokens, url, origin, token_sent, new_nonce);
        }
    }
    if (res.status == 401 && token_sent) {
        const auto challenge = dpop ? find_dpop_challenge(res) : find_bearer_challenge(res);
        if (!challenge || challenge->error.empty() || challenge->error == "invalid_token") {
            // As authorized_client: drop the token unless another caller did, and repeat
            // once; the rejection guard may keep it, and the 401 stands.
            if (params) {
                tokens.invalidate(*params, tok.get());
            } else {
                tokens.invalidate(tok.get());
            }
            auto next = detail::curl_token(tokens, params);
            if (next == tok) return CURLE_OK;
            tok = std::move(next);
            dpop = tok->token_type == "DPoP";
            detail::tell(tokens.observer(),
                         [&](metrics_observer& o) { o.on_unauthorized_retry(who); });
            if ((rc = send()) != CURLE_OK) return rc;
            res = detail::curl_outcome(easy, tokens, url, origin, token_sent, new_nonce);
        }
    }
    if (token_sent && res.status != 401) detail::curl_accepted(tokens, params, *tok);
    return CURLE_OK;
}

}  // namespace oauth2cc
