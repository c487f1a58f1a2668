// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// common/environment.hpp: how the example programs read their configuration from the
// environment (OAUTH2_* variables) and the client secret from a file.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace oauth2cc_examples {

/// @brief The value of an environment variable; empty when unset.
inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

/// @brief A secret kept in a file, as mounted secrets are; a trailing newline is dropped.
/// @throws std::runtime_error when the file cannot be read
inline oauth2cc::secret read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the client secret file " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return oauth2cc::secret{std::move(text)};
}

/// @brief Space-separated scopes as a list.
inline std::vector<std::string> split_scopes(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string s; in >> s;) out.push_back(s);
    return out;
}

/// @brief The client's credentials: OAUTH2_CLIENT_ID, and OAUTH2_CLIENT_SECRET_FILE
/// (preferred) or OAUTH2_CLIENT_SECRET.
/// @throws std::runtime_error when the secret file cannot be read
inline void read_credentials(oauth2cc::client_config& cfg) {
    cfg.client_id = env("OAUTH2_CLIENT_ID");
    if (const std::string file = env("OAUTH2_CLIENT_SECRET_FILE"); !file.empty()) {
        cfg.client_secret = read_secret_file(file);
    } else {
        cfg.client_secret = oauth2cc::secret{env("OAUTH2_CLIENT_SECRET")};
    }
}

/// @brief How a client authenticates, as the example programs take it from flags or
/// OAUTH2_* variables: each field empty when not given.
struct authentication_settings {
    std::string method;          ///< OAUTH2_AUTH_METHOD, --auth
    std::string key_file;        ///< OAUTH2_CLIENT_KEY_FILE, --client-key
    std::string key_id;          ///< OAUTH2_CLIENT_KEY_ID, --client-key-id
    std::string key_alg;         ///< OAUTH2_CLIENT_KEY_ALG, --client-key-alg
    std::string assertion_file;  ///< OAUTH2_CLIENT_ASSERTION_FILE, --client-assertion-file
    std::string cert_file;       ///< OAUTH2_CLIENT_CERT_FILE, --cert (mutual TLS)
    std::string cert_key_file;   ///< OAUTH2_CLIENT_CERT_KEY_FILE, --key
    std::string dpop_key_file;   ///< OAUTH2_DPOP_KEY_FILE, --dpop-key
    bool dpop = false;           ///< OAUTH2_DPOP=1, --dpop: a new DPoP key for this run
};

/// @brief The names the method is given by: basic, post, none, and the RFC 8414 names.
inline const std::vector<std::string>& auth_method_names() {
    static const std::vector<std::string> names{"basic",
                                                "post",
                                                "none",
                                                "client_secret_basic",
                                                "client_secret_post",
                                                "client_secret_jwt",
                                                "private_key_jwt",
                                                "client_assertion",
                                                "tls_client_auth",
                                                "self_signed_tls_client_auth"};
    return names;
}

/// @brief The JWS algorithms a client key may sign with, by their JWS names.
inline const std::vector<std::string>& key_alg_names() {
    static const std::vector<std::string> names{"RS256", "PS256", "ES256", "ES384", "EdDSA"};
    return names;
}

/// @brief Whether the method sends the client secret (itself or as the HS256 key).
inline bool uses_secret(oauth2cc::auth_method m) {
    return m == oauth2cc::auth_method::client_secret_basic ||
           m == oauth2cc::auth_method::client_secret_post ||
           m == oauth2cc::auth_method::client_secret_jwt;
}

