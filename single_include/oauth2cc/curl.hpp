// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// curl.hpp, beside the single header, of oauth2cc 0.2.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

#include "oauth2cc.hpp"

// ---- oauth2cc/curl.hpp ----

#include <curl/curl.h>

#include <optional>
#include <string_view>

namespace oauth2cc {

namespace detail {
struct curl_access;
}  // namespace detail

/// @brief The header list of one libcurl transfer (a `curl_slist`), owned: its destructor
/// wipes the lines (they hold the token) and frees them. Movable, not copyable.
///
/// libcurl reads the list while a transfer runs and keeps only a pointer to it: keep the
/// curl_headers until the transfer is over, and set CURLOPT_HTTPHEADER again (to another
/// list, or null) before the handle's next transfer.
class curl_headers {
public:
    curl_headers() noexcept = default;
    ~curl_headers();
    /// @brief Takes other's list; other is left empty.
    curl_headers(curl_headers&& other) noexcept;
    /// @brief Frees this list (wiped), then takes other's; other is left empty.
    curl_headers& operator=(curl_headers&& other) noexcept;
    curl_headers(const curl_headers&) = delete;
    curl_headers& operator=(const curl_headers&) = delete;

    /// @brief Appends `name: value`. The list's head stays where it was, so a list that a
    /// handle already holds takes the header too.
    /// @throws error `config` for a name that is no HTTP token, a value with a control
    ///         character (a line break would start another header), or an
    ///         `Authorization` or `DPoP` header, which are the token_manager's
    void add(std::string_view name, std::string_view value);

    /// @brief The list, for CURLOPT_HTTPHEADER; null when empty.
    curl_slist* get() const noexcept { return list_; }

    /// @brief True when the list holds no header.
    bool empty() const noexcept { return list_ == nullptr; }

private:
    friend struct detail::curl_access;
    // Appends a line as it is, checked by the caller.
    void append_line(std::string line);
    void reset() noexcept;

    curl_slist* list_ = nullptr;
};

/// @brief Puts the token's headers on easy for one request to method and url, and sets
/// CURLOPT_HTTPHEADER: `Authorization: Bearer <token>`, or for a DPoP-bound token
/// `Authorization: DPoP <token>` and a `DPoP` proof for this method and URL (RFC 9449), with
/// the latest nonce its origin gave. Add the request's own headers to what it returns
/// (curl_headers::add). A proof is good for one request: call again for the next.
///
/// It neither follows the transfer nor retries: perform() does. libcurl sends no
/// `Authorization` header to another host, port or scheme when it follows a redirect
/// (unless CURLOPT_UNRESTRICTED_AUTH is on), but it would send a `DPoP` proof along.
/// @param params the entry whose token is sent; unset: the config's own
/// @returns the list CURLOPT_HTTPHEADER now points to; keep it for the transfer's life
/// @throws error `config` for a null handle; the token_manager's error when no token can
///         be had; `config` for a DPoP-bound token and a URL that is not absolute http(s)
curl_headers attach_token(CURL* easy, token_manager& tokens, std::string_view method,
                          std::string_view url, std::optional<token_params> params = std::nullopt);

/// @brief One transfer to method and url on easy, with the token and authorized_client's
/// rules:
///
/// - A 401 whose challenge names `invalid_token` or no error drops the token it sent
///   (token_manager::invalidate, with its rejection guard) and repeats the transfer once
///   with a new one; never more.
/// - A DPoP 401 `use_dpop_nonce` with a new `DPoP-Nonce` is repeated once with a proof
///   that carries it; a `DPoP-Nonce` on any response is kept for the origin's next proofs.
/// - A response that is no 401 reports the token as accepted (token_manager::note_accepted).
/// - The token never leaves the URL's origin: CURLOPT_UNRESTRICTED_AUTH is turned off, so
///   a redirect libcurl follows (CURLOPT_FOLLOWLOCATION, as the caller set it) to another
///   host, port or scheme goes without `Authorization`; with a DPoP-bound token, whose
///   proof names one URL, redirects are not followed (CURLINFO_REDIRECT_URL names the
///   target).
///
/// Everything else is the handle's, as the caller set it: the body and its callbacks, the
/// write and header callbacks, timeouts, TLS. perform() sets CURLOPT_URL,
/// CURLOPT_CUSTOMREQUEST (method), CURLOPT_NOBODY (for HEAD) and CURLOPT_HTTPHEADER,
/// which it resets to null before it returns. A repeated transfer sends the body again
/// (CURLOPT_POSTFIELDS as it is; a read callback needs CURLOPT_SEEKFUNCTION), and the
/// refused response's headers and body reach the callbacks before the repeat's:
/// CURLINFO_RESPONSE_CODE afterwards is the last response's.
/// @returns curl_easy_perform()'s code for the last transfer
/// @throws error as attach_token()
CURLcode perform(CURL* easy, token_manager& tokens, std::string_view method, std::string_view url,
                 std::optional<token_params> params = std::nullopt);

/// @brief As above, with the request's own headers (checked as curl_headers::add does).
CURLcode perform(CURL* easy, token_manager& tokens, std::string_view method, std::string_view url,
                 const name_value_list& headers, std::optional<token_params> params);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
// ---- oauth2cc/impl/curl_inl.hpp ----

// ---- oauth2cc/detail/adapters/curl.hpp ----

#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace oauth2cc::detail {

// The way into curl_headers' list for the bodies here: the token's lines go in unchecked
// against the name rule that keeps a caller's Authorization out.
struct curl_access {
    // Appends the token's headers (request_headers() or headers_for()), wiping them.
    static void append_token(curl_headers& headers, name_value_list lines) {
        for (auto& [name, value] : lines) {
            if (has_control(value)) {
                wipe(value);
                throw error(error_kind::bad_response,
                            "the access token holds control characters; it is never sent");
            }
            headers.append_line(name + ": " + value);
            wipe(value);
        }
    }
};

// A header of the caller's, refused where it would break the request or take the
// token's place.
inline void check_curl_header(std::string_view name, std::string_view value) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    if (name.empty()) fail("a header has an empty name");
    for (const char c : name) {
        if (!is_tchar(c)) fail("the header name \"" + excerpt(name, 60) + "\" is no HTTP token");
    }
    if (iequals(name, "Authorization") || iequals(name, "DPoP")) {
        fail("the request carries its own " + std::string(name) +
             " header; the token_manager's token goes there: leave it out");
    }
    for (const char c : value) {
        if (is_control(c) && c != '\t') {
            fail("the value of header \"" + excerpt(name, 60) +
                 "\" holds a control character (a line break would start another header)");
        }
    }
}

