// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// config.hpp: the library version and every OAUTH2CC_* macro, nothing else.
// SPDX-License-Identifier: MIT
#pragma once

/// @brief Major version: changes when the public API breaks.
#define OAUTH2CC_VERSION_MAJOR 0
/// @brief Minor version: changes when the public API grows.
#define OAUTH2CC_VERSION_MINOR 2
/// @brief Patch version: changes for fixes only.
#define OAUTH2CC_VERSION_PATCH 0
/// @brief The version as text, "MAJOR.MINOR.PATCH".
#define OAUTH2CC_VERSION_STRING "0.2.0"
/// @brief The version as one comparable number: MAJOR * 10000 + MINOR * 100 + PATCH.
#define OAUTH2CC_VERSION \
    (OAUTH2CC_VERSION_MAJOR * 10000 + OAUTH2CC_VERSION_MINOR * 100 + OAUTH2CC_VERSION_PATCH)

/// @brief 1 when the library is used header-only (the default): every unit that
/// includes a header gets its bodies, as inline functions. 0 with OAUTH2CC_COMPILED_LIB:
/// units see declarations only, and the bodies are compiled once, in the unit that defines
/// OAUTH2CC_IMPLEMENTATION (src/oauth2cc.cpp, or one unit of the user's with the single
/// header).
#if defined(OAUTH2CC_COMPILED_LIB)
#define OAUTH2CC_HEADER_ONLY 0
#else
#define OAUTH2CC_HEADER_ONLY 1
#endif

/// @brief 1 in a unit that compiles the library's bodies: every unit in header-only mode,
/// and the one unit that defines OAUTH2CC_IMPLEMENTATION in compiled mode.
#if OAUTH2CC_HEADER_ONLY || defined(OAUTH2CC_IMPLEMENTATION)
#define OAUTH2CC_WITH_BODIES 1
#else
#define OAUTH2CC_WITH_BODIES 0
#endif

/// @brief Marks the non-template bodies under impl/: inline when header-only, so that the
/// library links cleanly when included from many translation units; ordinary functions,
/// defined once, in compiled mode.
#ifndef OAUTH2CC_INLINE
#if OAUTH2CC_HEADER_ONLY
#define OAUTH2CC_INLINE inline
#else
#define OAUTH2CC_INLINE
#endif
#endif

/// @brief Seeds client_config::connect_timeout, in milliseconds.
#ifndef OAUTH2CC_DEFAULT_CONNECT_TIMEOUT_MS
#define OAUTH2CC_DEFAULT_CONNECT_TIMEOUT_MS 5000
#endif
/// @brief Seeds client_config::read_timeout, in milliseconds.
#ifndef OAUTH2CC_DEFAULT_READ_TIMEOUT_MS
#define OAUTH2CC_DEFAULT_READ_TIMEOUT_MS 10000
#endif
/// @brief Seeds client_config::max_response_bytes.
#ifndef OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES
#define OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES (1024 * 1024)
#endif

#if defined(_MSVC_LANG)
#define OAUTH2CC_CPLUSPLUS _MSVC_LANG
#else
#define OAUTH2CC_CPLUSPLUS __cplusplus
#endif
#if OAUTH2CC_CPLUSPLUS < 201703L
#error "oauth2cc requires C++17 or later"
#endif

// Every translation unit that compiles the bodies must see the same cpp-httplib class
// layout, and the library speaks HTTPS: the build exports (CMake target, Meson
// dependency, pkg-config file) define this macro. A unit that lacks it was not built
// against those exports. In compiled mode, units that see declarations only need nothing
// of cpp-httplib.
#if OAUTH2CC_WITH_BODIES && !defined(CPPHTTPLIB_OPENSSL_SUPPORT)
#error \
    "oauth2cc needs cpp-httplib's flags (CPPHTTPLIB_OPENSSL_SUPPORT and the rest). With the single header, build as: c++ -std=c++17 -I single_include main.cpp $(pkg-config --cflags --libs cpp-httplib) -lssl -lcrypto -pthread (with a header-only cpp-httplib: -DCPPHTTPLIB_OPENSSL_SUPPORT instead of the pkg-config part). With CMake link oauth2cc::oauth2cc, with Meson use dependency('oauth2cc'), else take the flags from pkg-config --cflags --libs oauth2cc"
// A missing file is a fatal error: the compiler stops here, and the error above is the
// only one it shows (no errors from the rest of the header, nor from the unit's code).
#include <oauth2cc: the build stops at the error above>
#endif
