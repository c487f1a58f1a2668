// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/crypto/evp.hpp: small helpers over OpenSSL's EVP keys: owners for its objects, an EC key's
// curve, a key's big-number parameters.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <memory>
#include <string>

namespace oauth2cc::detail {

struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct bn_free {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct ecdsa_sig_free {
    void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

inline std::shared_ptr<EVP_PKEY> own_key(EVP_PKEY* key) {
    return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

// The curve of an EC key as its JWK name ("P-256", "P-384"), or empty for another.
inline std::string ec_curve(const EVP_PKEY* key) {
    char name[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                       &length) != 1) {
        return {};
    }
    const std::string group(name, length);
    if (group == "prime256v1" || group == "P-256" || group == "secp256r1") return "P-256";
    if (group == "secp384r1" || group == "P-384") return "P-384";
    return {};
}

// The size in bytes of a coordinate (and of R and S) on a JWK curve.
inline std::size_t ec_field_bytes(const std::string& crv) { return crv == "P-384" ? 48 : 32; }

// A big-number parameter of the key, big-endian, left-padded to width when not 0.
inline std::string bn_param(const EVP_PKEY* key, const char* name, std::size_t width) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1 || raw == nullptr) {
        throw error(error_kind::config, std::string("OpenSSL has no ") + name + " for the key");
    }
    const std::unique_ptr<BIGNUM, bn_free> bn(raw);
    const std::size_t size = width != 0 ? width : static_cast<std::size_t>(BN_num_bytes(bn.get()));
    std::string out(size, '\0');
    if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
                     static_cast<int>(size)) < 0) {
        throw error(error_kind::config, std::string("the key's ") + name + " does not fit");
    }
    return out;
}

}  // namespace oauth2cc::detail
