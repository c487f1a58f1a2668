// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/file_store.hpp: the file store's pieces: lock files held by flock(2), temporary
// files written then renamed, and the owner and mode checks of the directory.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../file_token_store.hpp"
#include "../text/wipe.hpp"
#include "private_files.hpp"
#include "token_file.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oauth2cc::detail {

/// @brief A token file is a few kilobytes; anything far larger is not one.
inline constexpr std::size_t max_token_file_bytes = 1024 * 1024;

/// @brief Holds a flock(2) on a key's lock file; closing the file releases it.
class file_store_lock final : public token_store_lock {
public:
    explicit file_store_lock(int fd) noexcept : fd_(fd) {}

private:
    unique_fd fd_;
};

/// @brief Makes every missing directory on path with mode 0700, as the XDG Base
/// Directory specification asks of the cache home.
inline void make_private_directories(const std::string& path) {
    for (std::size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
        const std::string prefix = at == std::string::npos ? path : path.substr(0, at);
        if (!prefix.empty() && ::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
            throw file_error("cannot make the token cache directory", prefix, errno);
        }
        if (at == std::string::npos) break;
    }
}

/// @brief Opens name in the store's directory, refusing symbolic links.
/// @returns the fd, or -1 when it does not exist and create is false
inline int open_in_store(int directory_fd, const std::string& name, const std::string& path,
                         int flags) {
    const int fd = ::openat(directory_fd, name.c_str(),
                            flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    if (fd >= 0) return fd;
    if (errno == ENOENT && (flags & O_CREAT) == 0) return -1;
    if (errno == ELOOP) {
        throw error(error_kind::config,
                    "the token cache file " + path + " is a symbolic link; refusing to use it");
    }
    throw file_error("cannot open the token cache file", path, errno);
}

/// @brief Removes temporary files that a process died before renaming: names of the form
/// `.KEY.json.PID.N.tmp` whose PID no longer exists. A reused PID only keeps a file.
inline void remove_stale_temporaries(int directory_fd) {
    unique_fd copy(::dup(directory_fd));  // closedir() closes the fd it reads from
    if (copy.get() < 0) return;
    DIR* dir = ::fdopendir(copy.get());
    if (dir == nullptr) return;
    copy.release();
    std::vector<std::string> stale;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        const auto json = name.find(".json.");
        if (name.size() < 5 || name[0] != '.' || json == std::string::npos ||
            name.compare(name.size() - 4, 4, ".tmp") != 0) {
            continue;
        }
        const std::string pid_text = name.substr(json + 6, name.find('.', json + 6) - (json + 6));
        if (pid_text.empty() || pid_text.size() > 10 ||
            pid_text.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const long pid = std::stol(pid_text);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
            stale.push_back(name);
        }
    }
    for (const auto& name : stale) ::unlinkat(directory_fd, name.c_str(), 0);
    ::closedir(dir);
}

inline file_token_store_options store_options_in(std::string directory) {
    file_token_store_options options;
    options.directory = std::move(directory);
    return options;
}

}  // namespace oauth2cc::detail
