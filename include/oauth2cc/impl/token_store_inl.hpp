// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/token_store_inl.hpp: the bodies of token_store and store_key.
// SPDX-License-Identifier: MIT
#pragma once

#include "../token_store.hpp"

#include "../detail/crypto/sha256.hpp"

namespace oauth2cc {

OAUTH2CC_INLINE std::unique_ptr<token_store_lock> token_store::lock(const std::string&) {
    return nullptr;
}

OAUTH2CC_INLINE std::string store_key(const std::string& cache_key) {
    return detail::sha256_hex(cache_key);
}

}  // namespace oauth2cc
