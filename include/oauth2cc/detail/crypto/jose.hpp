// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/crypto/jose.hpp: base64url, random ids, HMAC and the JWS compact serialization, on
// OpenSSL.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../text/form.hpp"
#include "sha256.hpp"
#include "../text/wipe.hpp"

#include <nlohmann/json.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief Appends the base64url encoding of in, without padding (RFC 7515 §2), to out.
inline void base64url_append(std::string& out, std::string_view in) {
    const std::size_t at = out.size();
    base64_append(out, in);
    std::size_t end = out.size();
    while (end > at && out[end - 1] == '=') --end;
    out.resize(end);
    for (std::size_t i = at; i < end; ++i) {
        if (out[i] == '+') out[i] = '-';
        if (out[i] == '/') out[i] = '_';
    }
}

/// @brief The base64url encoding of in, without padding.
inline std::string base64url(std::string_view in) {
    std::string out;
    out.reserve(base64_size(in.size()) + 1);
    base64url_append(out, in);
    return out;
}

/// @brief n bytes from OpenSSL's CSPRNG.
/// @throws error `config` when it has no entropy to give
inline std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        throw error(error_kind::config, "OpenSSL's random generator is not seeded");
    }
    return out;
}

/// @brief A JWT id: 144 random bits, base64url (24 characters). RFC 7523 and DESIGN
/// want at least 128; a collision between two ids is out of reach.
inline std::string new_jti() { return base64url(random_bytes(18)); }

/// @brief HMAC-SHA-256 of data under key, raw (32 bytes).
/// @throws error `config` when OpenSSL cannot compute it
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::string mac(EVP_MAX_MD_SIZE, '\0');
    std::size_t length = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                  reinterpret_cast<unsigned char*>(mac.data()), mac.size(), &length) == nullptr) {
        throw error(error_kind::config, "OpenSSL could not compute an HMAC-SHA-256");
    }
    mac.resize(length);
    return mac;
}

/// @brief The bytes of a base64url text without padding; empty when in is not one.
inline std::optional<std::string> base64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string text;
    text.reserve(in.size() + 3);
    for (const char c : in) {
        const bool plain =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!plain && c != '-' && c != '_') return std::nullopt;
        text += c == '-' ? '+' : c == '_' ? '/' : c;
    }
    const std::size_t pad = (4 - text.size() % 4) % 4;
    text.append(pad, '=');
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0 || static_cast<std::size_t>(n) < pad) return std::nullopt;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

/// @brief The JWS signing input of RFC 7515 §5.1: base64url(header) '.' base64url(claims).
inline std::string jws_signing_input(const nlohmann::json& header, const nlohmann::json& claims) {
    const std::string h = header.dump();
    std::string c = claims.dump();
    std::string input;
    input.reserve(base64_size(h.size()) + base64_size(c.size()) + 2);
    base64url_append(input, h);
    input.push_back('.');
    base64url_append(input, c);
    wipe(c);
    return input;
}

/// @brief Completes a JWS compact serialization: input '.' base64url(signature).
inline std::string jws_compact(std::string input, std::string_view signature) {
    input.push_back('.');
    base64url_append(input, signature);
    return input;
}

/// @brief The canonical JSON of RFC 7638 §3.2 for a public JWK: its required members only, in
/// lexicographic order, no white space.
/// @throws error `config` for a JWK without them
inline std::string jwk_thumbprint_input(const nlohmann::json& jwk) {
    const auto member = [&jwk](const char* name) -> std::string {
        const auto it = jwk.find(name);
        if (it == jwk.end() || !it->is_string()) {
            throw error(error_kind::config, std::string("the JWK has no string member ") + name);
        }
        return nlohmann::json(it->get_ref<const std::string&>()).dump();
    };
    const std::string kty = member("kty");
    if (kty == "\"RSA\"") {
        return "{\"e\":" + member("e") + ",\"kty\":" + kty + ",\"n\":" + member("n") + "}";
    }
    if (kty == "\"EC\"") {
        return "{\"crv\":" + member("crv") + ",\"kty\":" + kty + ",\"x\":" + member("x") +
               ",\"y\":" + member("y") + "}";
    }
    if (kty == "\"OKP\"") {
        return "{\"crv\":" + member("crv") + ",\"kty\":" + kty + ",\"x\":" + member("x") + "}";
    }
    throw error(error_kind::config, "the JWK's kty is not RSA, EC or OKP");
}

/// @brief The RFC 7638 thumbprint of a public JWK.
inline std::string jwk_thumbprint_of(const nlohmann::json& jwk) {
    return base64url(sha256_raw(jwk_thumbprint_input(jwk)));
}

}  // namespace oauth2cc::detail
