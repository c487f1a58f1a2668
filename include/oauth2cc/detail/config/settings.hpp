// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/config/settings.hpp: the settings of a client configuration given as named strings
// (OAUTH2_* variables, a JSON file's members, oauth2cc-cli's options): what each name
// means, and an error naming the setting (never a secret's value) for each bad one.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../oauth/client_assertion.hpp"
#include "../store/private_files.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>

namespace oauth2cc::detail {

/// @brief Every setting's name: the environment's OAUTH2_<NAME> and the file's member.
inline const std::vector<std::string_view>& setting_names() {
    static const std::vector<std::string_view> names{"token_url",
                                                     "issuer",
                                                     "client_id",
                                                     "client_secret",
                                                     "client_secret_file",
                                                     "auth_method",
                                                     "scope",
                                                     "client_key_file",
                                                     "client_key_id",
                                                     "client_key_alg",
                                                     "client_assertion_file",
                                                     "assertion_audience",
                                                     "client_cert_file",
                                                     "client_cert_key_file",
                                                     "dpop",
                                                     "dpop_key_file",
                                                     "audience",
                                                     "resource",
                                                     "ca_file",
                                                     "revocation_url",
                                                     "grant",
                                                     "subject_token_file",
                                                     "subject_token_type",
                                                     "actor_token_file",
                                                     "actor_token_type",
                                                     "requested_token_type",
                                                     "assertion_file",
                                                     "grant_key_file",
                                                     "grant_key_id",
                                                     "assertion_subject"};
    return names;
}

/// @brief Settings by name, and how errors name them (OAUTH2_SCOPE, or "scope" in FILE).
class settings_reader {
public:
    using settings = std::map<std::string, std::string, std::less<>>;

    settings_reader(const settings& values, std::function<std::string(std::string_view)> label)
        : values_(values), label_(std::move(label)) {}

    /// @brief The value of a setting; empty when not given.
    const std::string& operator[](std::string_view name) const {
        static const std::string none;
        const auto found = values_.find(name);
        return found != values_.end() ? found->second : none;
    }

    bool has(std::string_view name) const { return !(*this)[name].empty(); }

    /// @brief How errors name a setting.
    std::string label(std::string_view name) const { return label_(name); }

    /// @throws error `config`: "<label>: why"
    [[noreturn]] void fail(std::string_view name, const std::string& why) const {
        throw error(error_kind::config, label(name) + ": " + why);
    }

