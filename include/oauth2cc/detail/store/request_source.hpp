// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/request_source.hpp: the token requests of one client, made again when its
// secret, its key or its discovered endpoint changes; shared by every entry of a
// token_manager, each of which may ask for other token parameters or another subject.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../../httplib_transport.hpp"
#include "../../token.hpp"
#include "../../transport.hpp"
#include "../oauth/dpop.hpp"
#include "../oauth/grant.hpp"
#include "../oauth/token_request.hpp"
#include "../oauth/token_send.hpp"
#include "../text/file_version.hpp"
#include "secret_file.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief cfg asking for p instead of its own parameters.
inline client_config with_params(client_config cfg, const token_params& p) {
    cfg.scopes = p.scopes;
    cfg.audience = p.audience;
    cfg.resources = p.resources;
    cfg.extra_params = p.extra_params;
    return cfg;
}

/// @brief What an entry of a token_manager asks for beyond its client's configuration:
/// other token parameters, and for a configuration that follows its subject, one subject.
struct request_tailoring {
    token_params params;                             ///< asked for instead of the config's
    std::shared_ptr<const current_subject> subject;  ///< null: the config's own
};

/// @brief cfg as tailoring asks.
inline client_config tailored(const client_config& cfg, const request_tailoring& tailoring) {
    client_config out = with_params(cfg, tailoring.params);
    return tailoring.subject ? for_subject(std::move(out), *tailoring.subject) : out;
}

/// @brief Checks that a request can be made of cfg, as request_source's constructor does.
/// @throws error `config` when it cannot (a scope outside RFC 6749 §3.3, say)
inline void check_request(const client_config& cfg) {
    if (discovers_endpoint(cfg)) {
        validate_before_discovery(cfg);
    } else {
        const prepared_token_request probe(cfg);
    }
}

/// @brief What request_source::get() hands out.
struct sourced_request {
    std::shared_ptr<const prepared_token_request> prepared;  ///< the request to send
    unsigned generation = 0;  ///< the credential rotations taken up when it was made
    unsigned taken = 0;       ///< the rotations that this call took up
};

/// @brief The token requests of one client. Its own request is built once, and again when
/// its secret file or key file has new contents; with an issuer and no token endpoint,
/// built by the first request that discovers the endpoint, and by the next after a
/// failure. A tailored request (another entry's parameters or subject) is built for each
/// fetch from the same credentials and endpoint: an entry keeps nothing between its
/// fetches. Counts the rotations of its credential files: a new secret, a new key, a
/// client certificate replaced (by its files' metadata: the transport reads them).
class request_source {
public:
    /// @throws error `config` when cfg is unusable, or its secret or key file cannot be
    ///         read
    explicit request_source(const client_config& cfg)
        : given_(std::make_shared<const client_config>(cfg)), key_file_(key_file_of(cfg)) {
        check_secret_file(cfg);
        client_config now = cfg;
        if (!cfg.client_secret_file.empty()) {
            file_ = secret_file_at(cfg.client_secret_file);
            auto [text, version] = file_->current();
            now.client_secret = *text;
            version_ = version;
        }
        if (key_file_) key_version_ = key_file_->current().second;
        if (!cfg.tls.client_cert_file.empty()) {
            cert_files_.changed(cfg.tls.client_cert_file, cfg.tls.client_key_file);
        }
        // A client with nothing read from files or the network sends its config as given.
        current_ = file_ ? std::make_shared<const client_config>(std::move(now)) : given_;
        if (discovers_endpoint(cfg)) {
            validate_before_discovery(*current_);
        } else {
            ready_ = std::make_shared<const prepared_token_request>(*current_, nonces_);
        }
    }

    /// @brief The configuration as given.
    const client_config& given() const noexcept { return *given_; }

