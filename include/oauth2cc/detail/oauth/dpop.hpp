// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/dpop.hpp: DPoP proofs (RFC 9449 §4) and the nonces servers hand out for them
// (§8 the authorization server, §9 resource servers).
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../signing_key.hpp"
#include "../crypto/jose.hpp"
#include "../crypto/sha256.hpp"
#include "../http/url.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The longest nonce kept; a server's longer one is ignored.
inline constexpr std::size_t max_dpop_nonce_bytes = 1024;

/// @brief True for a nonce of RFC 9449 §4.2: 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E
/// (visible ASCII but '"' and '\'), and no longer than max_dpop_nonce_bytes.
inline bool is_dpop_nonce(std::string_view nonce) noexcept {
    if (nonce.empty() || nonce.size() > max_dpop_nonce_bytes) return false;
    for (const char c : nonce) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7E || u == 0x22 || u == 0x5C) return false;
    }
    return true;
}

/// @brief The `htu` of a request to url: the URL without its query and fragment
/// (RFC 9449 §4.2), its path escaped as the transport sends it (wire_target), so that
/// the proof names the very URI the server receives.
inline std::string dpop_htu(std::string_view url) {
    return wire_target(url.substr(0, url.find_first_of("?#")));
}

/// @brief Appends text as a JSON string: '"' and '\' escaped, control characters as
/// \u00XX; other bytes as they are.
inline void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20 || u == 0x7F) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(u));
            out += escaped;
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

/// @brief Makes DPoP proofs with one key. The protected header (`typ` `dpop+jwt`, `alg`,
/// and the public `jwk` with its required members only) is encoded once; each proof adds
/// claims and a signature. Thread-safe: proofs may be made on any number of threads.
class dpop_prover {
public:
    explicit dpop_prover(signing_key key)
        : key_(std::move(key)), thumbprint_(key_.jwk_thumbprint()) {
        std::string header = "{\"typ\":\"dpop+jwt\",\"alg\":";
        append_json_string(header, to_string(key_.alg()));
        header += ",\"jwk\":" + jwk_thumbprint_input(key_.public_jwk()) + "}";
        encoded_header_ = base64url(header);
    }

    /// @brief A proof for one request: a new `jti`, `htm` method, `htu` url without query
    /// and fragment, `iat` now, `nonce` when not empty, and `ath` (base64url SHA-256 of
    /// the access token) when a token is given (RFC 9449 §4.2, §7.1).
    /// @throws error `config` when the key cannot sign
    std::string proof(std::string_view method, std::string_view url, std::string_view nonce = {},
                      std::string_view access_token = {}) const {
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        return proof_at(method, url, nonce, access_token, now);
    }

    /// @brief As proof(), with `iat` given (Unix seconds).
    std::string proof_at(std::string_view method, std::string_view url, std::string_view nonce,
                         std::string_view access_token, std::int64_t iat) const {
        std::string claims;
        claims.reserve(160 + url.size() + nonce.size());
        claims += "{\"jti\":\"";
        claims += new_jti();
        claims += "\",\"htm\":";
        append_json_string(claims, method);
        claims += ",\"htu\":";
        append_json_string(claims, dpop_htu(url));
        claims += ",\"iat\":";
        claims += std::to_string(iat);
        if (!nonce.empty()) {
            claims += ",\"nonce\":";
            append_json_string(claims, nonce);
        }
        if (!access_token.empty()) {
            claims += ",\"ath\":\"";
            base64url_append(claims, sha256_raw(access_token));
            claims.push_back('"');
        }
        claims.push_back('}');
        std::string input;
        input.reserve(encoded_header_.size() + base64_size(claims.size()) + 100);
        input = encoded_header_;
        input.push_back('.');
        base64url_append(input, claims);
        const std::string signature = key_.sign(input);
        return jws_compact(std::move(input), signature);
    }

    /// @brief The key's RFC 7638 thumbprint: the `jkt` a bound token carries in `cnf`.
    const std::string& thumbprint() const noexcept { return thumbprint_; }

private:
    signing_key key_;
    std::string thumbprint_;
    std::string encoded_header_;
};

/// @brief The latest DPoP nonce each origin gave, for the proofs sent there next. Keeps
/// the most recently given max_origins origins. Thread-safe.
class dpop_nonces {
public:
    static constexpr std::size_t max_origins = 64;

    /// @brief The nonce to send to origin; empty when it gave none.
    std::string get(std::string_view origin) const {
        const std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& [o, n] : entries_) {
            if (o == origin) return n;
        }
        return {};
    }

    /// @brief Keeps nonce for origin; a value that is not a nonce is ignored.
    /// @returns true when it was kept and differs from the one kept before
    bool put(std::string_view origin, std::string_view nonce) {
        if (!is_dpop_nonce(nonce)) return false;
        const std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (it->first == origin) {
                const bool changed = it->second != nonce;
                // The most recent last: the first is the one to give up.
                auto entry = std::move(*it);
                entries_.erase(it);
                entry.second = std::string(nonce);
                entries_.push_back(std::move(entry));
                return changed;
            }
        }
        if (entries_.size() >= max_origins) entries_.erase(entries_.begin());
        entries_.emplace_back(std::string(origin), std::string(nonce));
        return true;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, std::string>> entries_;
};

/// @brief The origin of an absolute URL ("https://host:443"), as nonces are kept under;
/// empty for a URL that does not parse.
inline std::string dpop_origin(std::string_view url) {
    const auto parts = parse_url(url);
    return parts ? origin_of(*parts) : std::string();
}

}  // namespace oauth2cc::detail
