// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/grant.hpp: the grants beyond client credentials: token exchange (RFC 8693)
// and the JWT bearer grant (RFC 7523 §2.1), their credentials taken afresh for each
// request, and the subject each token is for.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "../../signing_key.hpp"
#include "../crypto/jose.hpp"
#include "jwt_bearer_signer.hpp"
#include "../crypto/sha256.hpp"
#include "../text/form.hpp"
#include "../text/json_bounded.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The `grant_type` a request sends (RFC 6749 §4.4.2, RFC 8693 §2.1, RFC 7523 §2.1).
constexpr const char* grant_type_value(grant_type grant) noexcept {
    switch (grant) {
        case grant_type::client_credentials:
            return "client_credentials";
        case grant_type::token_exchange:
            return "urn:ietf:params:oauth:grant-type:token-exchange";
        case grant_type::jwt_bearer:
            return "urn:ietf:params:oauth:grant-type:jwt-bearer";
    }
    return "client_credentials";
}

/// @brief Calls a user's source of a credential (an assertion, a subject or actor token).
/// @param what the source's field, for messages ("client_assertion", "subject_token", ...)
/// @throws error `config` when it throws, returns nothing, or returns text with spaces or
///         control characters (no token or JWT has them); the message never quotes it
inline std::string call_source(const std::function<std::string()>& source, const char* what) {
    std::string value;
    try {
        value = source();
    } catch (const error& e) {
        // Our own messages (assertion_from_file's) name a file, never its content.
        throw error(error_kind::config, std::string("the ") + what + " source failed: " + e.what());
    } catch (...) {
        // A message of the user's source may quote what it read: it is not repeated.
        throw error(error_kind::config, std::string("the ") + what + " source threw an exception");
    }
    if (value.empty()) {
        throw error(error_kind::config, std::string("the ") + what + " source returned nothing");
    }
    for (const char c : value) {
        if (is_control(c) || c == ' ') {
            wipe(value);
            throw error(error_kind::config,
                        std::string("the ") + what +
                            " source returned text with spaces or control characters, which no "
                            "token or JWT has");
        }
    }
    return value;
}

/// @brief The signer behind cfg.grant_assertion when jwt_bearer_assertion() made it; else
/// null.
inline const jwt_bearer_signer* own_signer(const client_config& cfg) noexcept {
    return cfg.grant_assertion ? cfg.grant_assertion.target<jwt_bearer_signer>() : nullptr;
}

/// @brief The part of a token's key that names its subject, for the JWT bearer grant:
/// the assertion's issuer and subject, a digest of every claim but those that change
/// with each assertion (iat, nbf, exp, jti), and a digest of what names the key that
/// signs (for a signer of ours, its RFC 7638 thumbprint; for an assertion made elsewhere,
/// its JWS header: alg, kid, and the like). Assertions that would get other tokens
/// (another scope, audience or claim, another key) have other keys.
inline std::string assertion_subject_key(nlohmann::json claims, std::string_view signer) {
    std::string key = "assertion_iss=" + form_encode(claims["iss"].get_ref<const std::string&>()) +
                      "&assertion_sub=" + form_encode(claims["sub"].get_ref<const std::string&>());
    for (const char* changing : {"iat", "nbf", "exp", "jti"}) claims.erase(changing);
    // An object's members are sorted: one text for one set of claims.
    std::string text = claims.dump();
    key += "&assertion_claims=" + sha256_hex(text);
    wipe(text);
    wipe_strings(claims);
    key += "&assertion_signer=" + sha256_hex(signer);
    return key;
}

/// @brief The subject key of a signer of ours (see above).
inline std::string assertion_subject_key(const jwt_bearer_signer& signer) {
    return assertion_subject_key(signer.lasting_claims(), "jkt=" + signer.key_thumbprint());
}

/// @brief The subject key of a JWT assertion (see above), which names iss and sub
/// (RFC 7523 §3).
/// @throws error `config` when it is not a JWS compact JWT whose claims hold both as strings
inline std::string assertion_subject_key(std::string_view jwt) {
    const std::size_t first = jwt.find('.');
    const std::size_t second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
    std::optional<std::string> header, payload;
    if (second != std::string_view::npos) {
        header = base64url_decode(jwt.substr(0, first));
        payload = base64url_decode(jwt.substr(first + 1, second - first - 1));
    }
    std::string key;
    if (header && payload) {
        json_notes notes;
        auto claims = parse_json_bounded(*payload, notes);
        wipe(*payload);
        auto head = parse_json_bounded(*header, notes);
        const auto names = [&claims](const char* name) {
            const auto it = claims.find(name);
            return it != claims.end() && it->is_string();
        };
        if (claims.is_object() && head.is_object() && names("iss") && names("sub")) {
            key = assertion_subject_key(std::move(claims), "jws=" + head.dump());
        } else {
            wipe_strings(claims);
        }
    }
    if (key.empty()) {
        throw error(error_kind::config,
                    "the grant_assertion is not a JWT whose header is a JSON object and whose "
                    "claims name iss and sub as strings (RFC 7523 §3)");
    }
    return key;
}

/// @brief The part of a token's key that names its subject, for token exchange: the
/// SHA-256 of the subject token, and of the actor token when there is one.
inline std::string exchange_subject_key(std::string_view subject, std::string_view actor) {
    std::string key = "subject_token=" + sha256_hex(subject);
    if (!actor.empty()) key += "&actor_token=" + sha256_hex(actor);
    return key;
}

/// @brief True when a manager must ask the sources in every get() which subject is
/// current: token exchange, and the JWT bearer grant with an assertion made elsewhere
/// (a file, say), whose issuer and subject only the assertion tells.
inline bool follows_subject(const client_config& cfg) noexcept {
    return cfg.grant == grant_type::token_exchange ||
           (cfg.grant == grant_type::jwt_bearer && own_signer(cfg) == nullptr);
}

