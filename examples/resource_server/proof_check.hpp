// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// proof_check.hpp: what a resource server checks of a sender-constrained token, with
// OpenSSL alone: a DPoP proof (RFC 9449 §4.3: its signature by the public JWK it
// carries, typ, alg, htm, htu, iat, a jti not seen before, ath, the server's nonce, and
// the key's RFC 7638 thumbprint against the token's cnf.jkt), and the RFC 8705 thumbprint
// of the client certificate presented on the connection against cnf.x5t#S256.
// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <cctype>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace oauth2cc_examples {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

/// @brief Decodes unpadded base64url (RFC 7515 §2); false on any other character.
inline bool base64url_decode(std::string_view in, std::string& out) {
    std::string b64;
    b64.reserve(in.size() + 3);
    for (const char c : in) {
        const bool plain =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!plain && c != '-' && c != '_') return false;
        b64 += c == '-' ? '+' : c == '_' ? '/' : c;
    }
    if (b64.size() % 4 == 1) return false;
    while (b64.size() % 4 != 0) b64 += '=';
    out.assign(b64.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    if (n < 0) return false;
    out.resize(static_cast<std::size_t>(n) - (in.size() % 4 == 0 ? 0 : 4 - in.size() % 4));
    return true;
}

/// @brief Unpadded base64url of bytes.
inline std::string base64url_encode(std::string_view in) {
    std::string b64(4 * ((in.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    b64.resize(static_cast<std::size_t>(n));
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    for (auto& c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return b64;
}

/// @brief base64url(SHA-256(data)): a DPoP proof's ath, a certificate's x5t#S256.
inline std::string sha256_base64url(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

/// @brief The RFC 8705 §3.1 thumbprint (x5t#S256) of a certificate; empty for none.
inline std::string certificate_thumbprint(X509* cert) {
    unsigned char* der = nullptr;
    const int n = cert != nullptr ? i2d_X509(cert, &der) : -1;
    std::string out;
    if (n > 0)
        out = sha256_base64url(
            std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n)));
    OPENSSL_free(der);
    return out;
}

namespace proof_detail {

inline std::string member(const nlohmann::json& jwk, const char* name) {
    const auto it = jwk.find(name);
    return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline std::string decoded(const nlohmann::json& jwk, const char* name) {
    std::string out;
    return base64url_decode(member(jwk, name), out) ? out : std::string();
}

// The EC curves of JWS: the OpenSSL group name and the coordinate size.
inline bool ec_curve(const std::string& crv, const char*& group, std::size_t& size) {
    if (crv == "P-256") {
        group = "prime256v1";
        size = 32;
        return true;
    }
    if (crv == "P-384") {
        group = "secp384r1";
        size = 48;
        return true;
    }
    if (crv == "P-521") {
        group = "secp521r1";
        size = 66;
        return true;
    }
    return false;
}

}  // namespace proof_detail

/// @brief A public key from a public JWK (EC P-256/384/521, RSA, OKP Ed25519), as a
/// server builds it; null for a JWK it does not take, a private one (with "d") included.
inline pkey_ptr public_key_from_jwk(const nlohmann::json& jwk) {
    pkey_ptr none(nullptr, EVP_PKEY_free);
    if (!jwk.is_object() || jwk.contains("d")) return none;
    const std::string kty = proof_detail::member(jwk, "kty");
    if (kty == "OKP") {
        const std::string x = proof_detail::decoded(jwk, "x");
        if (proof_detail::member(jwk, "crv") != "Ed25519" || x.size() != 32) return none;
        return pkey_ptr(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(x.data()), x.size()),
            EVP_PKEY_free);
    }
    if (kty != "RSA" && kty != "EC") return none;
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                        OSSL_PARAM_BLD_free);
    using bn_ptr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
    std::vector<bn_ptr> numbers;
    std::string point;
    if (kty == "RSA") {
        for (const char* name : {"n", "e"}) {
            const std::string raw = proof_detail::decoded(jwk, name);
            if (raw.empty()) return none;
            numbers.emplace_back(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()),
                                           static_cast<int>(raw.size()), nullptr),
                                 BN_free);
        }
        if (BN_num_bits(numbers[0].get()) < 2048) return none;  // RFC 7518 §3.3
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, numbers[0].get());
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, numbers[1].get());
    } else {
        const char* group = nullptr;
        std::size_t size = 0;
        const std::string x = proof_detail::decoded(jwk, "x"), y = proof_detail::decoded(jwk, "y");
        if (!proof_detail::ec_curve(proof_detail::member(jwk, "crv"), group, size) ||
            x.size() != size || y.size() != size) {
            return none;
        }
        point = "\x04" + x + y;
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size());
    }
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, kty == "RSA" ? "RSA" : "EC", nullptr);
    EVP_PKEY* key = nullptr;
    if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        key = nullptr;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    ERR_clear_error();
    return pkey_ptr(key, EVP_PKEY_free);
}

