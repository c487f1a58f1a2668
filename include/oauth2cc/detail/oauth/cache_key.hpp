// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/cache_key.hpp: one string for everything that shapes a token, and no secret.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "client_assertion.hpp"
#include "../text/form.hpp"
#include "../crypto/pem.hpp"
#include "../crypto/jose.hpp"
#include "../crypto/sha256.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The RFC 8705 §3.1 `x5t#S256` of the first PEM certificate a BIO holds: the
/// base64url SHA-256 of its DER form, which a certificate-bound token names in `cnf`.
/// Empty when it holds none. Frees the BIO.
inline std::string certificate_thumbprint_of(BIO* in) {
    if (in == nullptr) return {};
    X509* cert = PEM_read_bio_X509(in, nullptr, refuse_passphrase, nullptr);
    BIO_free(in);
    std::string out;
    unsigned char* der = nullptr;
    const int n = cert != nullptr ? i2d_X509(cert, &der) : -1;
    if (n > 0) {
        out = base64url(sha256_raw(
            std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n))));
    }
    OPENSSL_free(der);
    X509_free(cert);
    ERR_clear_error();
    return out;
}

/// @brief As above, of a PEM file.
inline std::string certificate_thumbprint_of_file(const std::string& path) {
    return certificate_thumbprint_of(BIO_new_file(path.c_str(), "r"));
}

/// @brief As above, of PEM text.
inline std::string certificate_thumbprint_of_pem(std::string_view pem) {
    return certificate_thumbprint_of(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

/// @brief A canonical text of what shapes a token: endpoint, client id, authentication
/// method, scopes and resources as sets, audience, and extra parameters sorted; for the
/// assertion methods the assertions' audience, for private_key_jwt the key's RFC 7638
/// thumbprint, the DPoP key's thumbprint, and the client certificate's; for a grant
/// beyond client credentials the grant and its token types, and for the JWT bearer grant
/// with jwt_bearer_assertion() what its assertions claim and the key that signs them
/// (assertion_subject_key(); a manager adds the subject of the others to each entry's
/// key: current_subject::key). Two
/// configurations that would get interchangeable tokens have the same key. The secret,
/// timeouts, trust settings and the user agent are not part of it.
inline std::string cache_key(const client_config& cfg) {
    auto as_set = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return v;
    };
    auto extras = cfg.extra_params;
    std::sort(extras.begin(), extras.end());
    // Form encoding is one-to-one and encodes '&' and '=', so distinct configurations
    // cannot meet on one key, whatever bytes their fields hold.
    std::string key = "oauth2cc-cache-key=1";
    const auto field = [&key](const char* name, const std::string& value) {
        key += '&';
        key += name;
        key += '=';
        key += form_encode(value);
    };
    field("token_endpoint", cfg.token_endpoint);
    if (cfg.token_endpoint.empty()) field("issuer", cfg.issuer);
    field("client_id", cfg.client_id);
    field("auth", std::string(to_string(cfg.auth)));
    for (const auto& s : as_set(cfg.scopes)) field("scope", s);
    field("audience", cfg.audience);
    if (cfg.auth == auth_method::private_key_jwt && cfg.client_key) {
        // The key's thumbprint, never the key: another key is another client credential.
        field("client_key", cfg.client_key->jwk_thumbprint());
    }
    if (!cfg.tls.client_cert_pem.empty()) {
        const std::string x5t = certificate_thumbprint_of_pem(cfg.tls.client_cert_pem);
        field("client_cert", x5t.empty() ? "pem:" + sha256_hex(cfg.tls.client_cert_pem) : x5t);
    } else if (!cfg.tls.client_cert_file.empty()) {
        // A certificate-bound token (RFC 8705 §3) is good only with its certificate; the
        // file's name stands in when it cannot be read (the request then fails anyway).
        const std::string x5t = certificate_thumbprint_of_file(cfg.tls.client_cert_file);
        field("client_cert", x5t.empty() ? "file:" + cfg.tls.client_cert_file : x5t);
    }
    if (cfg.dpop_key) {
        // A DPoP-bound token is good only with the key it is bound to.
        field("dpop_key", cfg.dpop_key->jwk_thumbprint());
    }
    if (sends_assertion(cfg.auth)) {
        field("assertion_audience", cfg.assertion_audience);
    }
    for (const auto& r : as_set(cfg.resources)) field("resource", r);
    for (const auto& [name, value] : extras)
        field("extra", form_encode(name) + "=" + form_encode(value));
    // Fields of the grants beyond client credentials come last, so that a
    // client-credentials key stays what it was.
    if (cfg.grant == grant_type::token_exchange) {
        field("grant", "token_exchange");
        field("subject_token_type", cfg.subject_token_type);
        if (cfg.actor_token) field("actor_token_type", cfg.actor_token_type);
        field("requested_token_type", cfg.requested_token_type);
    } else if (cfg.grant == grant_type::jwt_bearer) {
        field("grant", "jwt_bearer");
        if (const jwt_bearer_signer* signer = own_signer(cfg)) {
            key += '&';
            key += assertion_subject_key(*signer);
        }
    }
    return key;
}

}  // namespace oauth2cc::detail
