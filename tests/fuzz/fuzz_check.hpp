// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_check.hpp: the fuzz targets' one assertion: say which property broke, then abort
// so that libFuzzer keeps the input.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdio>
#include <cstdlib>

namespace oauth2cc_fuzz {

inline void require(bool holds, const char* property) {
    if (holds) return;
    std::fprintf(stderr, "fuzz property broken: %s\n", property);
    std::abort();
}

}  // namespace oauth2cc_fuzz
