// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// config_sources.hpp: a client configuration from the environment, from a JSON file, or
// from settings by name, through one parser, so that a setting means the same everywhere.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"

#include <map>
#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief A client configuration from the variables `<prefix>TOKEN_URL`, `ISSUER`,
/// `CLIENT_ID`, `CLIENT_SECRET`, `CLIENT_SECRET_FILE`, `AUTH_METHOD`, `SCOPE`
/// (space-separated), `CLIENT_KEY_FILE`, `CLIENT_KEY_ID`, `CLIENT_KEY_ALG`,
/// `CLIENT_ASSERTION_FILE`, `ASSERTION_AUDIENCE`, `CLIENT_CERT_FILE`,
/// `CLIENT_CERT_KEY_FILE`, `DPOP` (1: a new key for this process), `DPOP_KEY_FILE`,
/// `AUDIENCE`, `RESOURCE` (space-separated), `CA_FILE`, `REVOCATION_URL`, and the grant's:
/// `GRANT`, `SUBJECT_TOKEN_FILE`, `SUBJECT_TOKEN_TYPE`, `ACTOR_TOKEN_FILE`,
/// `ACTOR_TOKEN_TYPE`, `REQUESTED_TOKEN_TYPE`, `ASSERTION_FILE`, `GRANT_KEY_FILE`,
/// `GRANT_KEY_ID`, `ASSERTION_SUBJECT`. An empty variable is one not set; other variables
/// are ignored. A secret file is named, not read: client_config::client_secret_file.
/// @throws error `config` naming the variable (never a secret's value) when a value is
///         bad, a file it names cannot be read, a needed one is missing (the token URL
///         or issuer, the client id, a secret for the secret methods), or settings
///         contradict each other
client_config config_from_environment(std::string_view prefix = "OAUTH2_");

/// @brief A client configuration from a JSON object whose members are the variables of
/// config_from_environment() without the prefix, in lower case (`token_url`,
/// `client_id`, `client_secret_file`, `scope`, ...), every value a string:
/// `{"token_url": "https://...", "client_id": "reports", "scope": "read write"}`.
/// @throws error `config` naming the file and the member when the file cannot be read or
///         is not such an object, a member is unknown or not a string, or as
///         config_from_environment() does
client_config config_from_file(const std::string& path);

/// @brief A client configuration from settings by the names of config_from_file()'s
/// members (empty values are settings not given), for a program that gathers them its
/// own way (command-line options, its own configuration file).
/// @throws error `config` naming the setting, as config_from_file() does
client_config config_from_settings(const std::map<std::string, std::string>& settings);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/config_sources_inl.hpp"
#endif
