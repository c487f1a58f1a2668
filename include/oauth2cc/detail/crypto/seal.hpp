// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/crypto/seal.hpp: tokens sealed at rest: AES-256-GCM under a key derived from the user's
// sealing key by HKDF-SHA256, with the store key as associated data, on OpenSSL.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../secret.hpp"
#include "jose.hpp"
#include "../text/wipe.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief What a sealed entry starts with; base64url(nonce, ciphertext, tag) follows.
inline constexpr std::string_view sealed_prefix = "oauth2cc-sealed/1.";
/// @brief The shortest sealing key taken: 128 bits, if they are random.
inline constexpr std::size_t min_sealing_key_bytes = 16;
inline constexpr std::size_t seal_nonce_bytes = 12;
inline constexpr std::size_t seal_tag_bytes = 16;

/// @brief HKDF-SHA256 (RFC 5869 §2: extract, then expand) of ikm into length bytes, by
/// OpenSSL's EVP_PKEY_HKDF; empty when OpenSSL fails. The caller wipes the result.
inline std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                               std::size_t length) {
    const auto bytes = [](std::string_view s) {
        return reinterpret_cast<const unsigned char*>(s.data());
    };
    std::string out(length, '\0');
    const std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), &EVP_PKEY_CTX_free);
    std::size_t written = out.size();
    const bool ok =
        ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
        EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), bytes(salt), static_cast<int>(salt.size())) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), bytes(ikm), static_cast<int>(ikm.size())) == 1 &&
        EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), bytes(info), static_cast<int>(info.size())) == 1 &&
        EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written) == 1 &&
        written == out.size();
    if (!ok) {
        wipe(out);
        out.clear();
    }
    return out;
}

/// @brief Seals and opens a store's entries under one key. The AES key is derived once,
/// held in a secret, and wiped with it.
class sealer {
public:
    /// @brief Derives the AES-256 key: HKDF-SHA256 (RFC 5869) of sealing_key, with a
    /// fixed salt and info that name this use.
    /// @throws error `config` when the key is shorter than 16 bytes or OpenSSL fails
    explicit sealer(const secret& sealing_key) {
        if (sealing_key.reveal().size() < min_sealing_key_bytes) {
            throw error(error_kind::config,
                        "a sealing key must be at least 16 bytes; use 32 random bytes, e.g. "
                        "from `openssl rand -base64 32`");
        }
        static constexpr std::string_view salt = "oauth2cc token store";
        static constexpr std::string_view info = "oauth2cc-sealed/1 AES-256-GCM";
        std::string key = hkdf_sha256(sealing_key.reveal(), salt, info, 32);
        if (key.empty()) {
            throw error(error_kind::config,
                        "OpenSSL could not derive the sealing key (HKDF-SHA256)");
        }
        key_ = secret{std::move(key)};
    }

    /// @brief plain sealed: the prefix, then base64url of a fresh random 96-bit nonce, the
    /// AES-256-GCM ciphertext and its 128-bit tag; aad is authenticated, not stored.
    /// @throws error `config` when OpenSSL fails
    std::string seal(std::string_view plain, std::string_view aad) const {
        const std::string nonce = random_bytes(seal_nonce_bytes);
        std::string raw = nonce;
        raw.resize(seal_nonce_bytes + plain.size() + seal_tag_bytes);
        auto* out = reinterpret_cast<unsigned char*>(raw.data()) + seal_nonce_bytes;
        const cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0;
        int last = 0;
        const bool ok =
            ctx &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_bytes(),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_EncryptUpdate(ctx.get(), out, &n, bytes(plain), static_cast<int>(plain.size())) ==
                1 &&
            EVP_EncryptFinal_ex(ctx.get(), out + n, &last) == 1 &&
            static_cast<std::size_t>(n + last) == plain.size() &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(seal_tag_bytes),
                                out + plain.size()) == 1;
        if (!ok) throw error(error_kind::config, "OpenSSL could not seal the token (AES-256-GCM)");
        std::string text(sealed_prefix);
        base64url_append(text, raw);
        return text;
    }

    /// @brief The plain text of sealed, or empty when it is not a sealed entry, was sealed
    /// under another key or for another aad, or was altered. The caller wipes the text.
    std::optional<std::string> open(std::string_view sealed, std::string_view aad) const {
        if (sealed.substr(0, sealed_prefix.size()) != sealed_prefix) return std::nullopt;
        std::optional<std::string> raw = base64url_decode(sealed.substr(sealed_prefix.size()));
        if (!raw || raw->size() < seal_nonce_bytes + seal_tag_bytes) return std::nullopt;
        const std::size_t size = raw->size() - seal_nonce_bytes - seal_tag_bytes;
        auto* in = reinterpret_cast<unsigned char*>(raw->data());
        std::string plain(size, '\0');
        auto* out = reinterpret_cast<unsigned char*>(plain.data());
        const cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0;
        int last = 0;
        const bool ok =
            ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_bytes(), in) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_DecryptUpdate(ctx.get(), out, &n, in + seal_nonce_bytes, static_cast<int>(size)) ==
                1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(seal_tag_bytes),
                                in + seal_nonce_bytes + size) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), out + n, &last) == 1;
        wipe(*raw);
        if (!ok) {
            wipe(plain);
            return std::nullopt;
        }
        return plain;
    }

private:
    using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
    static const unsigned char* bytes(std::string_view s) noexcept {
        return reinterpret_cast<const unsigned char*>(s.data());
    }
    const unsigned char* key_bytes() const noexcept { return bytes(key_.reveal()); }

    secret key_;
};

/// @brief A sealer for sealing_key, or none when no key was given (entries stay in
/// clear). A key given empty (an empty key file, say) is a mistake, never "no sealing".
/// @throws error `config` as sealer does, and for a key given empty
inline std::shared_ptr<const sealer> sealer_for(const secret& sealing_key) {
    if (!sealing_key.has_value()) return nullptr;
    if (sealing_key.empty()) {
        throw error(error_kind::config,
                    "the sealing key is empty: a key was given (an empty file?), so tokens "
                    "would be stored in clear; give 32 random bytes, or no key at all");
    }
    return std::make_shared<const sealer>(sealing_key);
}

}  // namespace oauth2cc::detail
