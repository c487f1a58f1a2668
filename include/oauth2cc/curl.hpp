// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// curl.hpp: the token on libcurl's transfers. attach_token() puts a token_manager's headers
// on an easy handle; perform() makes one transfer with authorized_client's rules. An
// add-on, not in oauth2cc.hpp. Header-only, link libcurl; in compiled mode a unit sees
// declarations only and links oauth2cc::curl (Meson's oauth2cc_curl), which holds the
// bodies.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "error.hpp"
#include "http.hpp"
#include "token.hpp"
#include "token_manager.hpp"

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
#include "impl/curl_inl.hpp"
#endif
