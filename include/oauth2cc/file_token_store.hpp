// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// file_token_store.hpp: tokens kept in private files, shared by the processes of one
// user: one request for many cron runs, or for many processes starting together.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "token_store.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#if !defined(_WIN32)

namespace oauth2cc {

namespace detail {
class sealer;
}  // namespace detail

/// @brief Where a file_token_store keeps its files and how long it waits for its lock.
struct file_token_store_options {
    /// The directory; empty means file_token_store::default_directory(). Missing
    /// directories are made with mode 0700.
    std::string directory;
    /// How long lock() waits for another process's request before going on without it.
    std::chrono::milliseconds lock_wait{30000};
    /// When set (16 bytes or more; 32 random bytes are best), files hold the token sealed:
    /// AES-256-GCM under a key derived from this one by HKDF-SHA256, with the store key as
    /// associated data. A file that does not open under it is ignored, and replaced.
    /// A key given empty (secret::has_value() with no bytes: an empty key file, say) is a
    /// `config` error, never "no sealing".
    secret sealing_key;
};

/// @brief A token_store in one directory of private files (POSIX).
///
/// - The directory must be owned by this user with mode 0700 (no access for group or
///   others), and every file in it by this user with mode 0600; anything else is refused
///   with an error of kind `config` that names the path and the fix.
/// - Each key has `KEY.json`, replaced atomically (temporary file, fsync, rename, fsync of
///   the directory), and `KEY.lock`, which lock() holds with flock(2): the lock dies with
///   its process, so a crash never leaves it held.
/// - A file that is not a whole token file (truncated, corrupt) is ignored, and replaced
///   by the next save(). Temporary files of processes that died before their rename are
///   removed when a store opens the directory.
/// - Only what a token response gave is written: never the client secret. With
///   file_token_store_options::sealing_key, not even that in clear.
class file_token_store final : public token_store {
public:
    /// @brief Opens (making it if missing) the directory and checks who may use it.
    /// @throws error `config` when it cannot be made or opened, is not a directory, is
    ///         owned by another user, or others may read, write or enter it, or when
    ///         the sealing key is shorter than 16 bytes
    explicit file_token_store(file_token_store_options options = {});
    /// @brief As above, in directory (empty: the default).
    explicit file_token_store(std::string directory);
    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that includes this header but makes none emits no vtable and
    // no code. In compiled mode they are the library's, with its vtable.
    OAUTH2CC_INLINE ~file_token_store() override;
    file_token_store(const file_token_store&) = delete;
    file_token_store& operator=(const file_token_store&) = delete;

    /// @brief `$XDG_CACHE_HOME/oauth2cc` when XDG_CACHE_HOME is an absolute path, else
    /// `$HOME/.cache/oauth2cc` (HOME from the environment, else the password database).
    /// @throws error `config` when neither gives a home directory
    static std::string default_directory();

    /// @brief The directory this store uses.
    const std::string& directory() const noexcept { return directory_; }

    OAUTH2CC_INLINE std::optional<stored_token> load(const std::string& key) override;
    OAUTH2CC_INLINE void save(const std::string& key, const stored_token& entry) override;
    OAUTH2CC_INLINE void remove(const std::string& key) override;
    OAUTH2CC_INLINE std::unique_ptr<token_store_lock> lock(const std::string& key) override;

private:
    std::string directory_;
    int directory_fd_ = -1;
    std::chrono::milliseconds lock_wait_;
    std::shared_ptr<const detail::sealer> sealer_;  // null: files in clear
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/file_token_store_inl.hpp"
#endif

#endif  // !defined(_WIN32)