/// @brief Verifies a JWS signature (ES256/384/512, RS256, PS256, EdDSA) by a public JWK;
/// false for a wrong signature and for an alg that does not fit the key.
inline bool verify_jws(const nlohmann::json& jwk, std::string_view alg, std::string_view input,
                       std::string signature) {
    const pkey_ptr key = public_key_from_jwk(jwk);
    if (!key) return false;
    const std::string kty = proof_detail::member(jwk, "kty");
    const EVP_MD* md = nullptr;
    if (alg == "ES256" || alg == "ES384" || alg == "ES512") {
        const char* group = nullptr;
        std::size_t size = 0;
        proof_detail::ec_curve(proof_detail::member(jwk, "crv"), group, size);
        const std::size_t wanted = alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
        if (kty != "EC" || size != wanted || signature.size() != 2 * size) return false;
        md = alg == "ES256" ? EVP_sha256() : alg == "ES384" ? EVP_sha384() : EVP_sha512();
        // JWS's R || S back to the DER that OpenSSL verifies.
        const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
        ECDSA_SIG* sig = ECDSA_SIG_new();
        ECDSA_SIG_set0(sig, BN_bin2bn(raw, static_cast<int>(size), nullptr),
                       BN_bin2bn(raw + size, static_cast<int>(size), nullptr));
        unsigned char* der = nullptr;
        const int len = i2d_ECDSA_SIG(sig, &der);
        ECDSA_SIG_free(sig);
        if (len <= 0) return false;
        signature.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
        OPENSSL_free(der);
    } else if (alg == "RS256" || alg == "PS256") {
        if (kty != "RSA") return false;
        md = EVP_sha256();
    } else if (alg != "EdDSA" || kty != "OKP") {
        return false;  // none, HS256 and the rest: never for a proof
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key.get()) == 1;
    if (ok && alg == "PS256") {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;  // RFC 7518 §3.5
    }
    ok = ok && EVP_DigestVerify(
                   ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/// @brief The RFC 7638 thumbprint of a public JWK: the SHA-256 of its required members
/// in lexicographic order, base64url; empty for a JWK of another type.
inline std::string jwk_thumbprint(const nlohmann::json& jwk) {
    if (!jwk.is_object()) return {};
    const std::string kty = proof_detail::member(jwk, "kty");
    std::vector<const char*> names;
    if (kty == "EC")
        names = {"crv", "kty", "x", "y"};
    else if (kty == "RSA")
        names = {"e", "kty", "n"};
    else if (kty == "OKP")
        names = {"crv", "kty", "x"};
    else
        return {};
    nlohmann::json required = nlohmann::json::object();  // sorted by name, as 7638 wants
    for (const char* name : names) {
        if (proof_detail::member(jwk, name).empty()) return {};
        required[name] = jwk.at(name);
    }
    return sha256_base64url(required.dump());
}

/// @brief A compact JWS taken apart: header and claims parsed, the signature decoded.
struct compact_jws {
    nlohmann::json header, claims;
    std::string signing_input, signature;
};

/// @brief False unless the text is three base64url parts of which the first two are JSON
/// objects.
inline bool parse_compact_jws(std::string_view jws, compact_jws& out) {
    const auto a = jws.find('.');
    const auto b = a == std::string_view::npos ? a : jws.find('.', a + 1);
    if (b == std::string_view::npos || jws.find('.', b + 1) != std::string_view::npos) return false;
    std::string header, claims;
    if (!base64url_decode(jws.substr(0, a), header) ||
        !base64url_decode(jws.substr(a + 1, b - a - 1), claims) ||
        !base64url_decode(jws.substr(b + 1), out.signature)) {
        return false;
    }
    out.header = nlohmann::json::parse(header, nullptr, false);
    out.claims = nlohmann::json::parse(claims, nullptr, false);
    out.signing_input = std::string(jws.substr(0, b));
    return out.header.is_object() && out.claims.is_object();
}

/// @brief The verdict on a DPoP proof: `error` is empty when it holds, or the RFC 9449
/// error code (`invalid_dpop_proof`, `use_dpop_nonce`) with a description that names no
/// part of the proof or the token.
struct proof_verdict {
    std::string error;
    std::string description;
    /// The RFC 7638 thumbprint of the proof's key, once its signature verified.
    std::string key_thumbprint;
    explicit operator bool() const { return error.empty(); }
};

/// @brief Checks DPoP proofs for one resource server: each proof once (its jti is kept
/// for the accepted age), within `max_age` of the server's clock either way, and, when
/// asked, carrying the server's current nonce (RFC 9449 §9). Thread-safe.
class dpop_proof_checker {
public:
    explicit dpop_proof_checker(bool require_nonce = false,
                                std::chrono::seconds max_age = std::chrono::seconds(60))
        : require_nonce_(require_nonce), max_age_(max_age.count()) {
        unsigned char raw[16];
        if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
        nonce_ = base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
    }

    /// @brief The nonce the server wants, for a `DPoP-Nonce` header; empty when it wants
    /// none.
    std::string nonce() const { return require_nonce_ ? nonce_ : std::string(); }

    /// @brief Checks one proof for a request, and its key against the token's binding.
    /// @param proof        the request's one `DPoP` header
    /// @param method       the request's method
    /// @param htu          the request's URI without query and fragment: the server's own
    ///                     configured origin and the path as it came on the wire. Never
    ///                     built from request headers (Host, X-Forwarded-*): a proof made
    ///                     for another server would pass (RFC 9449 §11.1)
    /// @param access_token the token that came with it
    /// @param jkt          the token's cnf.jkt
    proof_verdict check(std::string_view proof, std::string_view method, std::string_view htu,
                        std::string_view access_token, std::string_view jkt) {
        return check_proof(proof, method, htu, access_token, jkt);
    }

    /// @brief As above, before the token's binding is known (a server that checks the
    /// proof before it introspects): the caller compares the verdict's key_thumbprint
    /// with the token's cnf.jkt.
    proof_verdict check(std::string_view proof, std::string_view method, std::string_view htu,
                        std::string_view access_token) {
        return check_proof(proof, method, htu, access_token, std::nullopt);
    }

private:
    proof_verdict check_proof(std::string_view proof, std::string_view method, std::string_view htu,
                              std::string_view access_token, std::optional<std::string_view> jkt) {
        const auto bad = [](const char* why) {
            return proof_verdict{"invalid_dpop_proof", why, {}};
        };
        compact_jws jws;
        if (!parse_compact_jws(proof, jws)) return bad("the DPoP proof is not a compact JWS");
        const auto& h = jws.header;
        const auto& c = jws.claims;
        const auto text = [](const nlohmann::json& o, const char* name) {
            return proof_detail::member(o, name);
        };
        if (text(h, "typ") != "dpop+jwt") return bad("the DPoP proof's typ is not dpop+jwt");
        if (!h.contains("jwk") || !public_key_from_jwk(h.at("jwk"))) {
            return bad("the DPoP proof's jwk is not a public key");
        }
        if (!verify_jws(h.at("jwk"), text(h, "alg"), jws.signing_input, jws.signature)) {
            return bad("the DPoP proof's signature does not verify");
        }
        if (text(c, "htm") != method) return bad("the DPoP proof is for another method");
        if (normalized_htu(text(c, "htu")) != normalized_htu(std::string(htu))) {
            return bad("the DPoP proof is for another URI");
        }
        if (text(c, "ath") != sha256_base64url(access_token)) {
            return bad("the DPoP proof's ath is not the hash of the access token");
        }
        const std::string thumbprint = jwk_thumbprint(h.at("jwk"));
        if (jkt && thumbprint != *jkt) {
            return bad("the DPoP proof's key is not the one the token is bound to");
        }
        const auto iat = c.find("iat");
        if (iat == c.end() || !iat->is_number_integer()) return bad("the DPoP proof has no iat");
        const std::int64_t now = std::time(nullptr);
        const std::int64_t at = iat->get<std::int64_t>();
        const std::string jti = text(c, "jti");
        if (jti.empty() || jti.size() > 256) return bad("the DPoP proof has no usable jti");
        if (require_nonce_ && text(c, "nonce") != nonce_) {
            return {"use_dpop_nonce", "the resource server wants its DPoP nonce in the proof", {}};
        }
        if (at < now - max_age_ || at > now + max_age_) {
            return bad("the DPoP proof's iat is outside the accepted window");
        }
        // A jti is kept while its proof could still be accepted, and forgotten after.
        std::lock_guard<std::mutex> lock(mutex_);
        while (!by_age_.empty() && by_age_.begin()->first < now - max_age_) {
            seen_.erase(by_age_.begin()->second);
            by_age_.erase(by_age_.begin());
        }
        if (!seen_.insert(jti).second) return bad("the DPoP proof was used before");
        by_age_.emplace(at, jti);
        proof_verdict ok;
        ok.key_thumbprint = thumbprint;
        return ok;
    }

public:
    /// @brief Lower-cases scheme and host, drops a default port and any query or
    /// fragment, writes percent escapes in upper case and decodes those of unreserved
    /// characters (RFC 9449 §4.3 with RFC 3986 §6.2.2 and §6.2.3).
    static std::string normalized_htu(std::string uri) {
        uri = uri.substr(0, uri.find_first_of("?#"));
        const auto scheme_end = uri.find("://");
        if (scheme_end == std::string::npos) return uri;
        auto path = uri.find('/', scheme_end + 3);
        if (path == std::string::npos) path = uri.size();
        std::string origin = uri.substr(0, path);
        for (auto& ch : origin)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const bool https = origin.rfind("https://", 0) == 0;
        const std::string default_port = https ? ":443" : ":80";
        if (origin.size() > default_port.size() &&
            origin.compare(origin.size() - default_port.size(), default_port.size(),
                           default_port) == 0) {
            origin.resize(origin.size() - default_port.size());
        }
        const std::string rest = normalized_escapes(uri.substr(path));
        return origin + (rest.empty() ? "/" : rest);
    }

private:
    static std::string normalized_escapes(const std::string& path) {
        const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
        std::string out;
        for (std::size_t i = 0; i < path.size(); ++i) {
            if (path[i] != '%' || i + 2 >= path.size() || !hex(path[i + 1]) || !hex(path[i + 2])) {
                out.push_back(path[i]);
                continue;
            }
            const auto byte =
                static_cast<unsigned char>(std::stoi(path.substr(i + 1, 2), nullptr, 16));
            if (std::isalnum(byte) != 0 || byte == '-' || byte == '.' || byte == '_' ||
                byte == '~') {
                out.push_back(static_cast<char>(byte));
            } else {
                out.push_back('%');
                out.push_back(
                    static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1]))));
                out.push_back(
                    static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2]))));
            }
            i += 2;
        }
        return out;
    }

    bool require_nonce_;
    std::int64_t max_age_;
    std::string nonce_;
    std::mutex mutex_;
    std::set<std::string> seen_;                       // the jtis accepted
    std::multimap<std::int64_t, std::string> by_age_;  // the same, by iat
};

}  // namespace oauth2cc_examples
