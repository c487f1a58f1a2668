// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// client_config.hpp: everything that says how to ask for a token.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "connection_options.hpp"
#include "secret.hpp"
#include "signing_key.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief How the client authenticates at the token endpoint.
/// @sa RFC 6749 §2.3.1, RFC 7591 §2 (the method names), RFC 7523 §2.2, OpenID Connect
/// Core §9
enum class auth_method {
    client_secret_basic,  ///< HTTP Basic with the form-encoded id and secret (the default).
    client_secret_post,   ///< `client_id` and `client_secret` in the request body.
    none,                 ///< A public client: `client_id` in the body, no secret.
    /// A JWT signed with HS256 under client_secret (32 bytes or more, RFC 7518 §3.2),
    /// sent as `client_assertion`; the secret itself never travels.
    client_secret_jwt,
    /// A JWT signed with client_key, sent as `client_assertion`.
    private_key_jwt,
    /// A JWT issued elsewhere (e.g. a Kubernetes projected service-account token),
    /// taken from the client_assertion function for every request.
    client_assertion,
    /// Mutual TLS with a certificate from a CA the server trusts (RFC 8705 §2.1): the
    /// connection presents tls.client_cert_file, and `client_id` goes in the body.
    tls_client_auth,
    /// Mutual TLS with a self-signed certificate registered at the server (RFC 8705
    /// §2.2): as tls_client_auth.
    self_signed_tls_client_auth,
};

/// @brief The method's RFC 7591 §2 name, as `token_endpoint_auth_method` and discovery's
/// `token_endpoint_auth_methods_supported` spell it (client_assertion, which has none
/// there, as "client_assertion").
std::string_view to_string(auth_method method) noexcept;

/// @brief How the id and secret are encoded before they are joined for HTTP Basic.
enum class credential_encoding {
    /// RFC 6749 §2.3.1: each is form-encoded (application/x-www-form-urlencoded) first.
    form_urlencoded,
    /// Joined as they are, for servers that do not decode them (many PHP and Java
    /// servers). A client id with ':' is sent as it is, but a server that splits at the
    /// first ':' (RFC 7617 §2) then sees another id: use form_urlencoded or post.
    raw,
};

/// @brief Everything that shapes a token request: what to ask for, how to authenticate,
/// and (from connection_options) how to reach the token endpoint.
/// @sa RFC 6749 §4.4.2
struct client_config : connection_options {
    /// `https://...`; plain `http://` only to loopback or when allow_insecure_http is set.
    /// May be left empty when issuer is set.
    std::string token_endpoint;
    /// The authorization server's issuer URL. With token_endpoint empty, the token
    /// endpoint comes from the issuer's metadata (discover()) when first needed, once,
    /// and again after a failure; the server must list the configured auth method.
    std::string issuer;
    std::string client_id;  ///< The client's id at the authorization server.
    secret client_secret;   ///< Its secret; unused by auth_method::none.
    /// How the client authenticates.
    auth_method auth = auth_method::client_secret_basic;
    /// How client_secret_basic encodes the id and secret.
    credential_encoding basic_encoding = credential_encoding::form_urlencoded;
    std::vector<std::string> scopes;     ///< Each an RFC 6749 §3.3 scope-token; sent space-joined.
    std::string audience;                ///< Sent as `audience` when not empty.
    std::vector<std::string> resources;  ///< RFC 8707 `resource`, one parameter each.
    /// Further body parameters. `grant_type`, `client_id`, `client_secret` and `scope` are
    /// refused: they have their own fields.
    std::vector<std::pair<std::string, std::string>> extra_params;

    /// The key that signs assertions for auth_method::private_key_jwt.
    std::optional<signing_key> client_key;
    /// The assertions' `aud`; empty: the token endpoint (RFC 7523 §3). Some servers want
    /// their issuer instead.
    std::string assertion_audience;
    /// From an assertion's `iat` to its `exp`.
    std::chrono::seconds assertion_lifetime{60};
    /// For auth_method::client_assertion: called for every token request (retries too)
    /// and returns the assertion to send. Throwing or returning an empty string fails
    /// that request with a `config` error; a token_manager tries again after its backoff.
    std::function<std::string()> client_assertion;

    /// With a key, tokens are DPoP-bound (RFC 9449): every token request carries a proof
    /// signed with it, a `DPoP` token_type is accepted, and token_manager's
    /// request_headers() and authorized_client send a proof with every call. Load it from
    /// a PEM file to keep using stored tokens across runs, or signing_key::generate() one
    /// per process.
    std::optional<signing_key> dpop_key;
};

/// @brief A client_assertion source that reads the file afresh on every call, for
/// assertions a platform writes and rotates (a Kubernetes projected service-account
/// token, an Azure or GCP workload identity token). White space around the content is
/// dropped.
/// @returns a function that throws error `config` naming the file (never its content)
///          when the file cannot be read or is empty
std::function<std::string()> assertion_from_file(std::string path);

/// @brief The request parameters of one token: a token_manager holds one token per
/// distinct token_params. In a request made for a token_params its four fields replace
/// the config's; an empty field sends none. Two token_params that differ only in the order
/// of their scopes or resources ask for the same token.
struct token_params {
    std::vector<std::string> scopes;     ///< Sent space-joined as `scope`.
    std::string audience;                ///< Sent as `audience` when not empty.
    std::vector<std::string> resources;  ///< RFC 8707 `resource`, one parameter each.
    std::vector<std::pair<std::string, std::string>> extra_params;  ///< Sent in order.
};

/// @brief The config's own token_params, so that one field can be changed:
/// `auto p = params_of(cfg); p.audience = "https://api.example.com";`.
token_params params_of(const client_config& cfg);

/// @brief True when a and b ask for the same token: the same scopes and resources in any
/// order, the same audience, the same extra parameters in the same order.
bool operator==(const token_params& a, const token_params& b);
/// @brief Not a == b.
bool operator!=(const token_params& a, const token_params& b);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/client_config_inl.hpp"
#endif
