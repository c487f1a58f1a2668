// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/signing_key_inl.hpp: the bodies of signing_key, on OpenSSL 3's EVP interface.
// SPDX-License-Identifier: MIT
#pragma once

#include "../signing_key.hpp"

#include "../detail/crypto/jose.hpp"
#include "../detail/text/limits.hpp"
#include "../detail/crypto/pem.hpp"
#include "../detail/store/private_files.hpp"
#include "../detail/text/text.hpp"
#include "../detail/text/wipe.hpp"
#include "../error.hpp"
#include "../detail/crypto/evp.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(jws_alg alg) noexcept {
    switch (alg) {
        case jws_alg::rs256:
            return "RS256";
        case jws_alg::ps256:
            return "PS256";
        case jws_alg::es256:
            return "ES256";
        case jws_alg::es384:
            return "ES384";
        case jws_alg::eddsa:
            return "EdDSA";
        case jws_alg::hs256:
            return "HS256";
    }
    return "none";
}

OAUTH2CC_INLINE signing_key::signing_key(std::shared_ptr<evp_pkey_st> key, jws_alg alg,
                                         std::string kid)
    : key_(std::move(key)), alg_(alg), kid_(std::move(kid)) {}

OAUTH2CC_INLINE signing_key signing_key::from_openssl(std::shared_ptr<evp_pkey_st> key,
                                                      std::string kid, std::optional<jws_alg> alg,
                                                      const std::string& source) {
    const auto fail = [&source](const std::string& why) {
        throw error(error_kind::config, source + " " + why);
    };
    EVP_PKEY* k = key.get();
    jws_alg own = jws_alg::rs256;
    bool rsa = false;
    if (EVP_PKEY_is_a(k, "RSA")) {
        rsa = true;
        own = jws_alg::rs256;
        if (EVP_PKEY_get_bits(k) < 2048) {
            fail("holds an RSA key of " + std::to_string(EVP_PKEY_get_bits(k)) +
                 " bits; JWS wants 2048 or more (RFC 7518 §3.3)");
        }
    } else if (EVP_PKEY_is_a(k, "EC")) {
        const std::string crv = detail::ec_curve(k);
        if (crv.empty()) fail("holds an EC key on a curve other than P-256 and P-384");
        own = crv == "P-256" ? jws_alg::es256 : jws_alg::es384;
    } else if (EVP_PKEY_is_a(k, "ED25519")) {
        own = jws_alg::eddsa;
    } else {
        fail("holds a key of a type other than RSA, EC (P-256, P-384) and Ed25519");
    }
    jws_alg chosen = own;
    if (alg) {
        const bool fits = *alg == own || (rsa && *alg == jws_alg::ps256);
        if (!fits) {
            fail(std::string("holds a key that cannot sign ") + std::string(to_string(*alg)) +
                 "; it signs " + std::string(to_string(own)) + (rsa ? " or PS256" : ""));
        }
        chosen = *alg;
    }
    return signing_key(std::move(key), chosen, std::move(kid));
}

OAUTH2CC_INLINE signing_key signing_key::from_pem(std::string_view pem, std::string kid,
                                                  std::optional<jws_alg> alg) {
    return from_pem_named(pem, std::move(kid), alg, "the PEM text");
}

OAUTH2CC_INLINE signing_key signing_key::from_pem_file(const std::string& path, std::string kid,
                                                       std::optional<jws_alg> alg) {
    std::string text =
        detail::read_credential_file(path, detail::max_credential_file_bytes, "the key file");
    const detail::wipe_at_exit wiper{[&text] { detail::wipe(text); }};
    signing_key key = from_pem_named(text, std::move(kid), alg,
                                     "the key file \"" + detail::excerpt(path, 200) + "\"");
    key.file_ = path;
    return key;
}

OAUTH2CC_INLINE signing_key signing_key::from_pem_named(std::string_view pem, std::string kid,
                                                        std::optional<jws_alg> alg,
                                                        const std::string& source) {
    if (alg == jws_alg::hs256) {
        throw error(error_kind::config,
                    "HS256 signs with the client secret (auth_method::client_secret_jwt), "
                    "not with a signing_key");
    }
    const std::unique_ptr<BIO, detail::bio_free> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw error(error_kind::config, "OpenSSL could not read " + source);
    bool asked = false;
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, detail::refuse_passphrase, &asked);
    // What OpenSSL noted about the failure stays out of later TLS errors.
    ERR_clear_error();
    if (raw == nullptr) {
        throw error(error_kind::config,
                    asked ? source +
                                " holds an encrypted private key; give it decrypted "
                                "(e.g. `openssl pkey -in FILE -out PLAIN`), in a file "
                                "only the client can read"
                          : source +
                                " holds no private key in PEM (PKCS#8 \"PRIVATE KEY\", "
                                "or \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")");
    }
    return from_openssl(detail::own_key(raw), std::move(kid), alg, source);
}

