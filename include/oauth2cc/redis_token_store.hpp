// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// redis_token_store.hpp: one token for a fleet: tokens kept in Redis, shared by every
// process of every host that uses it, with one token request for all of them. An add-on,
// not in oauth2cc.hpp. Header-only, its bodies need hiredis (link hiredis); in compiled
// mode a unit sees declarations only, no hiredis.h, and links oauth2cc::redis (Meson's
// oauth2cc_redis_dep), which holds the bodies.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "error.hpp"
#include "secret.hpp"
#include "token_store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc {

namespace detail {
class redis_link;
class sealer;
}  // namespace detail

/// @brief Where Redis is, how to log in, and how a redis_token_store uses it.
struct redis_options {
    std::string host = "127.0.0.1";  ///< Host name or address (TCP), when unix_socket is empty.
    int port = 6379;                 ///< TCP port.
    std::string unix_socket;         ///< A unix socket path; when set, host and port are unused.
    std::string username;            ///< ACL user for AUTH (Redis 6); empty: AUTH password only.
    secret password;                 ///< AUTH password; empty: no AUTH.
    int db = 0;                      ///< Database number, SELECTed on each connection.
    std::string key_prefix = "oauth2cc:";            ///< Before every key this store writes.
    std::chrono::milliseconds connect_timeout{500};  ///< Bounds each connect.
    std::chrono::milliseconds command_timeout{500};  ///< Bounds each command's reply.
    /// When set (16 bytes or more; 32 random bytes are best), Redis holds tokens sealed:
    /// AES-256-GCM under a key derived from this one by HKDF-SHA256, the store key as
    /// associated data. An entry that does not open under it is ignored.
    /// A key given empty (secret::has_value() with no bytes: an empty key file, say) is a
    /// `config` error, never "no sealing".
    secret sealing_key;
    /// How long the lock lasts if its holder never releases it (it died), and the longest
    /// another client waits for the holder's token before requesting its own. Keep it
    /// below a token request's deadline (connect_timeout + read_timeout of the client).
    std::chrono::milliseconds lock_lease{10000};
    /// Idle connections kept for reuse; more are opened when more threads need them.
    std::size_t pool_size = 4;
};

/// @brief The options of a Redis URL: `redis://[[user]:password@]host[:port][/db]`
/// (IPv6 hosts in brackets; user and password percent-decoded) or
/// `unix:///path/to/socket[?db=N]`. Timeouts, prefix and sealing key keep their defaults.
/// @throws error `config` when url is neither, or asks for TLS (`rediss://`)
redis_options redis_options_from_url(std::string_view url);

/// @brief Counters of a redis_token_store since it was made, for a metrics system.
struct redis_store_stats {
    std::uint64_t commands = 0;  ///< Operations Redis answered.
    std::uint64_t failures = 0;  ///< Operations that failed: no reply in time, refused,
                                 ///< reset, or an error reply.
    std::uint64_t skipped = 0;   ///< Operations failed at once, without a round trip,
                                 ///< while Redis was down.
    std::uint64_t outages = 0;   ///< Times Redis was found down.
    std::uint64_t connects = 0;  ///< Connections opened, the background probe's included.
    bool available = true;       ///< False from a failure until Redis answers again.
};

/// @brief A token_store in Redis, for many processes on many hosts (hiredis, its 0.14 API).
///
/// - Keys are `PREFIX token:KEY` (the token, JSON or sealed, with a TTL of its remaining
///   life) and `PREFIX lock:KEY`. The client secret is never written.
/// - lock() is `SET NX PX lock_lease` with a random owner value, released by its owner
///   alone (a compare-and-delete script). A client that finds it held polls for the
///   holder's token or the lock, for lock_lease at most, then goes on.
/// - Redis down, slow or answering errors: the operation throws error `transport` (a
///   token_manager then requests for itself and fails no caller), and Redis counts as down:
///   further operations fail at once, without a round trip, while a background thread
///   probes it; the first answer ends the outage. A Redis that hangs thus costs callers
///   one command timeout per outage.
/// - hiredis 0.14 has no TLS: reach Redis over loopback or a unix socket (or a local TLS
///   tunnel), and set a sealing key where others can read what Redis holds.
class redis_token_store final : public token_store {
public:
    /// @brief Checks the options; connects only when first used, so that a fleet starts
    /// while Redis is away.
    /// @throws error `config` when an option is out of range or the sealing key is short
    explicit redis_token_store(redis_options options);
    redis_token_store(const redis_token_store&) = delete;
    redis_token_store& operator=(const redis_token_store&) = delete;
    ~redis_token_store() override = default;

    /// @brief Where the store is: "redis at HOST:PORT/DB" or "redis at unix:PATH/DB".
    const std::string& where() const noexcept;
    /// @brief Its counters.
    redis_store_stats stats() const noexcept;

    /// @brief GET of the token key; empty when absent, unreadable or not opening.
    /// @throws error `transport` when Redis cannot be used
    std::optional<stored_token> load(const std::string& key) override;
    /// @brief SET of the token key with a TTL of the token's remaining life (DEL when none).
    /// @throws error `transport` when Redis cannot be used
    void save(const std::string& key, const stored_token& entry) override;
    /// @brief DEL of the token key.
    /// @throws error `transport` when Redis cannot be used
    void remove(const std::string& key) override;
    /// @brief The fleet's lock on key, or null when another client's token arrived or the
    /// wait passed lock_lease.
    /// @throws error `transport` when Redis cannot be used
    std::unique_ptr<token_store_lock> lock(const std::string& key) override;

private:
    std::string token_key(const std::string& key) const;
    std::optional<std::string> get_raw(const std::string& redis_key);

    std::string prefix_;
    std::chrono::milliseconds lease_;
    std::shared_ptr<const detail::sealer> sealer_;
    std::shared_ptr<detail::redis_link> link_;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/redis_token_store_inl.hpp"
#endif
