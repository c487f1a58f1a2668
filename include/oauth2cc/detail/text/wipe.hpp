// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/wipe.hpp: overwrites sensitive bytes in a way the optimiser cannot drop.
// SPDX-License-Identifier: MIT
#pragma once

#include <openssl/crypto.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief Zeroes every byte a string owns, its spare capacity included, then empties it.
inline void wipe(std::string& s) noexcept {
    // resize() up to capacity() never reallocates, and makes the whole buffer (the
    // small-string buffer too) addressable, so the cleanse reaches every byte.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

/// @brief Makes room for `need` bytes in s. When s must grow, its bytes move to a new
/// buffer and the old one is wiped before it is freed.
inline void reserve_wiping(std::string& s, std::size_t need) {
    if (s.capacity() >= need) return;
    std::string bigger;
    bigger.reserve(std::max(need, 2 * s.capacity()));
    bigger.append(s);
    wipe(s);
    s.swap(bigger);
}

/// @brief Runs a wipe when the scope ends, however it ends: `const wipe_at_exit w{[&] {
/// wipe(body); }};`. One guard for every credential a function holds for a while.
template <class Wipe>
class wipe_at_exit {
public:
    explicit wipe_at_exit(Wipe wipe_now) noexcept : wipe_(std::move(wipe_now)) {}
    wipe_at_exit(const wipe_at_exit&) = delete;
    wipe_at_exit& operator=(const wipe_at_exit&) = delete;
    ~wipe_at_exit() { wipe_(); }

private:
    Wipe wipe_;
};

/// @brief Appends bytes to s as reserve_wiping() grows it.
inline void append_wiping(std::string& s, const char* data, std::size_t size) {
    reserve_wiping(s, s.size() + size);
    s.append(data, size);
}

}  // namespace oauth2cc::detail
