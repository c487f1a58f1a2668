// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// client_config.hpp: everything that says how to ask for a token.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "connection_options.hpp"
#include "secret.hpp"
#include "signing_key.hpp"
#include "tracing.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
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

/// @brief The grant a client asks for its token with.
enum class grant_type {
    /// RFC 6749 §4.4: the client's own credentials are the grant (the default).
    client_credentials,
    /// RFC 8693: a subject token (a platform's, a caller's, another manager's), and an
    /// actor token for delegation, exchanged for a new token.
    token_exchange,
    /// RFC 7523 §2.1: a signed JWT is the grant (a service account's, or one a platform
    /// issued).
    jwt_bearer,
};

/// @brief The grant's short name, as `oauth2cc-cli --grant` takes it:
/// "client_credentials", "token_exchange", "jwt_bearer".
std::string_view to_string(grant_type grant) noexcept;

/// @brief The token type identifiers of RFC 8693 §3, for subject_token_type,
/// actor_token_type and requested_token_type.
namespace token_types {
/// An OAuth 2.0 access token.
inline constexpr const char* access_token = "urn:ietf:params:oauth:token-type:access_token";
/// An OAuth 2.0 refresh token.
inline constexpr const char* refresh_token = "urn:ietf:params:oauth:token-type:refresh_token";
/// An OpenID Connect ID token.
inline constexpr const char* id_token = "urn:ietf:params:oauth:token-type:id_token";
/// A base64url-encoded SAML 1.1 assertion.
inline constexpr const char* saml1 = "urn:ietf:params:oauth:token-type:saml1";
/// A base64url-encoded SAML 2.0 assertion.
inline constexpr const char* saml2 = "urn:ietf:params:oauth:token-type:saml2";
/// A JWT (RFC 7519), of any issuer: a platform's service-account token, say.
inline constexpr const char* jwt = "urn:ietf:params:oauth:token-type:jwt";
}  // namespace token_types

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
    /// The RFC 7009 revocation endpoint for revoke(); empty: the issuer's discovered
    /// `revocation_endpoint`.
    std::string revocation_endpoint;
    std::string client_id;  ///< The client's id at the authorization server.
    secret client_secret;   ///< Its secret; unused by auth_method::none.
    /// A file that holds the secret instead (client_secret left empty; a trailing newline
    /// is not part of it): read when first needed, again when the file's metadata changes
    /// (one stat() a token request), and again after an `invalid_client` answer, which is
    /// then retried once with the new contents. A secret rotated by replacing the file
    /// (a Kubernetes Secret, a vault agent) is taken up without a restart.
    std::string client_secret_file;
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

    /// The grant asked for; every auth method, DPoP and mTLS work with each.
    grant_type grant = grant_type::client_credentials;
    /// For grant_type::token_exchange: the subject token (RFC 8693 §2.1). A token_manager
    /// calls it in every get() to learn the current subject, and serves a token exchanged
    /// for that subject: a new subject means a new exchange. Make it cheap
    /// (assertion_from_file(), subject_token_of()). Throwing or returning an empty string
    /// is a `config` error, and nothing is sent.
    std::function<std::string()> subject_token;
    /// Its type (RFC 8693 §3).
    std::string subject_token_type = token_types::access_token;
    /// For delegation: the actor token, sent with actor_token_type when set.
    std::function<std::string()> actor_token;
    std::string actor_token_type;  ///< Needed with actor_token.
    /// Sent as `requested_token_type` when not empty. With a type other than an access
    /// token, a token of token_type `N_A` is accepted: it is never attached to a request.
    std::string requested_token_type;
    /// For grant_type::jwt_bearer: the assertion, called for every request
    /// (jwt_bearer_assertion() signs a new one each time; assertion_from_file() reads
    /// one a platform issued).
    std::function<std::string()> grant_assertion;

    /// When set, called for every token, introspection and revocation request and every
    /// authorized_client call (once per call, for its retries and redirects too); its
    /// value, when it is a W3C Trace Context `traceparent` (version 00), is sent as the
    /// `traceparent` header. A throw, an empty or a malformed value sends none: tracing
    /// never fails a request.
    std::function<std::string()> traceparent;
    /// When set, starts a span for every token acquisition and HTTP attempt (see tracer).
    std::shared_ptr<oauth2cc::tracer> tracer;
};

/// @brief A source for client_assertion, subject_token, actor_token or grant_assertion
/// that reads a file a platform writes and rotates (a Kubernetes projected
/// service-account token, an Azure or GCP workload identity token). The file is read on
/// the first call and again whenever it has changed (its inode, size, modification or
/// change time), so a call costs one stat() while it stays the same. White space around
/// the content is dropped.
/// @returns a function that throws error `config` naming the file (never its content)
///          when the file cannot be read or is empty
std::function<std::string()> assertion_from_file(std::string path);

/// @brief A grant_assertion source that signs a new JWT for every call (RFC 7523 §2.1,
/// §3): header `alg` (of key), `typ` `JWT`, `kid` when key has one; claims `iss`, `sub`,
/// `aud`, `iat`, `exp` = iat + lifetime, a new `jti` of 128 random bits, then the members of
/// extra_claims (an object, or null for none).
/// @throws error `config` when issuer, subject or audience is empty or holds control
///         characters, lifetime is not from 1 second to 1 hour, or extra_claims is not an
///         object or names one of the six claims above
std::function<std::string()> jwt_bearer_assertion(
    signing_key key, std::string issuer, std::string subject, std::string audience,
    std::chrono::seconds lifetime = std::chrono::seconds(60),
    nlohmann::json extra_claims = nlohmann::json());

/// @brief The request parameters of one token: a token_manager holds one token per
/// distinct token_params. In a request made for a token_params its four fields replace
/// the config's; an empty field sends none. Two token_params that differ only in the order
/// of their scopes, resources or extra parameters ask for the same token.
struct token_params {
    std::vector<std::string> scopes;     ///< Sent space-joined as `scope`.
    std::string audience;                ///< Sent as `audience` when not empty.
    std::vector<std::string> resources;  ///< RFC 8707 `resource`, one parameter each.
    std::vector<std::pair<std::string, std::string>> extra_params;  ///< Sent in order.
};

/// @brief The config's own token_params, so that one field can be changed:
/// `auto p = params_of(cfg); p.audience = "https://api.example.com";`.
token_params params_of(const client_config& cfg);

/// @brief True when a and b ask for the same token: the same scopes, resources and extra
/// parameters in any order, the same audience (as a token store's key sees them).
bool operator==(const token_params& a, const token_params& b);
/// @brief Not a == b.
bool operator!=(const token_params& a, const token_params& b);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/client_config_inl.hpp"
#endif
