// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/wipe.hpp: overwrites sensitive bytes in a way the optimiser cannot drop.
// SPDX-License-Identifier: MIT
#pragma once

#include <openssl/crypto.h>

#include <string>

namespace oauth2cc::detail {

/// @brief Zeroes every byte a string owns, its spare capacity included, then empties it.
inline void wipe(std::string& s) noexcept {
    // resize() up to capacity() never reallocates, and makes the whole buffer (the
    // small-string buffer too) addressable, so the cleanse reaches every byte.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

}  // namespace oauth2cc::detail