/// @brief The current subject of a config that follows_subject(): what its sources gave,
/// and the key that names it (subject_now() makes it). The credentials are wiped with it.
struct current_subject {
    secret subject;   ///< token exchange: the subject token; JWT bearer: the assertion read
    secret actor;     ///< token exchange: the actor token, when there is one
    std::string key;  ///< exchange_subject_key() or assertion_subject_key()
    std::size_t key_hash = 0;  ///< std::hash of key, worked out once per subject
};

/// @brief cfg made to ask for subj's token only: token exchange sends subj's tokens (from
/// whatever thread its requests run on); the JWT bearer grant still takes a new assertion
/// for each request, refused when it names another subject.
inline client_config for_subject(client_config cfg, const current_subject& subj) {
    if (cfg.grant == grant_type::token_exchange) {
        auto subject = std::make_shared<const secret>(subj.subject);
        cfg.subject_token = [subject] { return subject->reveal(); };
        if (!subj.actor.empty()) {
            auto actor = std::make_shared<const secret>(subj.actor);
            cfg.actor_token = [actor] { return actor->reveal(); };
        }
    } else {
        cfg.grant_assertion = [source = cfg.grant_assertion, key = subj.key] {
            std::string assertion = source();
            try {
                if (assertion_subject_key(assertion) == key) return assertion;
            } catch (...) {
                wipe(assertion);
                throw;
            }
            wipe(assertion);
            throw error(error_kind::config,
                        "the grant_assertion now names another issuer or subject than the token "
                        "asked for; the next get() asks for the new one");
        };
    }
    return cfg;
}

/// @brief The grant's credentials of one request, asked of the sources for each send.
class grant_maker {
public:
    explicit grant_maker(const client_config& cfg)
        : grant_(cfg.grant),
          subject_(cfg.subject_token),
          subject_type_(cfg.subject_token_type),
          actor_(cfg.actor_token),
          actor_type_(cfg.actor_token_type),
          assertion_(cfg.grant_assertion) {}

    /// @brief Appends this request's fields to fields; each credential is also added to
    /// secrets (for redaction), and the caller wipes both.
    /// @throws error `config` as call_source(); nothing is then sent
    void make(name_value_list& fields, std::vector<std::string>& secrets) const {
        if (grant_ == grant_type::jwt_bearer) {
            secrets.push_back(call_source(assertion_, "grant_assertion"));
            fields.emplace_back("assertion", secrets.back());
            return;
        }
        secrets.push_back(call_source(subject_, "subject_token"));
        fields.emplace_back("subject_token", secrets.back());
        fields.emplace_back("subject_token_type", subject_type_);
        if (actor_) {
            secrets.push_back(call_source(actor_, "actor_token"));
            fields.emplace_back("actor_token", secrets.back());
            fields.emplace_back("actor_token_type", actor_type_);
        }
    }

private:
    grant_type grant_;
    std::function<std::string()> subject_;
    std::string subject_type_;
    std::function<std::string()> actor_;
    std::string actor_type_;
    std::function<std::string()> assertion_;
};

/// @brief Refuses a grant that lacks what it needs, or fields of another grant.
/// @throws error `config`; the message names the field, never a credential
inline void validate_grant(const client_config& cfg) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    const auto check_type = [&fail](const std::string& type, const char* name) {
        if (has_control(type) || type.find(' ') != std::string::npos) {
            fail(std::string(name) + " has spaces or control characters");
        }
    };
    const bool exchange = cfg.grant == grant_type::token_exchange;
    const std::string grant(to_string(cfg.grant));
    if (!exchange) {
        if (cfg.subject_token || cfg.actor_token) {
            fail("subject_token and actor_token are for grant_type::token_exchange, not " + grant);
        }
        if (!cfg.requested_token_type.empty() || !cfg.actor_token_type.empty()) {
            fail(
                "requested_token_type and actor_token_type are for grant_type::token_exchange, "
                "not " +
                grant);
        }
    }
    if (cfg.grant != grant_type::jwt_bearer && cfg.grant_assertion) {
        fail("grant_assertion is for grant_type::jwt_bearer, not " + grant);
    }
    if (exchange) {
        if (!cfg.subject_token) {
            fail(
                "grant_type::token_exchange needs the subject_token function (e.g. "
                "assertion_from_file(path) or subject_token_of(manager))");
        }
        if (cfg.subject_token_type.empty()) fail("subject_token_type is empty");
        if (cfg.actor_token && cfg.actor_token_type.empty()) {
            fail("actor_token is set without actor_token_type (RFC 8693 §2.1)");
        }
        if (!cfg.actor_token && !cfg.actor_token_type.empty()) {
            fail("actor_token_type is set without actor_token");
        }
        check_type(cfg.subject_token_type, "subject_token_type");
        check_type(cfg.actor_token_type, "actor_token_type");
        check_type(cfg.requested_token_type, "requested_token_type");
    }
    if (cfg.grant == grant_type::jwt_bearer && !cfg.grant_assertion) {
        fail(
            "grant_type::jwt_bearer needs the grant_assertion function (e.g. "
            "jwt_bearer_assertion(key, issuer, subject, audience) or assertion_from_file(path))");
    }
}

/// @brief True when a token_type of `N_A` may answer cfg: an exchange that asked for
/// something other than an access token (RFC 8693 §2.2.1).
inline bool accepts_not_applicable(const client_config& cfg) noexcept {
    return cfg.grant == grant_type::token_exchange && !cfg.requested_token_type.empty() &&
           cfg.requested_token_type != token_types::access_token;
}

}  // namespace oauth2cc::detail
