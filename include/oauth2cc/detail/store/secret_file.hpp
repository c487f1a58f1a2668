// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/secret_file.hpp: a client secret or key kept in a file, taken up again
// when the file is replaced.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../../secret.hpp"
#include "../../signing_key.hpp"
#include "../oauth/token_request.hpp"
#include "../text/file_version.hpp"
#include "../text/limits.hpp"
#include "../text/text.hpp"
#include "private_files.hpp"

#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <sys/stat.h>

namespace oauth2cc::detail {

/// @brief What a credential file holds: a client secret (one line) or a PEM key.
enum class file_holds { secret, key };

/// @brief client_config::client_secret_file, or the file of a client_config::client_key:
/// read when first asked for, again when the file's metadata changes, and again whenever
/// asked to (after an `invalid_client`).
class secret_file {
public:
    secret_file(std::string path, file_holds holds) : path_(std::move(path)), holds_(holds) {}

    /// @brief The contents and their version: 1 for the first contents read, one more for
    /// each change of contents (a file touched but not changed keeps its version).
    /// @param force read even when the metadata is unchanged
    /// @throws error `config` naming the file (never its contents) when it cannot be
    ///         read or holds no secret
    std::pair<std::shared_ptr<const secret>, unsigned> current(bool force = false) {
        struct stat now {};
        const bool known = ::stat(path_.c_str(), &now) == 0;
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!force && known && text_ && same_file_version(now, seen_)) return {text_, version_};
        // A FIFO or a shell's <(...) is read once: a second read would wait for a writer.
        if (text_ && once_) return {text_, version_};
        // A key file removed once read leaves the key as it was: a key is in hand (a
        // secret file is the secret's one place, and its loss an error).
        if (!known && text_ && holds_ == file_holds::key) return {text_, version_};
        const std::string name =
            holds_ == file_holds::secret ? "the client secret file" : "the key file";
        std::string text = read_credential_file(path_, max_credential_file_bytes, name);
        const wipe_at_exit wiper{[&text] { wipe(text); }};
        // A trailing newline (or CRLF) is the file's, not the secret's.
        std::size_t end = text.size();
        while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
        if (holds_ == file_holds::secret) text.resize(end);
        const std::string named = name + " \"" + excerpt(path_, 200) + "\"";
        if (end == 0) throw error(error_kind::config, named + " is empty");
        if (holds_ == file_holds::secret && has_control(text)) {
            throw error(error_kind::config, named + " holds control characters");
        }
        if (!text_ || text_->reveal() != text) {
            text_ = std::make_shared<const secret>(text);
            ++version_;
        }
        if (known) seen_ = now;
        once_ = known && !S_ISREG(now.st_mode);
        return {text_, version_};
    }

    /// @brief True when the file's metadata differs from when it was last read (never for
    /// a file read once, nor before the first read).
    bool stale() {
        struct stat now {};
        const bool known = ::stat(path_.c_str(), &now) == 0;
        const std::lock_guard<std::mutex> lock(mutex_);
        return text_ && !once_ && known && !same_file_version(now, seen_);
    }

    /// @brief The key the file holds now, with given's kid and alg; read as current()
    /// reads, made once per version.
    /// @throws error `config` naming the file as signing_key::from_pem_file() does
    signing_key key(const signing_key& given) {
        const unsigned version = current().second;
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!key_ || key_version_ != version || key_->kid() != given.kid() ||
            key_->alg() != given.alg()) {
            key_ = signing_key::from_pem_file(path_, given.kid(), given.alg());
            key_version_ = version;
        }
        return *key_;
    }

private:
    std::mutex mutex_;
    std::string path_;
    file_holds holds_;
    struct stat seen_ {};
    bool once_ = false;  ///< not a regular file: read once, never again
    std::shared_ptr<const secret> text_;
    unsigned version_ = 0;
    std::optional<signing_key> key_;  ///< made by key() from version key_version_
    unsigned key_version_ = 0;
};

/// @brief The one secret_file of path in this process, shared by every client that names
/// it, so that a file is read once per change whatever number of entries use it.
inline std::shared_ptr<secret_file> secret_file_at(const std::string& path,
                                                   file_holds holds = file_holds::secret) {
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<secret_file>> files;
    const std::lock_guard<std::mutex> lock(mutex);
    for (auto it = files.begin(); it != files.end();) {
        it = it->second.expired() ? files.erase(it) : std::next(it);
    }
    std::weak_ptr<secret_file>& known = files[(holds == file_holds::key ? "k" : "s") + path];
    if (auto file = known.lock()) return file;
    auto file = std::make_shared<secret_file>(path, holds);
    known = file;
    return file;
}

/// @brief The shared file of cfg's client key; null when the key was not read from a file,
/// or its file is gone (the key in hand signs).
inline std::shared_ptr<secret_file> key_file_of(const client_config& cfg) {
    if (!cfg.client_key || cfg.client_key->file().empty()) return nullptr;
    struct stat st {};
    if (::stat(cfg.client_key->file().c_str(), &st) != 0) return nullptr;
    return secret_file_at(cfg.client_key->file(), file_holds::key);
}

/// @brief Refuses a client_secret_file beside a client_secret, or for a method that sends
/// no secret.
/// @throws error `config`
inline void check_secret_file(const client_config& cfg) {
    if (cfg.client_secret_file.empty()) return;
    if (!cfg.client_secret.empty()) {
        throw error(error_kind::config,
                    "client_secret and client_secret_file are both set: set one");
    }
    if (!sends_secret(cfg.auth)) {
        throw error(error_kind::config, "client_secret_file is set, but the " +
                                            std::string(to_string(cfg.auth)) +
                                            " method sends no client secret");
    }
}

/// @brief The credential files cfg names that are read again when they change, for a log line.
inline std::string credential_files(const client_config& cfg) {
    std::string out;
    const auto add = [&out](const char* name) {
        out += (out.empty() ? "" : ", ") + std::string(name);
    };
    if (!cfg.client_secret_file.empty()) add("client_secret_file");
    if (cfg.client_key && !cfg.client_key->file().empty()) add("the client key file");
    if (!cfg.tls.client_cert_file.empty()) add("the client certificate files");
    return out;
}

/// @brief cfg with the current contents of its client_secret_file as client_secret, and
/// its key file's current key as client_key (cfg itself when it names no such file), for
/// the requests that are not token requests (introspection, revocation).
/// @throws error `config` as check_secret_file() and secret_file::current() do
inline client_config with_current_credentials(const client_config& cfg) {
    check_secret_file(cfg);
    client_config out = cfg;
    if (!cfg.client_secret_file.empty()) {
        out.client_secret = *secret_file_at(cfg.client_secret_file)->current().first;
    }
    if (const auto key_file = key_file_of(cfg)) out.client_key = key_file->key(*cfg.client_key);
    return out;
}

}  // namespace oauth2cc::detail
