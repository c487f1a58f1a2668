// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// common/environment.hpp: how the example programs read their configuration from the
// environment (OAUTH2_* variables) and the client secret from a file.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace oauth2cc_examples {

/// @brief The value of an environment variable; empty when unset.
inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

/// @brief A secret kept in a file, as mounted secrets are; a trailing newline is dropped.
/// @throws std::runtime_error when the file cannot be read
inline oauth2cc::secret read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the client secret file " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return oauth2cc::secret{std::move(text)};
}

/// @brief Space-separated scopes as a list.
inline std::vector<std::string> split_scopes(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string s; in >> s;) out.push_back(s);
    return out;
}

/// @brief The client's credentials: OAUTH2_CLIENT_ID, and OAUTH2_CLIENT_SECRET_FILE
/// (preferred) or OAUTH2_CLIENT_SECRET.
/// @throws std::runtime_error when the secret file cannot be read
inline void read_credentials(oauth2cc::client_config& cfg) {
    cfg.client_id = env("OAUTH2_CLIENT_ID");
    if (const std::string file = env("OAUTH2_CLIENT_SECRET_FILE"); !file.empty()) {
        cfg.client_secret = read_secret_file(file);
    } else {
        cfg.client_secret = oauth2cc::secret{env("OAUTH2_CLIENT_SECRET")};
    }
}

/// @brief A client configuration from OAUTH2_TOKEN_URL, the credentials, OAUTH2_SCOPE and
/// OAUTH2_AUTH_METHOD (basic, post or none).
/// @throws std::runtime_error when the secret file cannot be read
inline oauth2cc::client_config client_config_from_environment() {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = env("OAUTH2_TOKEN_URL");
    read_credentials(cfg);
    const std::string auth = env("OAUTH2_AUTH_METHOD");
    if (auth == "post") cfg.auth = oauth2cc::auth_method::client_secret_post;
    if (auth == "none") cfg.auth = oauth2cc::auth_method::none;
    cfg.scopes = split_scopes(env("OAUTH2_SCOPE"));
    return cfg;
}

}  // namespace oauth2cc_examples