    /// @brief The path a setting names, once it is known to be a file this process can
    /// read; empty when not given.
    /// @throws error `config` naming the setting and the path when it is not
    std::string file(std::string_view name) const {
        const std::string& path = (*this)[name];
        if (path.empty()) return path;
        if (has_control(path)) fail(name, "the path has control characters");
        // O_NONBLOCK: a FIFO (a shell's <(...), say) does not block the check.
        const unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        if (fd.get() < 0) {
            const int err = errno;
            // The secret's file setting is often given the secret itself by mistake: its
            // value is never shown.
            if (name == "client_secret_file") {
                fail(name, std::string("cannot read the file it names: ") + std::strerror(err) +
                               " (it takes the path of a file that holds the secret; give "
                               "the secret itself as client_secret)");
            }
            fail(name, "cannot read \"" + excerpt(path, 200) + "\": " + std::strerror(err));
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
            fail(name, "\"" + excerpt(path, 200) + "\" is a directory, not a file");
        }
        return path;
    }

private:
    const settings& values_;
    std::function<std::string(std::string_view)> label_;
};

/// @brief The names auth_method takes (those of oauth2cc-cli --auth).
inline std::optional<auth_method> auth_method_named(std::string_view m) {
    static const std::pair<std::string_view, auth_method> names[] = {
        {"basic", auth_method::client_secret_basic},
        {"client_secret_basic", auth_method::client_secret_basic},
        {"post", auth_method::client_secret_post},
        {"client_secret_post", auth_method::client_secret_post},
        {"none", auth_method::none},
        {"client_secret_jwt", auth_method::client_secret_jwt},
        {"private_key_jwt", auth_method::private_key_jwt},
        {"client_assertion", auth_method::client_assertion},
        {"tls_client_auth", auth_method::tls_client_auth},
        {"self_signed_tls_client_auth", auth_method::self_signed_tls_client_auth}};
    for (const auto& [name, method] : names) {
        if (name == m) return method;
    }
    return std::nullopt;
}

/// @brief A key file setting as a signing_key, with its id and algorithm settings.
/// @throws error `config` naming the setting when the key cannot be read or used
inline signing_key key_setting(const settings_reader& s, std::string_view file, std::string_view id,
                               std::string_view alg_name = {}) {
    std::optional<jws_alg> alg;
    const std::string& wanted = alg_name.empty() ? std::string() : s[alg_name];
    for (const auto a :
         {jws_alg::rs256, jws_alg::ps256, jws_alg::es256, jws_alg::es384, jws_alg::eddsa}) {
        if (wanted == to_string(a)) alg = a;
    }
    if (!wanted.empty() && !alg) {
        s.fail(alg_name, "unknown algorithm \"" + excerpt(wanted, 40) +
                             "\": RS256, PS256, ES256, ES384 or EdDSA");
    }
    const std::string path = s.file(file);
    try {
        return signing_key::from_pem_file(path, id.empty() ? std::string() : s[id], alg);
    } catch (const error& e) {
        s.fail(file, e.what());
    }
}

/// @brief Sets cfg.auth and what the method uses, from auth_method, client_key_file,
/// client_key_id, client_key_alg, client_assertion_file, client_cert_file,
/// client_cert_key_file, dpop and dpop_key_file. With no method named, a key file means
/// private_key_jwt, an assertion file client_assertion, and neither client_secret_basic.
/// @throws error `config` naming the setting that is unknown, missing or out of place
inline void apply_authentication(client_config& cfg, const settings_reader& s) {
    if (!s.has("auth_method")) {
        cfg.auth = s.has("client_key_file")         ? auth_method::private_key_jwt
                   : s.has("client_assertion_file") ? auth_method::client_assertion
                                                    : auth_method::client_secret_basic;
    } else if (const auto m = auth_method_named(s["auth_method"])) {
        cfg.auth = *m;
    } else {
        s.fail("auth_method", "unknown method \"" + excerpt(s["auth_method"], 40) +
                                  "\": client_secret_basic (basic), client_secret_post (post), "
                                  "none, client_secret_jwt, private_key_jwt, client_assertion, "
                                  "tls_client_auth or self_signed_tls_client_auth");
    }
    const std::string method(to_string(cfg.auth));
    for (const char* name : {"client_key_file", "client_key_id", "client_key_alg"}) {
        if (s.has(name) && cfg.auth != auth_method::private_key_jwt) {
            s.fail(name, "a client key is for the private_key_jwt method only, not " + method);
        }
    }
    if (s.has("client_assertion_file") && cfg.auth != auth_method::client_assertion) {
        s.fail("client_assertion_file",
               "an assertion file is for the client_assertion method only, not " + method);
    }
    if (cfg.auth == auth_method::private_key_jwt) {
        if (!s.has("client_key_file"))
            s.fail("client_key_file", "private_key_jwt needs a client key file");
        cfg.client_key = key_setting(s, "client_key_file", "client_key_id", "client_key_alg");
    }
    if (cfg.auth == auth_method::client_assertion) {
        if (!s.has("client_assertion_file")) {
            s.fail("client_assertion_file", "client_assertion needs an assertion file");
        }
        cfg.client_assertion = assertion_from_file(s.file("client_assertion_file"));
    }
    // Mutual TLS: the certificate authenticates the tls methods, and binds the tokens of
    // any method on a server that issues certificate-bound tokens.
    if (s.has("client_cert_file") != s.has("client_cert_key_file")) {
        s.fail(s.has("client_cert_file") ? "client_cert_key_file" : "client_cert_file",
               "a client certificate and its key go together");
    }
    const bool tls_method = cfg.auth == auth_method::tls_client_auth ||
                            cfg.auth == auth_method::self_signed_tls_client_auth;
    if (tls_method && !s.has("client_cert_file")) {
        s.fail("client_cert_file", method + " needs a client certificate and its key");
    }
    cfg.tls.client_cert_file = s.file("client_cert_file");
    cfg.tls.client_key_file = s.file("client_cert_key_file");
    const std::string& dpop = s["dpop"];
    if (!dpop.empty() && dpop != "0" && dpop != "1" && dpop != "true" && dpop != "false") {
        s.fail("dpop", "takes 1 (a new DPoP key for this process) or 0");
    }
    const bool new_dpop_key = dpop == "1" || dpop == "true";
    if (new_dpop_key && s.has("dpop_key_file")) {
        s.fail("dpop", "a DPoP key file, or a new DPoP key: not both");
    }
    if (s.has("dpop_key_file")) {
        cfg.dpop_key = key_setting(s, "dpop_key_file", {});
    } else if (new_dpop_key) {
        cfg.dpop_key = signing_key::generate(jws_alg::es256);
    }
}

/// @brief The client secret from client_secret_file or client_secret, for a method that
/// sends one. A method that sends none leaves both unread: an environment may hold a
/// secret for another program, and it is no error.
/// @throws error `config` naming the setting, never the secret
inline void apply_secret(client_config& cfg, const settings_reader& s) {
    if (!sends_secret(cfg.auth)) return;
    const bool file = s.has("client_secret_file");
    const bool value = s.has("client_secret");
    if (file && value) s.fail("client_secret", "set the secret or its file, not both");
    if (!file && !value) {
        s.fail("client_secret_file", std::string(to_string(cfg.auth)) + " needs a client secret");
    }
    if (value) {
        if (has_control(s["client_secret"])) s.fail("client_secret", "has control characters");
        cfg.client_secret = secret(s["client_secret"]);
        return;
    }
    cfg.client_secret_file = s.file("client_secret_file");
}

/// @brief The RFC 8693 §3 token types by their short names, which the type settings take
/// besides the URIs themselves.
/// @throws error `config` naming the setting for an unknown short name
inline std::string token_type_setting(const settings_reader& s, std::string_view name) {
    const std::string& value = s[name];
    if (value.empty() || value.find(':') != std::string::npos) return value;
    for (const char* known :
         {"access_token", "refresh_token", "id_token", "jwt", "saml1", "saml2"}) {
        if (value == known) return "urn:ietf:params:oauth:token-type:" + value;
    }
    s.fail(name, "unknown token type \"" + excerpt(value, 40) +
                     "\": access_token, refresh_token, id_token, jwt, saml1, saml2, or a URI");
}

/// @brief The JWT bearer grant's assertion source: assertion_file, or grant_key_file
/// (with grant_key_id and assertion_subject) signing one per request.
/// @throws error `config` naming the setting that is missing or out of place
inline void apply_jwt_bearer(client_config& cfg, const settings_reader& s) {
    if (s.has("assertion_file") && s.has("grant_key_file")) {
        s.fail("assertion_file", "an assertion file, or a grant key: not both");
    }
    if (s.has("assertion_file")) {
        for (const char* n : {"grant_key_id", "assertion_subject"}) {
            if (s.has(n)) s.fail(n, "is for a grant key, not an assertion file");
        }
        cfg.grant_assertion = assertion_from_file(s.file("assertion_file"));
    } else if (s.has("grant_key_file")) {
        if (cfg.client_id.empty()) s.fail("client_id", "a grant key signs as the client id");
        const std::string audience = !cfg.assertion_audience.empty() ? cfg.assertion_audience
                                     : !cfg.token_endpoint.empty()   ? cfg.token_endpoint
                                                                     : cfg.issuer;
        const std::string& subject = s["assertion_subject"];
        cfg.grant_assertion =
            jwt_bearer_assertion(key_setting(s, "grant_key_file", "grant_key_id"), cfg.client_id,
                                 subject.empty() ? cfg.client_id : subject, audience);
    } else {
        s.fail("grant", "jwt_bearer needs an assertion file or a grant key");
    }
}

/// @brief The grant a name means: to_string() of each.
inline std::optional<grant_type> grant_named(std::string_view name) {
    for (const auto g :
         {grant_type::client_credentials, grant_type::token_exchange, grant_type::jwt_bearer}) {
        if (name == to_string(g)) return g;
    }
    return std::nullopt;
}

/// @brief Sets cfg.grant and its sources from grant, subject_token_file,
/// subject_token_type, actor_token_file, actor_token_type, requested_token_type,
/// assertion_file, grant_key_file, grant_key_id and assertion_subject. With no grant
/// named, a subject token file means token_exchange, an assertion file or a grant key
/// jwt_bearer, and neither client_credentials. The token files are re-read when they
/// change; a grant key signs a new assertion for each request, with iss the client id,
/// sub assertion_subject (the client id when empty) and aud cfg.assertion_audience (the
/// token endpoint, else the issuer, when empty).
/// @throws error `config` naming the setting that is unknown, missing or out of place
inline void apply_grant(client_config& cfg, const settings_reader& s) {
    const bool jwt_source = s.has("assertion_file") || s.has("grant_key_file");
    const std::string& name = s["grant"];
    if (name.empty()) {
        cfg.grant = s.has("subject_token_file") ? grant_type::token_exchange
                    : jwt_source                ? grant_type::jwt_bearer
                                                : grant_type::client_credentials;
    } else if (const auto named = grant_named(name)) {
        cfg.grant = *named;
    } else {
        s.fail("grant", "unknown grant \"" + excerpt(name, 40) +
                            "\": client_credentials, token_exchange or jwt_bearer");
    }
    const std::string grant(to_string(cfg.grant));
    for (const char* n : {"subject_token_file", "subject_token_type", "actor_token_file",
                          "actor_token_type", "requested_token_type"}) {
        if (s.has(n) && cfg.grant != grant_type::token_exchange) {
            s.fail(n, "is for the token_exchange grant, not " + grant);
        }
    }
    for (const char* n :
         {"assertion_file", "grant_key_file", "grant_key_id", "assertion_subject"}) {
        if (s.has(n) && cfg.grant != grant_type::jwt_bearer) {
            s.fail(n, "is for the jwt_bearer grant, not " + grant);
        }
    }
    if (cfg.grant == grant_type::token_exchange) {
        if (!s.has("subject_token_file")) {
            s.fail("subject_token_file", "token_exchange needs a subject token file");
        }
        cfg.subject_token = assertion_from_file(s.file("subject_token_file"));
        if (s.has("subject_token_type")) {
            cfg.subject_token_type = token_type_setting(s, "subject_token_type");
        }
        if (s.has("actor_token_file")) {
            cfg.actor_token = assertion_from_file(s.file("actor_token_file"));
            // An actor token whose type is not given: an access token, as for the subject.
            cfg.actor_token_type = s.has("actor_token_type")
                                       ? token_type_setting(s, "actor_token_type")
                                       : std::string(token_types::access_token);
        } else if (s.has("actor_token_type")) {
            s.fail("actor_token_type", "an actor token type without an actor token file");
        }
        cfg.requested_token_type = token_type_setting(s, "requested_token_type");
    }
    if (cfg.grant == grant_type::jwt_bearer) apply_jwt_bearer(cfg, s);
}

}  // namespace oauth2cc::detail
