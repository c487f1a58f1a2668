// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// jwt_check.hpp: JWTs taken apart, and their signatures verified by OpenSSL from the
// public JWK alone, as a server verifies them.
// SPDX-License-Identifier: MIT
#pragma once

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <vector>

namespace oauth2cc_test {

inline std::string base64url_decode(const std::string& in) {
    std::string b64 = in;
    for (auto& c : b64) {
        if (c == '-') c = '+';
        if (c == '_') c = '/';
    }
    while (b64.size() % 4 != 0) b64 += '=';
    std::string out(b64.size(), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    REQUIRE(n >= 0);
    std::size_t pad = 0;
    for (std::size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) ++pad;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

struct jwt_parts {
    nlohmann::json header, claims;
    std::string signing_input, signature;
};

inline jwt_parts split_jwt(const std::string& jwt) {
    const auto a = jwt.find('.');
    const auto b = jwt.find('.', a + 1);
    REQUIRE(a != std::string::npos);
    REQUIRE(b != std::string::npos);
    REQUIRE(jwt.find('.', b + 1) == std::string::npos);
    jwt_parts p;
    p.header = nlohmann::json::parse(base64url_decode(jwt.substr(0, a)));
    p.claims = nlohmann::json::parse(base64url_decode(jwt.substr(a + 1, b - a - 1)));
    p.signing_input = jwt.substr(0, b);
    p.signature = base64url_decode(jwt.substr(b + 1));
    return p;
}

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

inline BIGNUM* bn_of(const std::string& b64url) {
    const std::string raw = base64url_decode(b64url);
    return BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()),
                     static_cast<int>(raw.size()), nullptr);
}

// A public key built from nothing but a JWK, as a server builds it from `jwks`.
inline pkey_ptr public_key_from_jwk(const nlohmann::json& jwk) {
    const std::string kty = jwk.at("kty");
    EVP_PKEY* key = nullptr;
    if (kty == "OKP") {
        const std::string x = base64url_decode(jwk.at("x"));
        key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(x.data()),
                                          x.size());
    } else {
        OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
        std::vector<BIGNUM*> bns;
        std::string point;
        const char* type = "RSA";
        if (kty == "RSA") {
            bns = {bn_of(jwk.at("n")), bn_of(jwk.at("e"))};
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bns[0]);
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bns[1]);
        } else {
            type = "EC";
            const std::string crv = jwk.at("crv");
            point = "\x04" + base64url_decode(jwk.at("x")) + base64url_decode(jwk.at("y"));
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            crv == "P-256" ? "prime256v1" : "secp384r1", 0);
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                             point.size());
        }
        OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
        REQUIRE(EVP_PKEY_fromdata_init(ctx) == 1);
        REQUIRE(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1);
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        for (auto* bn : bns) BN_free(bn);
    }
    REQUIRE(key != nullptr);
    return pkey_ptr(key, EVP_PKEY_free);
}

// Verifies a JWS signature with OpenSSL, from the JWK and the `alg` alone.
inline bool verifies(const nlohmann::json& jwk, const std::string& alg, const std::string& input,
              std::string signature) {
    const pkey_ptr key = public_key_from_jwk(jwk);
    const EVP_MD* md = alg == "ES384" ? EVP_sha384() : alg == "EdDSA" ? nullptr : EVP_sha256();
    if (alg == "ES256" || alg == "ES384") {
        // JWS's R || S back to the DER that OpenSSL verifies.
        const std::size_t half = signature.size() / 2;
        REQUIRE(half == (alg == "ES256" ? 32u : 48u));
        ECDSA_SIG* sig = ECDSA_SIG_new();
        const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
        ECDSA_SIG_set0(sig, BN_bin2bn(raw, static_cast<int>(half), nullptr),
                       BN_bin2bn(raw + half, static_cast<int>(half), nullptr));
        unsigned char* der = nullptr;
        const int len = i2d_ECDSA_SIG(sig, &der);
        signature.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
        OPENSSL_free(der);
        ECDSA_SIG_free(sig);
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    REQUIRE(EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key.get()) == 1);
    if (alg == "PS256") {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
    }
    const int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                                    signature.size(),
                                    reinterpret_cast<const unsigned char*>(input.data()),
                                    input.size());
    EVP_MD_CTX_free(ctx);
    return ok == 1;
}

}  // namespace oauth2cc_test
