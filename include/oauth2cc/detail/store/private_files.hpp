// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/private_files.hpp: POSIX files only their owner may use: checks, whole reads
// and writes, each failure an error that names the path and the fix.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../secret.hpp"
#include "../text/file_version.hpp"
#include "../text/limits.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace oauth2cc::detail {

/// @brief "what path: strerror(errno)", as a `config` error.
inline error file_error(const std::string& what, const std::string& path, int err) {
    return error(error_kind::config, what + " " + path + ": " + std::strerror(err));
}

inline std::string octal_mode(mode_t mode) {
    std::string out = "0000";
    for (int i = 3; i >= 1; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
        mode >>= 3;
    }
    return out;
}

/// @brief Refuses what an open fd names unless it is a directory (or a regular file),
/// owned by this user, and closed to group and others.
/// @throws error `config` that says what is wrong and how to fix it
inline void check_private(int fd, const std::string& path, bool directory) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw file_error("cannot stat the token cache", path, errno);
    const char* noun = directory ? "directory" : "file";
    if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        throw error(error_kind::config, std::string("the token cache ") + noun + " " + path +
                                            " is not a " +
                                            (directory ? "directory" : "regular file"));
    }
    if (st.st_uid != ::geteuid()) {
        throw error(error_kind::config, std::string("the token cache ") + noun + " " + path +
                                            " is owned by user id " + std::to_string(st.st_uid) +
                                            ", not by this user (" + std::to_string(::geteuid()) +
                                            "); refusing to use it");
    }
    if ((st.st_mode & 077) != 0) {
        throw error(error_kind::config,
                    std::string("the token cache ") + noun + " " + path + " has mode " +
                        octal_mode(st.st_mode & 07777) +
                        ", which lets other users at it; refusing to use it (chmod " +
                        (directory ? "700" : "600") + " it)");
    }
}

/// @brief Closes an fd when it goes out of scope.
class unique_fd {
public:
    explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    int get() const noexcept { return fd_; }
    /// @brief Gives the fd up without closing it.
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

/// @brief Writes all of data, through EINTR and short writes. @returns 0 or an errno
inline int write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return 0;
}

/// @brief How long a read of a credential file that is no regular file (a FIFO, a
/// shell's <(...)) may wait for its writer, at most.
inline constexpr std::chrono::milliseconds credential_pipe_wait{2000};

/// @brief Reads up to limit + 1 bytes into out, which may hold a token, so the buffer
/// it passes through is wiped. A descriptor opened with O_NONBLOCK (a FIFO) is waited
/// for until until, then ETIMEDOUT. @returns 0 or an errno
inline int read_up_to(
    int fd, std::string& out, std::size_t limit,
    std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max()) {
    char buffer[4096];
    int result = 0;
    while (out.size() <= limit) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            pollfd wait{fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&wait, 1, static_cast<int>(left.count())) == 0) {
                result = ETIMEDOUT;
                break;
            }
            continue;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            result = errno;
            break;
        }
        if (n == 0) break;
        append_wiping(out, buffer, static_cast<std::size_t>(n));
    }
    OPENSSL_cleanse(buffer, sizeof buffer);
    return result;
}

/// @brief The content of a small file that holds a credential (a key, an assertion),
/// read into one buffer sized from the file, so no copy is left behind. A FIFO is opened
/// without blocking and read for credential_pipe_wait at most: a writer that never comes
/// never holds the caller.
/// @param what names the file in errors, e.g. "the key file"
/// @throws error `config` naming the file, never its content, when it cannot be opened
///         or read, or holds more than limit bytes
inline std::string read_credential_file(const std::string& path, std::size_t limit,
                                        const std::string& what) {
    const std::string name = what + " \"" + excerpt(path, 200) + "\"";
    const unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        throw error(error_kind::config, "cannot open " + name + ": " + std::strerror(errno));
    }
    struct stat st {};
    std::string out;
    const bool stated = ::fstat(fd.get(), &st) == 0;
    if (stated && S_ISREG(st.st_mode) && st.st_size > 0) {
        out.reserve(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), limit) + 1);
    }
    const auto until = std::chrono::steady_clock::now() + credential_pipe_wait;
    if (const int err = read_up_to(fd.get(), out, limit, until); err != 0) {
        wipe(out);
        throw error(error_kind::config,
                    "cannot read " + name + ": " +
                        (err == ETIMEDOUT ? "nothing was written to it within " +
                                                std::to_string(credential_pipe_wait.count()) +
                                                " ms (a FIFO with no writer?)"
                                          : std::string(std::strerror(err))));
    }
    if (out.size() > limit) {
        wipe(out);
        throw error(error_kind::config,
                    name + " is over " + std::to_string(limit) + " bytes: not a credential");
    }
    return out;
}

/// @brief What assertion_from_file() read last, and the file's metadata then.
struct file_source_state {
    std::mutex mutex;
    bool read = false;
    struct stat seen {};
    secret text;
};

/// @brief The source assertion_from_file() makes (its body is there); a manager backing
/// off asks it whether its file changed since it was read.
struct file_credential {
    std::string path;
    std::shared_ptr<file_source_state> state;

    std::string operator()() const;

    /// @brief True when the file's metadata differs from when it was last read.
    bool changed() const {
        struct stat now {};
        const bool known = ::stat(path.c_str(), &now) == 0;
        const std::lock_guard<std::mutex> lock(state->mutex);
        return state->read && known && S_ISREG(state->seen.st_mode) &&
               !same_file_version(now, state->seen);
    }
};

/// @brief The trimmed content of a credential file.
/// @throws error `config` naming the file (never its content) when it cannot be read or
///         is empty
inline std::string read_trimmed_credential(const std::string& path) {
    std::string text = read_credential_file(path, max_credential_file_bytes, "the credential file");
    // Trimmed in place: erase() moves bytes within the one buffer, which the caller
    // wipes with the credential.
    std::size_t end = text.size();
    while (end > 0 && is_space(text[end - 1])) --end;
    std::size_t begin = 0;
    while (begin < end && is_space(text[begin])) ++begin;
    text.resize(end);
    text.erase(0, begin);
    if (text.empty()) {
        throw error(error_kind::config,
                    "the credential file \"" + excerpt(path, 200) + "\" is empty");
    }
    return text;
}

}  // namespace oauth2cc::detail
