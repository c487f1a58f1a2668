// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/crypto/pem.hpp: the one passphrase callback every PEM read goes through.
// SPDX-License-Identifier: MIT
#pragma once

namespace oauth2cc::detail {

/// @brief OpenSSL's passphrase callback for every PEM read, of keys and certificates,
/// from files and memory: it gives none, so an encrypted key is refused (and noticed in
/// *asked, a bool, when not null), never prompted for on a terminal or read from stdin,
/// which is what OpenSSL's default callback does, outside every deadline.
inline int refuse_passphrase(char*, int, int, void* asked) {
    if (asked != nullptr) *static_cast<bool*>(asked) = true;
    return -1;
}

}  // namespace oauth2cc::detail
