// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/file_version.hpp: whether a file is still the version seen before, by its
// metadata alone, for the credential files that are read again when they change.
// SPDX-License-Identifier: MIT
#pragma once

#include <mutex>
#include <string>

#include <sys/stat.h>

namespace oauth2cc::detail {

/// @brief True when a and b describe the same version of a file.
inline bool same_file_version(const struct stat& a, const struct stat& b) noexcept {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

/// @brief Watches files for a new version: the first look notes them, each later look
/// says whether any has changed (or appeared, or gone) since the look before. One stat()
/// a file a look; thread-safe.
class file_watch {
public:
    /// @brief True when one of the files differs from the last look (never on the first).
    bool changed(const std::string& a, const std::string& b = {}) {
        const look now = look_at(a, b);
        const std::lock_guard<std::mutex> lock(mutex_);
        const bool differs = differs_from(now);
        looked_ = true;
        last_ = now;
        return differs;
    }

    /// @brief True when one of the files differs from the last look of changed(), which
    /// it leaves as it was (never before the first look).
    bool differs(const std::string& a, const std::string& b = {}) {
        const look now = look_at(a, b);
        const std::lock_guard<std::mutex> lock(mutex_);
        return differs_from(now);
    }

private:
    struct look {
        bool has_a = false, has_b = false;
        struct stat a {
        }, b{};
    };
    static look look_at(const std::string& a, const std::string& b) {
        look now;
        now.has_a = !a.empty() && ::stat(a.c_str(), &now.a) == 0;
        now.has_b = !b.empty() && ::stat(b.c_str(), &now.b) == 0;
        return now;
    }
    // Needs the lock.
    bool differs_from(const look& now) const {
        return looked_ && (now.has_a != last_.has_a || now.has_b != last_.has_b ||
                           (now.has_a && !same_file_version(now.a, last_.a)) ||
                           (now.has_b && !same_file_version(now.b, last_.b)));
    }

    std::mutex mutex_;
    bool looked_ = false;
    look last_;
};

}  // namespace oauth2cc::detail
