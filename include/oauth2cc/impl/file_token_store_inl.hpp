// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/file_token_store_inl.hpp: the bodies of file_token_store.
// SPDX-License-Identifier: MIT
#pragma once

#include "../file_token_store.hpp"

#include "../detail/store/private_files.hpp"
#include "../detail/crypto/seal.hpp"
#include "../detail/store/token_file.hpp"
#include "../detail/text/wipe.hpp"
#include "../detail/store/file_store.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oauth2cc {

OAUTH2CC_INLINE file_token_store::file_token_store(std::string directory)
    : file_token_store(detail::store_options_in(std::move(directory))) {}

OAUTH2CC_INLINE file_token_store::file_token_store(file_token_store_options options)
    : directory_(options.directory.empty() ? default_directory() : std::move(options.directory)),
      lock_wait_(options.lock_wait),
      sealer_(detail::sealer_for(options.sealing_key)) {
    if (lock_wait_.count() < 0) {
        throw error(error_kind::config, "file_token_store_options.lock_wait must not be negative");
    }
    while (directory_.size() > 1 && directory_.back() == '/') directory_.pop_back();
    detail::make_private_directories(directory_);
    detail::unique_fd fd(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw detail::file_error("cannot open the token cache directory", directory_, errno);
    }
    detail::check_private(fd.get(), directory_, /*directory=*/true);
    directory_fd_ = fd.get();
    fd.release();
    detail::remove_stale_temporaries(directory_fd_);
}

OAUTH2CC_INLINE file_token_store::~file_token_store() {
    if (directory_fd_ >= 0) ::close(directory_fd_);
}

OAUTH2CC_INLINE std::string file_token_store::default_directory() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    // The specification says to ignore a relative XDG_CACHE_HOME.
    if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/oauth2cc";
    std::string home;
    if (const char* h = std::getenv("HOME"); h != nullptr && h[0] == '/') {
        home = h;
    } else {
        std::vector<char> buffer(16384);
        struct passwd pw {};
        struct passwd* found = nullptr;
        if (::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &found) == 0 &&
            found != nullptr && found->pw_dir != nullptr && found->pw_dir[0] == '/') {
            home = found->pw_dir;
        }
    }
    if (home.empty()) {
        throw error(error_kind::config,
                    "no directory for the token cache: set XDG_CACHE_HOME or HOME, or name one");
    }
    while (home.size() > 1 && home.back() == '/') home.pop_back();
    return (home == "/" ? std::string() : home) + "/.cache/oauth2cc";
}

OAUTH2CC_INLINE std::optional<stored_token> file_token_store::load(const std::string& key) {
    detail::check_store_key(key);
    const std::string name = key + ".json";
    const std::string path = directory_ + "/" + name;
    detail::unique_fd fd(detail::open_in_store(directory_fd_, name, path, O_RDONLY));
    if (fd.get() < 0) return std::nullopt;
    detail::check_private(fd.get(), path, /*directory=*/false);
    std::string text;
    if (const int err = detail::read_up_to(fd.get(), text, detail::max_token_file_bytes)) {
        detail::wipe(text);
        throw detail::file_error("cannot read the token cache file", path, err);
    }
    std::optional<stored_token> out;
    if (text.size() > detail::max_token_file_bytes) {
        // Not a token file: ignored.
    } else if (!sealer_) {
        out = detail::parse_token_file(text);
    } else {
        if (!text.empty() && text.back() == '\n') text.pop_back();
        if (auto plain = sealer_->open(text, key)) {
            out = detail::parse_token_file(*plain);
            detail::wipe(*plain);
        }
    }
    detail::wipe(text);
    return out;
}

OAUTH2CC_INLINE void file_token_store::save(const std::string& key, const stored_token& entry) {
    detail::check_store_key(key);
    static std::atomic<unsigned long> serial{0};
    const std::string name = key + ".json";
    const std::string path = directory_ + "/" + name;
    const std::string temporary = "." + name + "." + std::to_string(::getpid()) + "." +
                                  std::to_string(serial.fetch_add(1)) + ".tmp";
    std::string text = detail::token_file_text(entry);
    const detail::wipe_at_exit wipe_text{[&text] { detail::wipe(text); }};
    if (sealer_) {
        std::string sealed = sealer_->seal(text, key) + "\n";
        detail::wipe(text);
        text = std::move(sealed);
    }
    detail::unique_fd fd(detail::open_in_store(
        directory_fd_, temporary, directory_ + "/" + temporary, O_WRONLY | O_CREAT | O_EXCL));
    int err = ::fchmod(fd.get(), 0600) != 0 ? errno : 0;
    if (err == 0) err = detail::write_all(fd.get(), text.data(), text.size());
    if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
    fd.reset();
    if (err == 0 &&
        ::renameat(directory_fd_, temporary.c_str(), directory_fd_, name.c_str()) != 0) {
        err = errno;
    }
    if (err != 0) {
        ::unlinkat(directory_fd_, temporary.c_str(), 0);
        throw detail::file_error("cannot write the token cache file", path, err);
    }
    // Makes the rename itself durable. A failure here loses at most a cached token.
    ::fsync(directory_fd_);
}

OAUTH2CC_INLINE void file_token_store::remove(const std::string& key) {
    detail::check_store_key(key);
    const std::string name = key + ".json";
    if (::unlinkat(directory_fd_, name.c_str(), 0) != 0 && errno != ENOENT) {
        throw detail::file_error("cannot remove the token cache file", directory_ + "/" + name,
                                 errno);
    }
}

OAUTH2CC_INLINE std::unique_ptr<token_store_lock> file_token_store::lock(const std::string& key) {
    detail::check_store_key(key);
    const std::string name = key + ".lock";
    const std::string path = directory_ + "/" + name;
    detail::unique_fd fd(detail::open_in_store(directory_fd_, name, path, O_RDWR | O_CREAT));
    detail::check_private(fd.get(), path, /*directory=*/false);
    // flock has no timeout, so a lock whose holder hangs is polled for, with a bounded
    // wait; the holder's own request is bounded by its transport's timeouts.
    const auto give_up = std::chrono::steady_clock::now() + lock_wait_;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
            const int held = fd.get();
            fd.release();
            return std::make_unique<detail::file_store_lock>(held);
        }
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK)
            throw detail::file_error("cannot lock the token cache file", path, errno);
        const auto now = std::chrono::steady_clock::now();
        if (now >= give_up) return nullptr;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(pause, give_up - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(25));
    }
}

}  // namespace oauth2cc
