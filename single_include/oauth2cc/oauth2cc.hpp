// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// Single-header edition of oauth2cc 0.1.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

// ---- oauth2cc/oauth2cc.hpp ----

// ---- oauth2cc/config.hpp ----

/// @brief Major version: changes when the public API breaks.
#define OAUTH2CC_VERSION_MAJOR 0
/// @brief Minor version: changes when the public API grows.
#define OAUTH2CC_VERSION_MINOR 1
/// @brief Patch version: changes for fixes only.
#define OAUTH2CC_VERSION_PATCH 0
/// @brief The version as text, "MAJOR.MINOR.PATCH".
#define OAUTH2CC_VERSION_STRING "0.1.0"
/// @brief The version as one comparable number: MAJOR * 10000 + MINOR * 100 + PATCH.
#define OAUTH2CC_VERSION \
    (OAUTH2CC_VERSION_MAJOR * 10000 + OAUTH2CC_VERSION_MINOR * 100 + OAUTH2CC_VERSION_PATCH)

/// @brief Marks the non-template bodies under impl/ so that the header-only library
/// links cleanly when included from many translation units.
#ifndef OAUTH2CC_INLINE
#define OAUTH2CC_INLINE inline
#endif

#if defined(_MSVC_LANG)
#define OAUTH2CC_CPLUSPLUS _MSVC_LANG
#else
#define OAUTH2CC_CPLUSPLUS __cplusplus
#endif
#if OAUTH2CC_CPLUSPLUS < 201703L
#error "oauth2cc requires C++17 or later"
#endif

// Every translation unit must see the same cpp-httplib class layout, and the library
// speaks HTTPS: the build exports (CMake target, Meson dependency, pkg-config file)
// define this macro. A unit that lacks it was not built against those exports.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "oauth2cc requires CPPHTTPLIB_OPENSSL_SUPPORT: link oauth2cc::oauth2cc, use the Meson dependency 'oauth2cc', or take the flags from pkg-config oauth2cc"
#endif
// ---- oauth2cc/version.hpp ----

#include <string_view>

namespace oauth2cc {

/// @brief A library version, comparable as a whole.
struct version_info {
    int major = 0;  ///< Changes when the public API breaks.
    int minor = 0;  ///< Changes when the public API grows.
    int patch = 0;  ///< Changes for fixes only.

    /// @brief Orders versions by major, then minor, then patch.
    /// @returns a negative number, zero or a positive number.
    constexpr int compare(const version_info& other) const noexcept {
        if (major != other.major) return major < other.major ? -1 : 1;
        if (minor != other.minor) return minor < other.minor ? -1 : 1;
        if (patch != other.patch) return patch < other.patch ? -1 : 1;
        return 0;
    }
};

/// @brief The version of the oauth2cc headers this unit was compiled against.
inline constexpr version_info version{OAUTH2CC_VERSION_MAJOR, OAUTH2CC_VERSION_MINOR,
                                      OAUTH2CC_VERSION_PATCH};

/// @brief The same version as text, "MAJOR.MINOR.PATCH".
inline constexpr std::string_view version_string{OAUTH2CC_VERSION_STRING};

}  // namespace oauth2cc
