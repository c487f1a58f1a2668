// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/adapters/curl.hpp: the libcurl adapter's helpers: the header lines, one transfer,
// what its response says.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../curl.hpp"
#include "../../www_authenticate.hpp"

#include "../http/challenges.hpp"
#include "../http/url.hpp"
#include "../manager/manager_events.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"

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
