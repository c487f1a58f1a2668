// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/crypto/sha256.hpp: SHA-256 through OpenSSL, as lower-case hex.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief The SHA-256 digest of data, raw (32 bytes).
/// @throws error `config` when OpenSSL cannot compute it (e.g. a FIPS setup without it)
inline std::string sha256_raw(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
        length != 32) {
        throw error(error_kind::config, "OpenSSL could not compute a SHA-256 digest");
    }
    return std::string(reinterpret_cast<const char*>(digest), length);
}

/// @brief The SHA-256 digest of data in lower-case hex (64 characters).
/// @throws error `config` as sha256_raw does
inline std::string sha256_hex(std::string_view data) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (const char c : sha256_raw(data)) {
        const auto byte = static_cast<unsigned char>(c);
        out += hex[byte >> 4];
        out += hex[byte & 0x0f];
    }
    return out;
}

}  // namespace oauth2cc::detail