/// @brief Sets cfg.auth, and the key or the assertion source, from the settings. With no
/// method named, a key file means private_key_jwt, an assertion file client_assertion,
/// and neither client_secret_basic.
/// @throws std::runtime_error for an unknown name, or a key or assertion file given to a
///         method that does not use it
/// @throws oauth2cc::error `config` naming the key file when the key cannot be read or
///         used (it never quotes the file)
inline void apply_authentication(oauth2cc::client_config& cfg, const authentication_settings& s) {
    using oauth2cc::auth_method;
    const std::string& m = s.method;
    if (m.empty()) {
        cfg.auth = !s.key_file.empty()         ? auth_method::private_key_jwt
                   : !s.assertion_file.empty() ? auth_method::client_assertion
                                               : auth_method::client_secret_basic;
    } else if (m == "basic" || m == "client_secret_basic") {
        cfg.auth = auth_method::client_secret_basic;
    } else if (m == "post" || m == "client_secret_post") {
        cfg.auth = auth_method::client_secret_post;
    } else if (m == "none") {
        cfg.auth = auth_method::none;
    } else if (m == "client_secret_jwt") {
        cfg.auth = auth_method::client_secret_jwt;
    } else if (m == "private_key_jwt") {
        cfg.auth = auth_method::private_key_jwt;
    } else if (m == "client_assertion") {
        cfg.auth = auth_method::client_assertion;
    } else if (m == "tls_client_auth") {
        cfg.auth = auth_method::tls_client_auth;
    } else if (m == "self_signed_tls_client_auth") {
        cfg.auth = auth_method::self_signed_tls_client_auth;
    } else {
        throw std::runtime_error("unknown client authentication method \"" + m + "\"");
    }
    const bool wants_key = cfg.auth == auth_method::private_key_jwt;
    const bool wants_assertion = cfg.auth == auth_method::client_assertion;
    if (!wants_key && (!s.key_file.empty() || !s.key_id.empty() || !s.key_alg.empty())) {
        throw std::runtime_error("a client key is for the private_key_jwt method only");
    }
    if (!wants_assertion && !s.assertion_file.empty()) {
        throw std::runtime_error("an assertion file is for the client_assertion method only");
    }
    if (wants_key) {
        if (s.key_file.empty()) throw std::runtime_error("private_key_jwt needs a client key file");
        std::optional<oauth2cc::jws_alg> alg;
        for (const auto a :
             {oauth2cc::jws_alg::rs256, oauth2cc::jws_alg::ps256, oauth2cc::jws_alg::es256,
              oauth2cc::jws_alg::es384, oauth2cc::jws_alg::eddsa}) {
            if (s.key_alg == oauth2cc::to_string(a)) alg = a;
        }
        if (!s.key_alg.empty() && !alg) {
            throw std::runtime_error("unknown key algorithm \"" + s.key_alg + "\"");
        }
        cfg.client_key = oauth2cc::signing_key::from_pem_file(s.key_file, s.key_id, alg);
    }
    if (wants_assertion) {
        if (s.assertion_file.empty()) {
            throw std::runtime_error("client_assertion needs an assertion file");
        }
        cfg.client_assertion = oauth2cc::assertion_from_file(s.assertion_file);
    }
    // Mutual TLS: the certificate authenticates the tls methods, and binds the tokens of
    // any method on a server that issues certificate-bound tokens.
    if (s.cert_file.empty() != s.cert_key_file.empty()) {
        throw std::runtime_error("a client certificate and its key go together");
    }
    const bool tls_method = cfg.auth == auth_method::tls_client_auth ||
                            cfg.auth == auth_method::self_signed_tls_client_auth;
    if (tls_method && s.cert_file.empty()) {
        throw std::runtime_error(std::string(oauth2cc::to_string(cfg.auth)) +
                                 " needs a client certificate and its key");
    }
    cfg.tls.client_cert_file = s.cert_file;
    cfg.tls.client_key_file = s.cert_key_file;
    if (s.dpop && !s.dpop_key_file.empty()) {
        throw std::runtime_error("a DPoP key file, or a new DPoP key: not both");
    }
    if (!s.dpop_key_file.empty()) {
        cfg.dpop_key = oauth2cc::signing_key::from_pem_file(s.dpop_key_file);
    } else if (s.dpop) {
        cfg.dpop_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
    }
}

/// @brief The grant a client asks with, as the example programs take it from flags or
/// OAUTH2_* variables: each field empty when not given.
struct grant_settings {
    std::string grant;                 ///< OAUTH2_GRANT, --grant
    std::string subject_token_file;    ///< OAUTH2_SUBJECT_TOKEN_FILE, --subject-token-file
    std::string subject_token_type;    ///< OAUTH2_SUBJECT_TOKEN_TYPE, --subject-token-type
    std::string actor_token_file;      ///< OAUTH2_ACTOR_TOKEN_FILE, --actor-token-file
    std::string actor_token_type;      ///< OAUTH2_ACTOR_TOKEN_TYPE, --actor-token-type
    std::string requested_token_type;  ///< OAUTH2_REQUESTED_TOKEN_TYPE, --requested-token-type
    std::string assertion_file;        ///< OAUTH2_ASSERTION_FILE, --assertion-file
    std::string grant_key_file;        ///< OAUTH2_GRANT_KEY_FILE, --grant-key
    std::string grant_key_id;          ///< OAUTH2_GRANT_KEY_ID, --grant-key-id
    std::string assertion_subject;     ///< OAUTH2_ASSERTION_SUBJECT, --assertion-subject
};