    /// @brief Checks that a request tailored so can be made, as the constructor checks the
    /// client's own.
    /// @throws error `config` when it cannot (a scope outside RFC 6749 §3.3, say)
    void check(const request_tailoring& tailoring) {
        std::shared_ptr<const client_config> cfg;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            cfg = current_;
        }
        check_request(tailored(*cfg, tailoring));
    }

    /// @brief The request to send now: the client's own, or tailored when given.
    /// @param force read the secret and key files even when their metadata is unchanged
    /// @throws error `config` when the secret or key file cannot be read, or the tailored
    ///         request cannot be made; as discover() does
    sourced_request get(transport& via, const request_tailoring* tailoring = nullptr,
                        bool force = false) {
        sourced_request out;
        std::shared_ptr<const client_config> cfg;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            out.taken = take_up(force);
            if (!current_ready_) {
                // Discovered once: a new secret keeps the endpoint.
                if (discovers_endpoint(*current_)) {
                    current_ = std::make_shared<const client_config>(
                        with_discovered_endpoint(*current_, via, &note_));
                }
                current_ready_ = true;
            }
            if (!tailoring && !ready_) {
                ready_ = std::make_shared<const prepared_token_request>(*current_, nonces_);
            }
            out.generation = rotations_.load();
            if (!tailoring) {
                out.prepared = ready_;
                return out;
            }
            cfg = current_;
        }
        out.prepared =
            std::make_shared<const prepared_token_request>(tailored(*cfg, *tailoring), nonces_);
        return out;
    }

    /// @brief After `invalid_client` to a request of generation `seen`: the request to
    /// send again when a credential file has changed since (the secret and key files read
    /// now); a null request when none has.
    sourced_request renewed(unsigned seen, transport& via,
                            const request_tailoring* tailoring = nullptr) {
        if (!file_ && !key_file_ && given_->tls.client_cert_file.empty()) return {};
        sourced_request now = get(via, tailoring, true);
        if (now.generation == seen) now.prepared.reset();
        return now;
    }

    /// @brief The credential files' rotations taken up since the first read.
    unsigned rotations() const noexcept { return rotations_.load(); }

    /// @brief True when a credential file changed since it was last read: the secret's,
    /// the key's, the client certificate's, or an assertion_from_file() source's.
    bool credentials_changed() {
        const std::lock_guard<std::mutex> lock(mutex_);
        if ((file_ && file_->stale()) || (key_file_ && key_file_->stale())) return true;
        const client_config& cfg = *given_;
        if (!cfg.tls.client_cert_file.empty() &&
            cert_files_.differs(cfg.tls.client_cert_file, cfg.tls.client_key_file)) {
            return true;
        }
        for (const auto* source : {&cfg.client_assertion, &cfg.grant_assertion}) {
            const auto* file = source->target<file_credential>();
            if (file != nullptr && file->changed()) return true;
        }
        return false;
    }

    /// @brief What discovery found worth a log line, once; then empty.
    std::string take_note() {
        const std::lock_guard<std::mutex> lock(mutex_);
        return std::exchange(note_, std::string());
    }

private:
    /// Reads the credential files that changed (all of them when forced) into current_;
    /// returns how many rotations that took up. Called with the lock held.
    unsigned take_up(bool force) {
        unsigned taken = 0;
        client_config next;
        const auto change = [&]() -> client_config& {
            if (taken++ == 0) next = *current_;
            return next;
        };
        if (file_) {
            auto [text, version] = file_->current(force);
            if (version != version_) {
                change().client_secret = *text;
                version_ = version;
            }
        }
        if (key_file_) {
            const unsigned version = key_file_->current(force).second;
            if (version != key_version_) {
                change().client_key = key_file_->key(*given_->client_key);
                key_version_ = version;
            }
        }
        if (taken != 0) {
            current_ = std::make_shared<const client_config>(std::move(next));
            ready_.reset();
        }
        const client_config& cfg = *given_;
        if (!cfg.tls.client_cert_file.empty() &&
            cert_files_.changed(cfg.tls.client_cert_file, cfg.tls.client_key_file)) {
            ++taken;
        }
        rotations_ += taken;
        return taken;
    }

    std::mutex mutex_;
    const std::shared_ptr<const client_config> given_;
    /// given_ with the secret and key files' current contents and the discovered endpoint
    std::shared_ptr<const client_config> current_;
    bool current_ready_ = false;  ///< the endpoint of current_ is discovered, if it must be
    std::shared_ptr<secret_file> file_;
    unsigned version_ = 0;
    std::shared_ptr<secret_file> key_file_;
    unsigned key_version_ = 0;
    file_watch cert_files_;  ///< tls.client_cert_file and client_key_file
    std::shared_ptr<const prepared_token_request> ready_;  ///< the client's own request
    /// The token endpoint's DPoP nonces, for every request made here.
    const std::shared_ptr<dpop_nonces> nonces_ = std::make_shared<dpop_nonces>();
    std::atomic<unsigned> rotations_{0};
    std::string note_;  ///< discovery's note, until taken
};

