// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// signing_key.hpp: a private key that signs JWTs (JWS compact serialization), with its
// public JWK and thumbprint.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

// OpenSSL's key type, declared here so that this header does not include OpenSSL's.
struct evp_pkey_st;

namespace oauth2cc {

/// @brief JWS signature algorithms (RFC 7518 §3, RFC 8037 §3.1).
enum class jws_alg {
    rs256,  ///< RSASSA-PKCS1-v1_5 with SHA-256; an RSA key of 2048 bits or more.
    ps256,  ///< RSASSA-PSS with SHA-256 and MGF1 with SHA-256; an RSA key.
    es256,  ///< ECDSA on P-256 with SHA-256; the signature is R || S, 64 bytes.
    es384,  ///< ECDSA on P-384 with SHA-384; the signature is R || S, 96 bytes.
    eddsa,  ///< Ed25519.
    hs256,  ///< HMAC with SHA-256 under the client secret (client_secret_jwt); no key.
};

/// @brief The JWS `alg` name of an algorithm, e.g. "ES256".
std::string_view to_string(jws_alg alg) noexcept;

/// @brief A private key that signs, held by OpenSSL: RSA (RS256, PS256), EC P-256
/// (ES256), P-384 (ES384) or Ed25519 (EdDSA). Copies share the one immutable key, and
/// any number of threads may sign with it at once. The private key never leaves it: no
/// accessor, message or JWK shows it.
/// @sa RFC 7515, RFC 7517, RFC 7518, RFC 7638
class signing_key {
public:
    /// @brief A key from PEM text: PKCS#8 (`PRIVATE KEY`) or traditional (`RSA PRIVATE
    /// KEY`, `EC PRIVATE KEY`).
    /// @param pem the PEM text
    /// @param kid the key id sent as the JWS header's `kid`; empty for none
    /// @param alg the algorithm; by default the key's own (RSA: rs256; P-256: es256;
    ///            P-384: es384; Ed25519: eddsa). ps256 is the other choice for RSA.
    /// @throws error `config` for text that holds no private key, an encrypted key, a
    ///         key of another type or curve, an RSA key under 2048 bits, or an alg the
    ///         key cannot make; the message never quotes the text
    static signing_key from_pem(std::string_view pem, std::string kid = {},
                                std::optional<jws_alg> alg = {});
    /// @brief A key from a PEM file, read as from_pem reads text.
    /// @throws error `config` naming the file (never its content) when it cannot be read
    ///         or from_pem refuses it
    static signing_key from_pem_file(const std::string& path, std::string kid = {},
                                     std::optional<jws_alg> alg = {});
    /// @brief A new random key for alg (RSA keys have 2048 bits). Its kid is its
    /// jwk_thumbprint(), so that it can be registered and rotated as it is.
    /// @throws error `config` for hs256, which takes a secret, not a key
    static signing_key generate(jws_alg alg = jws_alg::es256);

    /// @brief The algorithm it signs with.
    jws_alg alg() const noexcept { return alg_; }
    /// @brief The key id; empty when it has none.
    const std::string& kid() const noexcept { return kid_; }
    /// @brief The PEM file the key was read from (from_pem_file()); empty for the others.
    /// A client_config::client_key read from a file is read again when the file changes
    /// and after an `invalid_client` answer, so that a replaced key is taken up (with the
    /// same kid and alg); when the file is removed, the key last read goes on signing.
    const std::string& file() const noexcept { return file_; }
    /// @brief The public key as a JWK (RFC 7517): `kty` and the public members
    /// (`n`, `e`; or `crv`, `x`, `y`; or `crv`, `x`), `alg`, `use` `sig`, and `kid`
    /// when set. Never a private member.
    nlohmann::json public_jwk() const;
    /// @brief The RFC 7638 thumbprint: base64url (no padding) of the SHA-256 of the
    /// public JWK's required members in canonical form.
    std::string jwk_thumbprint() const;
    /// @brief The JWS signature of data (RFC 7515 §5.1), raw bytes: for ES256/ES384 the
    /// fixed-size R || S of RFC 7518 §3.4, not DER.
    /// @throws error `config` when OpenSSL cannot sign (e.g. a provider refuses the key)
    std::string sign(std::string_view data) const;

private:
    signing_key(std::shared_ptr<evp_pkey_st> key, jws_alg alg, std::string kid);
    static signing_key from_pem_named(std::string_view pem, std::string kid,
                                      std::optional<jws_alg> alg, const std::string& source);
    static signing_key from_openssl(std::shared_ptr<evp_pkey_st> key, std::string kid,
                                    std::optional<jws_alg> alg, const std::string& source);

    std::shared_ptr<evp_pkey_st> key_;
    jws_alg alg_;
    std::string kid_;
    std::string file_;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/signing_key_inl.hpp"
#endif