/// @brief The grants by the names --grant takes.
inline const std::vector<std::string>& grant_names() {
    static const std::vector<std::string> names{"client_credentials", "token_exchange",
                                                "jwt_bearer"};
    return names;
}

/// @brief The RFC 8693 §3 token types by their short names, which the type settings take
/// besides the URIs themselves.
inline const std::vector<std::string>& token_type_names() {
    static const std::vector<std::string> names{"access_token", "refresh_token", "id_token",
                                                "jwt",          "saml1",         "saml2"};
    return names;
}

/// @brief A token type setting as its URI: a short name gets the RFC 8693 prefix; a URI
/// (anything with ':') is taken as it is.
/// @throws std::runtime_error for an unknown short name
inline std::string token_type_uri(const std::string& name) {
    if (name.empty() || name.find(':') != std::string::npos) return name;
    for (const auto& known : token_type_names()) {
        if (name == known) return "urn:ietf:params:oauth:token-type:" + name;
    }
    throw std::runtime_error("unknown token type \"" + name +
                             "\": access_token, refresh_token, id_token, jwt, saml1, saml2, or "
                             "a URI");
}

/// @brief Sets cfg.grant and its sources from the settings. With no grant named, a
/// subject token file means token_exchange, an assertion file or a grant key jwt_bearer,
/// and neither client_credentials. The token files are re-read when they change; a grant
/// key signs a new assertion for each request, with iss the client id, sub
/// assertion_subject (the client id when empty) and aud cfg.assertion_audience (the token
/// endpoint when empty): set those first.
/// @throws std::runtime_error for an unknown name, or settings of another grant
/// @throws oauth2cc::error `config` naming the key file when the key cannot be used
inline void apply_grant(oauth2cc::client_config& cfg, const grant_settings& s) {
    using oauth2cc::grant_type;
    const bool jwt_source = !s.assertion_file.empty() || !s.grant_key_file.empty();
    if (s.grant.empty()) {
        cfg.grant = !s.subject_token_file.empty() ? grant_type::token_exchange
                    : jwt_source                  ? grant_type::jwt_bearer
                                                  : grant_type::client_credentials;
    } else if (s.grant == "client_credentials") {
        cfg.grant = grant_type::client_credentials;
    } else if (s.grant == "token_exchange") {
        cfg.grant = grant_type::token_exchange;
    } else if (s.grant == "jwt_bearer") {
        cfg.grant = grant_type::jwt_bearer;
    } else {
        throw std::runtime_error("unknown grant \"" + s.grant +
                                 "\": client_credentials, token_exchange or jwt_bearer");
    }
    const bool exchange = cfg.grant == grant_type::token_exchange;
    const bool jwt = cfg.grant == grant_type::jwt_bearer;
    if (!exchange && !(s.subject_token_file.empty() && s.subject_token_type.empty() &&
                       s.actor_token_file.empty() && s.actor_token_type.empty() &&
                       s.requested_token_type.empty())) {
        throw std::runtime_error(
            "subject, actor and requested token settings are for the "
            "token_exchange grant only");
    }
    if (!jwt && (jwt_source || !s.grant_key_id.empty() || !s.assertion_subject.empty())) {
        throw std::runtime_error("an assertion file or grant key is for the jwt_bearer grant only");
    }
    if (exchange) {
        if (s.subject_token_file.empty()) {
            throw std::runtime_error("token_exchange needs a subject token file");
        }
        cfg.subject_token = oauth2cc::assertion_from_file(s.subject_token_file);
        if (!s.subject_token_type.empty())
            cfg.subject_token_type = token_type_uri(s.subject_token_type);
        if (!s.actor_token_file.empty()) {
            cfg.actor_token = oauth2cc::assertion_from_file(s.actor_token_file);
            // An actor token whose type is not given: an access token, as for the subject.
            cfg.actor_token_type = s.actor_token_type.empty() ? oauth2cc::token_types::access_token
                                                              : token_type_uri(s.actor_token_type);
        } else if (!s.actor_token_type.empty()) {
            throw std::runtime_error("an actor token type without an actor token file");
        }
        cfg.requested_token_type = token_type_uri(s.requested_token_type);
    }
    if (jwt) {
        if (!s.assertion_file.empty() && !s.grant_key_file.empty()) {
            throw std::runtime_error("an assertion file, or a grant key: not both");
        }
        if (!s.assertion_file.empty()) {
            if (!s.grant_key_id.empty() || !s.assertion_subject.empty()) {
                throw std::runtime_error(
                    "the grant key id and assertion subject are for a grant key only");
            }
            cfg.grant_assertion = oauth2cc::assertion_from_file(s.assertion_file);
        } else if (!s.grant_key_file.empty()) {
            if (cfg.client_id.empty()) throw std::runtime_error("a grant key needs the client id");
            const std::string audience = !cfg.assertion_audience.empty() ? cfg.assertion_audience
                                         : !cfg.token_endpoint.empty()   ? cfg.token_endpoint
                                                                         : cfg.issuer;
            cfg.grant_assertion = oauth2cc::jwt_bearer_assertion(
                oauth2cc::signing_key::from_pem_file(s.grant_key_file, s.grant_key_id),
                cfg.client_id, s.assertion_subject.empty() ? cfg.client_id : s.assertion_subject,
                audience);
        } else {
            throw std::runtime_error("jwt_bearer needs an assertion file or a grant key");
        }
    }
}

