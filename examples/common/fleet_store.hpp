// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// common/fleet_store.hpp: the token store the example programs use when asked: Redis
// (--redis URL, where the build found hiredis) or a directory, sealed with the key in a
// file (--seal-key-file FILE).
// SPDX-License-Identifier: MIT
#pragma once

#include "environment.hpp"

#include <oauth2cc/oauth2cc.hpp>
#if OAUTH2CC_EXAMPLES_REDIS
#include <oauth2cc/redis_token_store.hpp>
#endif

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <sys/stat.h>

namespace oauth2cc_examples {

/// @brief Where tokens are kept beyond the process, as the flags ask.
struct store_settings {
    std::string redis_url;                 ///< --redis: redis://... or unix://...
    std::optional<std::string> directory;  ///< --cache [DIR]: "" for the default one
    std::string seal_key_file;             ///< --seal-key-file
};

/// @brief The sealing key in path, which only its owner may read (as ssh keys): 16 bytes
/// at least, 32 random bytes best (`openssl rand -base64 32 > FILE`).
/// @throws std::runtime_error when others may read it or it cannot be read
inline oauth2cc::secret read_sealing_key(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw std::runtime_error("cannot read the sealing key file " + path);
    if ((st.st_mode & 077) != 0) {
        throw std::runtime_error("the sealing key file " + path +
                                 " may be read by other users; chmod 600 it");
    }
    return read_secret_file(path);
}

/// @brief The store the settings name, or null for none.
/// @throws std::runtime_error or oauth2cc::error when it cannot be made
inline std::shared_ptr<oauth2cc::token_store> make_store(const store_settings& s) {
    oauth2cc::secret key;
    if (!s.seal_key_file.empty()) key = read_sealing_key(s.seal_key_file);
    if (!s.redis_url.empty()) {
#if OAUTH2CC_EXAMPLES_REDIS
        oauth2cc::redis_options options = oauth2cc::redis_options_from_url(s.redis_url);
        options.sealing_key = std::move(key);
        return std::make_shared<oauth2cc::redis_token_store>(std::move(options));
#else
        throw std::runtime_error("--redis: this program was built without hiredis");
#endif
    }
    if (s.directory) {
        oauth2cc::file_token_store_options options;
        options.directory = *s.directory;
        options.sealing_key = std::move(key);
        return std::make_shared<oauth2cc::file_token_store>(std::move(options));
    }
    if (!key.empty()) throw std::runtime_error("--seal-key-file needs --redis or --cache");
    return nullptr;
}

}  // namespace oauth2cc_examples
