// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/secret_file.hpp: a client secret kept in a file, taken up again when the
// file is replaced; and the prepared token request of a client, made again when its
// secret or its discovered endpoint changes.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../../secret.hpp"
#include "../../transport.hpp"
#include "../oauth/token_request.hpp"
#include "../oauth/token_send.hpp"
#include "../text/limits.hpp"
#include "../text/text.hpp"
#include "private_files.hpp"

#include <atomic>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <sys/stat.h>

namespace oauth2cc::detail {

/// @brief client_config::client_secret_file: read when first asked for, again when the
/// file's metadata changes, and again whenever asked to (after an `invalid_client`).
class secret_file {
public:
    explicit secret_file(std::string path) : path_(std::move(path)) {}

    /// @brief The secret and its version: 1 for the first contents read, one more for
    /// each change of contents (a file touched but not changed keeps its version).
    /// @param force read even when the metadata is unchanged
    /// @throws error `config` naming the file (never its contents) when it cannot be
    ///         read or holds no secret
    std::pair<std::shared_ptr<const secret>, unsigned> current(bool force = false) {
        struct stat now {};
        const bool known = ::stat(path_.c_str(), &now) == 0;
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!force && known && text_ && same_file_version(now, seen_)) return {text_, version_};
        std::string text =
            read_credential_file(path_, max_credential_file_bytes, "the client secret file");
        const wipe_at_exit wiper{[&text] { wipe(text); }};
        // A trailing newline (or CRLF) is the file's, not the secret's.
        std::size_t end = text.size();
        while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
        text.resize(end);
        if (text.empty()) {
            throw error(error_kind::config,
                        "the client secret file \"" + excerpt(path_, 200) + "\" is empty");
        }
        if (has_control(text)) {
            throw error(error_kind::config, "the client secret file \"" + excerpt(path_, 200) +
                                                "\" holds control characters");
        }
        if (!text_ || text_->reveal() != text) {
            text_ = std::make_shared<const secret>(text);
            ++version_;
        }
        if (known) seen_ = now;
        return {text_, version_};
    }

private:
    std::mutex mutex_;
    std::string path_;
    struct stat seen_ {};
    std::shared_ptr<const secret> text_;
    unsigned version_ = 0;
};

/// @brief The one secret_file of path in this process, shared by every client that names
/// it, so that a file is read once per change whatever number of entries use it.
inline std::shared_ptr<secret_file> secret_file_at(const std::string& path) {
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<secret_file>> files;
    const std::lock_guard<std::mutex> lock(mutex);
    for (auto it = files.begin(); it != files.end();) {
        it = it->second.expired() ? files.erase(it) : std::next(it);
    }
    std::weak_ptr<secret_file>& known = files[path];
    if (auto file = known.lock()) return file;
    auto file = std::make_shared<secret_file>(path);
    known = file;
    return file;
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

/// @brief cfg with the current contents of its client_secret_file as client_secret (cfg
/// itself when it names no file), for the requests that are not token requests
/// (introspection, revocation).
/// @throws error `config` as check_secret_file() and secret_file::current() do
inline client_config with_current_secret(const client_config& cfg) {
    check_secret_file(cfg);
    client_config out = cfg;
    if (!cfg.client_secret_file.empty()) {
        out.client_secret = *secret_file_at(cfg.client_secret_file)->current().first;
    }
    return out;
}

/// @brief The prepared token request of one client: built once, and again when its
/// secret file has new contents; with an issuer and no token endpoint, built by the
/// first request that discovers the endpoint, and by the next after a failure.
class request_source {
public:
    /// @throws error `config` when cfg is unusable, or its secret file cannot be read
    explicit request_source(const client_config& cfg) : cfg_(cfg) {
        check_secret_file(cfg);
        if (!cfg.client_secret_file.empty()) {
            file_ = secret_file_at(cfg.client_secret_file);
            auto [text, version] = file_->current();
            cfg_.client_secret = *text;
            version_ = version;
        }
        if (discovers_endpoint(cfg_)) {
            validate_before_discovery(cfg_);
        } else {
            ready_ = std::make_shared<const prepared_token_request>(cfg_);
        }
    }

    /// @brief The request to send now.
    /// @throws error `config` when the secret file cannot be read; as discover() does
    std::shared_ptr<const prepared_token_request> get(transport& via, bool force = false) {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (file_) {
            auto [text, version] = file_->current(force);
            if (version != version_) {
                cfg_.client_secret = *text;
                ready_.reset();
                version_ = version;
                ++rotations_;
            }
        }
        if (!ready_) {
            // Discovered once: a new secret keeps the endpoint.
            if (discovers_endpoint(cfg_)) cfg_ = with_discovered_endpoint(cfg_, via);
            ready_ = std::make_shared<const prepared_token_request>(cfg_);
        }
        return ready_;
    }

    /// @brief After `invalid_client` to failed: the request with the secret file's new
    /// contents, read now; null when the secret is the one failed was sent with.
    std::shared_ptr<const prepared_token_request> renewed(const prepared_token_request& failed,
                                                          transport& via) {
        if (!file_) return nullptr;
        auto now = get(via, true);
        return now.get() != &failed ? now : nullptr;
    }

    /// @brief The new secrets taken up from the file since the first.
    unsigned rotations() const noexcept { return rotations_.load(); }

private:
    std::mutex mutex_;
    client_config cfg_;  ///< with the secret file's current contents
    std::shared_ptr<secret_file> file_;
    unsigned version_ = 0;
    std::shared_ptr<const prepared_token_request> ready_;
    std::atomic<unsigned> rotations_{0};
};

/// @brief Sends source's request; an `invalid_client` answer is retried once when the
/// secret file has new contents (read again now), never twice for one change.
/// The acquisition is a span, its attempts its children.
inline token send_with_renewal(request_source& source, transport& via,
                               std::atomic<unsigned>* nonce_retries = nullptr) {
    const auto sent = source.get(via);
    span_scope span(sent->trace, sent->span(span_kind::token_acquisition));
    unsigned attempt = 0;
    std::shared_ptr<const prepared_token_request> again;
    try {
        return send_token_request(*sent, via, nonce_retries, span.get(), &attempt);
    } catch (const error& e) {
        if (e.kind() != error_kind::oauth || e.oauth_error() != "invalid_client") {
            span.failed(e);
            throw;
        }
        again = source.renewed(*sent, via);
        if (!again) {
            span.failed(e);
            throw;
        }
    }
    try {
        return send_token_request(*again, via, nonce_retries, span.get(), &attempt);
    } catch (const error& e) {
        span.failed(e);
        throw;
    }
}

}  // namespace oauth2cc::detail