// The values of a response header of the last request the handle made (after its
// redirects), in order; empty when there is none.
inline std::vector<std::string> curl_response_headers(CURL* easy, const char* name) {
    std::vector<std::string> out;
    curl_header* h = nullptr;
    for (std::size_t i = 0;; ++i) {
        if (curl_easy_header(easy, name, i, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) {
            break;
        }
        out.emplace_back(h->value != nullptr ? h->value : "");
        if (i + 1 >= h->amount) break;
    }
    return out;
}

inline std::shared_ptr<const token> curl_token(token_manager& tokens,
                                               const std::optional<token_params>& params) {
    return params ? tokens.get(*params) : tokens.get();
}

// One transfer with tok's headers and the caller's; the list is gone, and the handle no
// longer points to it, before it returns.
inline CURLcode curl_transfer(CURL* easy, token_manager& tokens, const token& tok,
                              std::string_view method, std::string_view url,
                              const name_value_list& headers) {
    curl_headers list;
    curl_access::append_token(list, tokens.headers_for(tok, method, url));
    for (const auto& [name, value] : headers) list.add(name, value);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list.get());
    const CURLcode rc = curl_easy_perform(easy);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
    return rc;
}

// What perform() needs of the response: its status and challenges, and whether the
// request that got it carried the token (it was on url's origin). A DPoP-Nonce is kept.
inline http_response curl_outcome(CURL* easy, token_manager& tokens, std::string_view url,
                                  const std::string& origin, bool& token_sent, bool& new_nonce) {
    http_response res;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    res.status = static_cast<int>(status);
    char* effective = nullptr;
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
    const auto last = parse_url(effective != nullptr ? effective : "");
    token_sent = last && origin_of(*last) == origin;
    new_nonce = false;
    if (token_sent) {
        for (const auto& nonce : curl_response_headers(easy, "DPoP-Nonce")) {
            new_nonce = tokens.set_dpop_nonce(url, nonce) || new_nonce;
        }
    }
    for (auto& value : curl_response_headers(easy, "WWW-Authenticate")) {
        res.headers.emplace_back("WWW-Authenticate", std::move(value));
    }
    return res;
}

inline void curl_accepted(token_manager& tokens, const std::optional<token_params>& params,
                          const token& tok) {
    if (params) {
        tokens.note_accepted(*params, tok);
    } else {
        tokens.note_accepted(tok);
    }
}

}  // namespace oauth2cc::detail

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
#endif  // OAUTH2CC_WITH_BODIES
