// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// version.hpp: the version of the headers a program was compiled against.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"

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
