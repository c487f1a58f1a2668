// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/redis_store.hpp: the Redis store's pieces: the lock a client holds while it
// requests for the fleet, where a store is (for messages), and its options checked.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../redis_token_store.hpp"
#include "../crypto/jose.hpp"
#include "../text/text.hpp"
#include "redis_link.hpp"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief A stored token is a few kilobytes; a value far larger is not one of ours.
inline constexpr std::size_t max_redis_value_bytes = 1024 * 1024;

/// @brief Releases the fleet's lock if this owner still holds it (its lease may have
/// passed and another holder taken it), in one atomic script.
class redis_store_lock final : public token_store_lock {
public:
    redis_store_lock(std::shared_ptr<redis_link> link, std::string key, std::string owner)
        : link_(std::move(link)), key_(std::move(key)), owner_(std::move(owner)) {}
    ~redis_store_lock() override {
        static constexpr std::string_view release =
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end";
        try {
            link_->with_connection([&](redisContext* c) {
                return link_->command(c, {"EVAL", release, "1", key_, owner_}) != nullptr;
            });
        } catch (...) {
            // Redis away: the lease ends the lock.
        }
    }
    redis_store_lock(const redis_store_lock&) = delete;
    redis_store_lock& operator=(const redis_store_lock&) = delete;

private:
    std::shared_ptr<redis_link> link_;
    std::string key_;
    std::string owner_;
};

inline std::string redis_where(const redis_options& o) {
    const std::string db = "/" + std::to_string(o.db);
    if (!o.unix_socket.empty()) return "redis at unix:" + o.unix_socket + db;
    const bool v6 = o.host.find(':') != std::string::npos;
    return "redis at " + (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port) + db;
}

inline redis_target redis_target_of(redis_options& o) {
    const auto bad = [](const std::string& what) {
        return error(error_kind::config, "redis_options: " + what);
    };
    if (o.unix_socket.empty() && o.host.empty()) throw bad("host or unix_socket is needed");
    if (o.unix_socket.empty() && (o.port < 1 || o.port > 65535)) throw bad("port out of range");
    if (o.db < 0) throw bad("db must not be negative");
    if (o.connect_timeout.count() <= 0 || o.command_timeout.count() <= 0) {
        throw bad("connect_timeout and command_timeout must be positive");
    }
    if (o.lock_lease.count() <= 0) throw bad("lock_lease must be positive");
    if (o.key_prefix.size() > 256 || has_control(o.key_prefix)) {
        throw bad("key_prefix must be at most 256 bytes, without control characters");
    }
    if (has_control(o.host) || has_control(o.unix_socket) || has_control(o.username)) {
        throw bad("host, unix_socket and username must not hold control characters");
    }
    redis_target t;
    t.host = o.host;
    t.port = o.port;
    t.unix_socket = o.unix_socket;
    t.username = o.username;
    t.password = std::move(o.password);
    t.db = o.db;
    t.connect_timeout = o.connect_timeout;
    t.command_timeout = o.command_timeout;
    t.pool_size = std::max<std::size_t>(o.pool_size, 1);
    t.where = redis_where(o);
    return t;
}

}  // namespace oauth2cc::detail
