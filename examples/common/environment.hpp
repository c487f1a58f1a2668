// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// common/environment.hpp: what the example programs read from the environment besides the
// client configuration, which oauth2cc::config_from_environment() reads for all of them.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>

namespace oauth2cc_examples {

/// @brief The value of an environment variable; empty when unset.
inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

/// @brief A secret kept in a file (a Redis URL with its password, a sealing key); a
/// trailing newline is dropped.
/// @throws std::runtime_error when the file cannot be read
inline oauth2cc::secret read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the secret file " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return oauth2cc::secret{std::move(text)};
}

/// @brief Whether the method sends the client secret (itself or as the HS256 key).
inline bool sends_secret(oauth2cc::auth_method m) {
    return m == oauth2cc::auth_method::client_secret_basic ||
           m == oauth2cc::auth_method::client_secret_post ||
           m == oauth2cc::auth_method::client_secret_jwt;
}

/// @brief The client's credentials for calls that are not token requests (a resource
/// server's introspection): OAUTH2_CLIENT_ID, and OAUTH2_CLIENT_SECRET_FILE (read when
/// first needed, and again when it changes) or OAUTH2_CLIENT_SECRET.
inline void read_credentials(oauth2cc::client_config& cfg) {
    cfg.client_id = env("OAUTH2_CLIENT_ID");
    cfg.client_secret_file = env("OAUTH2_CLIENT_SECRET_FILE");
    if (cfg.client_secret_file.empty()) {
        cfg.client_secret = oauth2cc::secret{env("OAUTH2_CLIENT_SECRET")};
    }
}

}  // namespace oauth2cc_examples