/// @brief The grant settings from OAUTH2_GRANT, OAUTH2_SUBJECT_TOKEN_FILE,
/// OAUTH2_SUBJECT_TOKEN_TYPE, OAUTH2_ACTOR_TOKEN_FILE, OAUTH2_ACTOR_TOKEN_TYPE,
/// OAUTH2_REQUESTED_TOKEN_TYPE, OAUTH2_ASSERTION_FILE, OAUTH2_GRANT_KEY_FILE,
/// OAUTH2_GRANT_KEY_ID and OAUTH2_ASSERTION_SUBJECT.
inline grant_settings grant_settings_from_environment() {
    return {env("OAUTH2_GRANT"),
            env("OAUTH2_SUBJECT_TOKEN_FILE"),
            env("OAUTH2_SUBJECT_TOKEN_TYPE"),
            env("OAUTH2_ACTOR_TOKEN_FILE"),
            env("OAUTH2_ACTOR_TOKEN_TYPE"),
            env("OAUTH2_REQUESTED_TOKEN_TYPE"),
            env("OAUTH2_ASSERTION_FILE"),
            env("OAUTH2_GRANT_KEY_FILE"),
            env("OAUTH2_GRANT_KEY_ID"),
            env("OAUTH2_ASSERTION_SUBJECT")};
}

/// @brief A client configuration from OAUTH2_TOKEN_URL or OAUTH2_ISSUER (the token
/// endpoint then comes from the issuer's metadata), the credentials, OAUTH2_SCOPE, and
/// the authentication: OAUTH2_AUTH_METHOD (basic, post, none, client_secret_jwt,
/// private_key_jwt, client_assertion), OAUTH2_CLIENT_KEY_FILE, OAUTH2_CLIENT_KEY_ID,
/// OAUTH2_CLIENT_KEY_ALG, OAUTH2_CLIENT_ASSERTION_FILE, OAUTH2_ASSERTION_AUDIENCE; for
/// mutual TLS OAUTH2_CLIENT_CERT_FILE and OAUTH2_CLIENT_CERT_KEY_FILE; for DPoP
/// OAUTH2_DPOP_KEY_FILE, or OAUTH2_DPOP=1 for a new key per run; and the grant
/// (grant_settings_from_environment()).
/// @throws std::runtime_error when the secret file cannot be read or the settings
///         contradict each other (oauth2cc::error for a key that cannot be used)
inline oauth2cc::client_config client_config_from_environment() {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = env("OAUTH2_TOKEN_URL");
    cfg.issuer = env("OAUTH2_ISSUER");
    apply_authentication(
        cfg, {env("OAUTH2_AUTH_METHOD"), env("OAUTH2_CLIENT_KEY_FILE"), env("OAUTH2_CLIENT_KEY_ID"),
              env("OAUTH2_CLIENT_KEY_ALG"), env("OAUTH2_CLIENT_ASSERTION_FILE"),
              env("OAUTH2_CLIENT_CERT_FILE"), env("OAUTH2_CLIENT_CERT_KEY_FILE"),
              env("OAUTH2_DPOP_KEY_FILE"), env("OAUTH2_DPOP") == "1"});
    cfg.assertion_audience = env("OAUTH2_ASSERTION_AUDIENCE");
    if (uses_secret(cfg.auth)) {
        read_credentials(cfg);
    } else {
        cfg.client_id = env("OAUTH2_CLIENT_ID");
    }
    cfg.scopes = split_scopes(env("OAUTH2_SCOPE"));
    apply_grant(cfg, grant_settings_from_environment());
    return cfg;
}

}  // namespace oauth2cc_examples