OAUTH2CC_INLINE signing_key signing_key::generate(jws_alg alg) {
    EVP_PKEY* raw = nullptr;
    switch (alg) {
        case jws_alg::rs256:
        case jws_alg::ps256:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
            break;
        case jws_alg::es256:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
            break;
        case jws_alg::es384:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
            break;
        case jws_alg::eddsa:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
            break;
        case jws_alg::hs256:
            throw error(error_kind::config,
                        "HS256 signs with the client secret, so there is no key to generate");
    }
    ERR_clear_error();
    if (raw == nullptr) {
        throw error(error_kind::config, std::string("OpenSSL could not generate a key for ") +
                                            std::string(to_string(alg)));
    }
    signing_key key(detail::own_key(raw), alg, {});
    key.kid_ = key.jwk_thumbprint();
    return key;
}

OAUTH2CC_INLINE nlohmann::json signing_key::public_jwk() const {
    using detail::base64url;
    const EVP_PKEY* k = key_.get();
    nlohmann::json jwk(nlohmann::json::value_t::object);
    switch (alg_) {
        case jws_alg::rs256:
        case jws_alg::ps256:
            jwk["kty"] = "RSA";
            jwk["n"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_RSA_N, 0));
            jwk["e"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_RSA_E, 0));
            break;
        case jws_alg::es256:
        case jws_alg::es384: {
            const std::string crv = alg_ == jws_alg::es256 ? "P-256" : "P-384";
            const std::size_t width = detail::ec_field_bytes(crv);
            jwk["kty"] = "EC";
            jwk["crv"] = crv;
            jwk["x"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, width));
            jwk["y"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, width));
            break;
        }
        case jws_alg::eddsa:
        case jws_alg::hs256: {
            unsigned char raw[64];
            std::size_t length = sizeof raw;
            if (EVP_PKEY_get_raw_public_key(k, raw, &length) != 1) {
                throw error(error_kind::config, "OpenSSL has no public key for the Ed25519 key");
            }
            jwk["kty"] = "OKP";
            jwk["crv"] = "Ed25519";
            jwk["x"] = base64url(std::string_view(reinterpret_cast<const char*>(raw), length));
            break;
        }
    }
    jwk["alg"] = std::string(to_string(alg_));
    jwk["use"] = "sig";
    if (!kid_.empty()) jwk["kid"] = kid_;
    return jwk;
}

OAUTH2CC_INLINE std::string signing_key::jwk_thumbprint() const {
    return detail::jwk_thumbprint_of(public_jwk());
}

OAUTH2CC_INLINE std::string signing_key::sign(std::string_view data) const {
    const auto fail = [this] {
        ERR_clear_error();
        throw error(error_kind::config, std::string("OpenSSL could not sign with the ") +
                                            std::string(to_string(alg_)) + " key");
    };
    const std::unique_ptr<EVP_MD_CTX, detail::md_ctx_free> ctx(EVP_MD_CTX_new());
    if (!ctx) fail();
    const EVP_MD* md = nullptr;
    if (alg_ == jws_alg::es384) {
        md = EVP_sha384();
    } else if (alg_ != jws_alg::eddsa) {
        md = EVP_sha256();
    }
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key_.get()) != 1) fail();
    if (alg_ == jws_alg::ps256 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)) {
        fail();
    }
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t length = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &length, in, data.size()) != 1) fail();
    std::string sig(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &length, in,
                       data.size()) != 1) {
        fail();
    }
    sig.resize(length);
    if (alg_ != jws_alg::es256 && alg_ != jws_alg::es384) return sig;

    // ECDSA: OpenSSL gives DER; JWS wants R and S, each left-padded to the field size.
    const std::size_t width = alg_ == jws_alg::es256 ? 32 : 48;
    const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
    const std::unique_ptr<ECDSA_SIG, detail::ecdsa_sig_free> parsed(
        d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())));
    if (!parsed) fail();
    const BIGNUM* r = ECDSA_SIG_get0_r(parsed.get());
    const BIGNUM* s = ECDSA_SIG_get0_s(parsed.get());
    std::string raw(2 * width, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(r, out, static_cast<int>(width)) < 0 ||
        BN_bn2binpad(s, out + width, static_cast<int>(width)) < 0) {
        fail();
    }
    return raw;
}

}  // namespace oauth2cc
