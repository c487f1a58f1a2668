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
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/stat.h>

namespace oauth2cc_examples {

/// @brief Where tokens are kept beyond the process, as the flags ask.
struct store_settings {
    std::string redis_url;  ///< --redis or OAUTH2_REDIS_URL: redis://, unix://
    /// --redis-url-file or OAUTH2_REDIS_URL_FILE: the URL read from a file (0600), for a
    /// URL with a password, which the command line would show to every user in `ps`.
    std::string redis_url_file;
    std::optional<std::string> directory;  ///< --cache [DIR]: "" for the default one
    std::string seal_key_file;             ///< --seal-key-file
};

/// @brief Whether a URL's user info carries a password: user:password@ for any scheme,
/// and password@ for redis:// (as redis-cli reads it).
inline bool url_has_password(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return false;
    const std::string_view rest = url.substr(scheme_end + 3);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) return false;
    const std::string_view userinfo = authority.substr(0, at);
    const bool redis = url.substr(0, scheme_end) == "redis";
    return userinfo.find(':') != std::string_view::npos
               ? userinfo.substr(userinfo.find(':') + 1) != ""
               : redis && !userinfo.empty();
}

/// @brief Warns on err, once per flag, when a flag given on the command line (not from the
/// environment) carries a password in its URL: every user of the host sees it in `ps`.
/// @param flags each flag's name and where to read the credentials instead
inline void warn_of_passwords_in_argv(int argc, char** argv,
                                      const std::vector<std::pair<std::string, std::string>>& flags,
                                      const std::string& program, std::ostream& err) {
    for (const auto& [flag, instead] : flags) {
        for (int i = 1; i < argc; ++i) {
            const std::string_view a = argv[i];
            std::string_view value;
            if (a == flag && i + 1 < argc) {
                value = argv[i + 1];
            } else if (a.rfind(flag + "=", 0) == 0) {
                value = a.substr(flag.size() + 1);
            } else {
                continue;
            }
            if (url_has_password(value)) {
                err << program << ": warning: " << flag
                    << " shows its password in the process list; prefer " << instead << "\n";
                break;
            }
        }
    }
}

/// @brief A secret in path, which only its owner may read (as ssh keys); what names it in
/// messages.
/// @throws std::runtime_error when others may read it or it cannot be read
inline oauth2cc::secret read_private_file(const std::string& path, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw std::runtime_error("cannot read the " + what + " file " + path);
    if ((st.st_mode & 077) != 0) {
        throw std::runtime_error("the " + what + " file " + path +
                                 " may be read by other users; chmod 600 it");
    }
    return read_secret_file(path);
}

/// @brief The sealing key in path, which only its owner may read (as ssh keys): 16 bytes
/// at least, 32 random bytes best (`openssl rand -base64 32 > FILE`).
/// @throws std::runtime_error when others may read it or it cannot be read
inline oauth2cc::secret read_sealing_key(const std::string& path) {
    return read_private_file(path, "sealing key");
}

/// @brief The store the settings name, or null for none.
/// @throws std::runtime_error or oauth2cc::error when it cannot be made
inline std::shared_ptr<oauth2cc::token_store> make_store(const store_settings& s) {
    oauth2cc::secret key;
    if (!s.seal_key_file.empty()) key = read_sealing_key(s.seal_key_file);
    if (!s.redis_url.empty() && !s.redis_url_file.empty()) {
        throw std::runtime_error("--redis and --redis-url-file: give one");
    }
    if (!s.redis_url.empty() || !s.redis_url_file.empty()) {
#if OAUTH2CC_EXAMPLES_REDIS
        // A URL from a file is read as a secret is: private, its trailing newline dropped.
        const oauth2cc::secret from_file = s.redis_url_file.empty()
                                               ? oauth2cc::secret{}
                                               : read_private_file(s.redis_url_file, "Redis URL");
        oauth2cc::redis_options options = oauth2cc::redis_options_from_url(
            s.redis_url_file.empty() ? s.redis_url : from_file.reveal());
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