/// @brief Sends source's request (tailored when given); an `invalid_client` answer is
/// retried once when a credential file has changed (the secret and key files read again
/// now), never twice for one change. The acquisition is a span, its attempts its children.
/// @param rotations counts the credential rotations these calls took up, when given
inline token send_with_renewal(request_source& source, transport& via,
                               std::atomic<unsigned>* nonce_retries = nullptr,
                               const request_tailoring* tailoring = nullptr,
                               std::atomic<unsigned>* rotations = nullptr) {
    const auto count = [rotations](const sourced_request& r) {
        if (rotations != nullptr) *rotations += r.taken;
    };
    const sourced_request sent = source.get(via, tailoring);
    count(sent);
    span_scope span(sent.prepared->trace, sent.prepared->span(span_kind::token_acquisition));
    unsigned attempt = 0;
    sourced_request again;
    try {
        return send_token_request(*sent.prepared, via, nonce_retries, span.get(), &attempt);
    } catch (const error& e) {
        if (e.kind() != error_kind::oauth || e.oauth_error() != "invalid_client") {
            span.failed(e);
            throw;
        }
        again = source.renewed(sent.generation, via, tailoring);
        count(again);
        if (!again.prepared) {
            span.failed(e);
            throw;
        }
    }
    try {
        return send_token_request(*again.prepared, via, nonce_retries, span.get(), &attempt);
    } catch (const error& e) {
        span.failed(e);
        throw;
    }
}

/// @brief The token requests of one entry of a token_manager: the manager's source, its
/// request tailored to the entry unless the entry is the config's own. What an entry holds
/// of its client is this: the configuration is the source's, shared by every entry.
class entry_client {
public:
    /// @param via the transport; null: an httplib_transport of the source's configuration
    /// @param tailoring what the entry asks for beyond the configuration; null: the
    ///        configuration's own token
    entry_client(std::shared_ptr<request_source> source, std::shared_ptr<transport> via,
                 std::unique_ptr<const request_tailoring> tailoring = nullptr)
        : source_(std::move(source)),
          via_(via ? std::move(via) : std::make_shared<httplib_transport>(source_->given())),
          tailoring_(std::move(tailoring)) {}

    /// @brief Requests a new token (see send_with_renewal()).
    token fetch() {
        return send_with_renewal(*source_, *via_, &nonce_retries_, tailoring_.get(), &rotations_);
    }
    /// @brief The configuration as given to the manager: the entry's parameters and
    /// subject are not in it.
    const client_config& config() const noexcept { return source_->given(); }
    /// @brief The transport, shared by every entry.
    const std::shared_ptr<transport>& via() const noexcept { return via_; }
    /// @brief The source, shared by every entry.
    const std::shared_ptr<request_source>& source() const noexcept { return source_; }
    /// @brief The DPoP nonce retries of this entry's requests.
    unsigned nonce_retries() const noexcept { return nonce_retries_.load(); }
    /// @brief The credential rotations that this entry's requests took up.
    unsigned credential_rotations() const noexcept { return rotations_.load(); }
    /// @brief What discovery found worth a log line, once; then empty.
    std::string take_notice() { return source_->take_note(); }
    /// @brief See request_source::credentials_changed().
    bool credentials_changed() const { return source_->credentials_changed(); }

private:
    std::shared_ptr<request_source> source_;
    std::shared_ptr<transport> via_;
    std::unique_ptr<const request_tailoring> tailoring_;
    std::atomic<unsigned> nonce_retries_{0};
    std::atomic<unsigned> rotations_{0};
};

}  // namespace oauth2cc::detail
