// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// redis_token_store.hpp, beside the single header, of oauth2cc 0.2.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

#include "oauth2cc.hpp"

// ---- oauth2cc/redis_token_store.hpp ----

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
// ---- oauth2cc/impl/redis_token_store_inl.hpp ----

// ---- oauth2cc/detail/store/redis_link.hpp ----

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/time.h>

namespace oauth2cc::detail {

/// @brief Where Redis is and how to talk to it: the parts of redis_options a link needs.
struct redis_target {
    std::string host;
    int port = 6379;
    std::string unix_socket;
    std::string username;
    secret password;
    int db = 0;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{500};
    std::size_t pool_size = 4;
    std::string where;  ///< "redis at HOST:PORT/DB" or "redis at unix:PATH/DB", for messages
};

/// @brief Frees a hiredis context.
struct redis_context_free {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using redis_context = std::unique_ptr<redisContext, redis_context_free>;

/// @brief Frees a hiredis reply.
struct redis_reply_free {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using redis_reply = std::unique_ptr<redisReply, redis_reply_free>;

/// @brief A command that got no reply: the connection is dead (refused, reset, closed, or
/// timed out), unlike an error reply, after which it may be used again.
struct redis_io_failure {
    std::string why;
    bool closed = false;  ///< the server closed or reset it: a reused connection went stale
};

inline timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
    return tv;
}

/// @brief Runs one command on c. @returns the reply, never null
/// @throws redis_io_failure when no reply came
inline redis_reply redis_run(redisContext* c, const std::vector<std::string_view>& args,
                             const redis_target& to) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    redis_reply reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (reply) return reply;
    redis_io_failure failure;
    failure.closed = c->err == REDIS_ERR_EOF ||
                     (c->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
    const bool timed_out =
        c->err == REDIS_ERR_IO &&
        (errno == EAGAIN || errno == EWOULDBLOCK ||
         std::string_view(c->errstr).find("temporarily") != std::string_view::npos);
    failure.why = timed_out ? to.where + " did not answer within " +
                                  std::to_string(to.command_timeout.count()) + " ms"
                            : to.where + ": " + excerpt(c->errstr, 200);
    throw failure;
}

/// @brief The text of an error reply, printable and short, without the arguments of the
/// command: Redis quotes the first bytes of each argument of a command it does not know
/// ("with args beginning with: ..."), and they hold passwords and tokens. The quote is cut
/// off, and any argument of 8 bytes or more still found is cut out.
inline std::string redis_error_text(const redisReply& r,
                                    const std::vector<std::string_view>& args = {}) {
    std::string text(r.str, r.len);
    if (const auto quoted = text.find("with args"); quoted != std::string::npos) {
        text.resize(quoted);
        text += "with args (not shown)";
    }
    for (const auto& a : args) {
        if (a.size() < 8) continue;
        for (auto at = text.find(a); at != std::string::npos; at = text.find(a, at)) {
            text.replace(at, a.size(), "(...)");
        }
    }
    return excerpt(text, 200);
}

/// @brief A new connection, authenticated and on the right database.
/// @throws redis_io_failure when it cannot be made, or Redis refuses AUTH or SELECT
inline redis_context redis_connect(const redis_target& to) {
    const timeval connect_tv = to_timeval(to.connect_timeout);
    redis_context c(to.unix_socket.empty()
                        ? redisConnectWithTimeout(to.host.c_str(), to.port, connect_tv)
                        : redisConnectUnixWithTimeout(to.unix_socket.c_str(), connect_tv));
    if (!c) throw redis_io_failure{to.where + ": out of memory", false};
    if (c->err != 0) {
        throw redis_io_failure{to.where + ": cannot connect: " + excerpt(c->errstr, 200), false};
    }
    if (redisSetTimeout(c.get(), to_timeval(to.command_timeout)) != REDIS_OK) {
        throw redis_io_failure{to.where + ": cannot set the command timeout", false};
    }
    if (to.unix_socket.empty()) redisEnableKeepAlive(c.get());
    const auto refused = [&to](const char* what, const redisReply& r,
                               const std::vector<std::string_view>& args = {}) {
        return redis_io_failure{to.where + " refused " + what + ": " + redis_error_text(r, args),
                                false};
    };
    if (!to.password.empty()) {
        std::vector<std::string_view> auth = {"AUTH", to.password.reveal()};
        if (!to.username.empty()) auth.insert(auth.begin() + 1, to.username);
        const redis_reply r = redis_run(c.get(), auth, to);
        if (r->type == REDIS_REPLY_ERROR) throw refused("AUTH", *r, auth);
    }
    if (to.db != 0) {
        const std::string db = std::to_string(to.db);
        const redis_reply r = redis_run(c.get(), {"SELECT", db}, to);
        if (r->type == REDIS_REPLY_ERROR) throw refused("SELECT", *r);
    }
    return c;
}

/// @brief Counters of a link, for redis_token_store::stats().
struct redis_counters {
    std::atomic<std::uint64_t> commands{0}, failures{0}, skipped{0}, outages{0}, connects{0};
};

/// @brief The connections to one Redis, and whether it is up. Shared by a store and the
/// locks it handed out, which may outlive it.
class redis_link {
public:
    explicit redis_link(redis_target to) : to_(std::move(to)) {}
    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;
    ~redis_link() {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (prober_.joinable()) prober_.join();
    }

    const redis_target& target() const noexcept { return to_; }
    const redis_counters& counters() const noexcept { return counters_; }
    bool available() const noexcept { return !down_.load(); }

    /// @brief Runs f(redisContext*) on a pooled connection. A dead connection is dropped;
    /// one that went stale in the pool is replaced once; any other failure marks Redis down.
    /// @throws error `transport` while Redis is down, or when it fails now
    template <class F>
    auto with_connection(F&& f) -> decltype(f(std::declval<redisContext*>())) {
        for (int attempt = 0;; ++attempt) {
            if (down_.load()) {
                ++counters_.skipped;
                throw error(error_kind::transport, outage_text());
            }
            bool reused = false;
            redis_context c;
            try {
                c = acquire(reused);
                auto result = f(c.get());
                ++counters_.commands;
                release(std::move(c));
                return result;
            } catch (const error&) {
                release(std::move(c));  // an error reply: the connection still serves
                throw;
            } catch (const redis_io_failure& failure) {
                c.reset();
                if (reused && failure.closed && attempt == 0) {
                    drop_idle();  // Redis restarted: every pooled connection is stale
                    continue;
                }
                ++counters_.failures;
                mark_down(failure.why);
                throw error(error_kind::transport, failure.why);
            }
        }
    }

    /// @brief Runs a command; an error reply is an error of kind `transport`.
    redis_reply command(redisContext* c, const std::vector<std::string_view>& args) {
        redis_reply r = redis_run(c, args, to_);
        if (r->type == REDIS_REPLY_ERROR) {
            ++counters_.failures;
            throw error(error_kind::transport, to_.where + " answered " +
                                                   std::string(args.front()) +
                                                   " with an error: " + redis_error_text(*r, args));
        }
        return r;
    }

private:
    redis_context acquire(bool& reused) {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            if (!idle_.empty()) {
                redis_context c = std::move(idle_.back());
                idle_.pop_back();
                reused = true;
                return c;
            }
        }
        reused = false;
        redis_context c = redis_connect(to_);
        ++counters_.connects;
        return c;
    }

    void release(redis_context c) {
        if (!c || c->err != 0) return;
        const std::lock_guard<std::mutex> lock(mutex_);
        if (idle_.size() < to_.pool_size) idle_.push_back(std::move(c));
    }

    void drop_idle() {
        std::vector<redis_context> stale;
        const std::lock_guard<std::mutex> lock(mutex_);
        stale.swap(idle_);
    }

    std::string outage_text() {
        const std::lock_guard<std::mutex> lock(mutex_);
        return to_.where + " is unavailable (" + reason_ + "); retrying in the background";
    }

    // Down until the probe gets an answer. Callers meanwhile fail at once: a Redis that
    // hangs costs a caller its command timeout once per outage, not once per call.
    void mark_down(const std::string& why) {
        std::thread finished;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            reason_ = why;
            if (down_.load() || stopping_) return;
            down_.store(true);
            ++counters_.outages;
            idle_.clear();
            if (probing_) return;
            probing_ = true;
            finished = std::move(prober_);
            try {
                prober_ = std::thread([this] { probe(); });
            } catch (...) {
                // No thread: the next caller tries Redis itself.
                probing_ = false;
                down_.store(false);
            }
        }
        if (finished.joinable()) finished.join();
    }

    void probe() {
        auto pause = std::chrono::milliseconds(50);
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            if (wake_.wait_for(lock, pause, [this] { return stopping_; })) break;
            lock.unlock();
            redis_context c;
            try {
                c = redis_connect(to_);
                ++counters_.connects;
                const redis_reply r = redis_run(c.get(), {"PING"}, to_);
                if (r->type == REDIS_REPLY_ERROR) c.reset();
            } catch (const redis_io_failure&) {
                c.reset();
            }
            lock.lock();
            if (c) {
                idle_.push_back(std::move(c));
                down_.store(false);
                break;
            }
            pause = std::min(pause * 2, std::chrono::milliseconds(2000));
        }
        probing_ = false;
    }

    redis_target to_;
    redis_counters counters_;
    std::atomic<bool> down_{false};
    std::mutex mutex_;  // guards everything below
    std::condition_variable wake_;
    std::vector<redis_context> idle_;
    std::string reason_;
    bool probing_ = false;
    bool stopping_ = false;
    std::thread prober_;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/store/redis_store.hpp ----

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

#include <algorithm>
#include <thread>
#include <vector>

namespace oauth2cc {

OAUTH2CC_INLINE redis_token_store::redis_token_store(redis_options options)
    : prefix_(options.key_prefix),
      lease_(options.lock_lease),
      sealer_(detail::sealer_for(options.sealing_key)),
      link_(std::make_shared<detail::redis_link>(detail::redis_target_of(options))) {}

OAUTH2CC_INLINE const std::string& redis_token_store::where() const noexcept {
    return link_->target().where;
}

OAUTH2CC_INLINE redis_store_stats redis_token_store::stats() const noexcept {
    const detail::redis_counters& c = link_->counters();
    redis_store_stats out;
    out.commands = c.commands.load();
    out.failures = c.failures.load();
    out.skipped = c.skipped.load();
    out.outages = c.outages.load();
    out.connects = c.connects.load();
    out.available = link_->available();
    return out;
}

OAUTH2CC_INLINE std::string redis_token_store::token_key(const std::string& key) const {
    detail::check_store_key(key);
    return prefix_ + "token:" + key;
}

OAUTH2CC_INLINE std::optional<std::string> redis_token_store::get_raw(
    const std::string& redis_key) {
    // The length is checked in Redis, so that a hostile value of any size never crosses
    // the wire: what is not a string of at most max_redis_value_bytes reads as absent.
    static constexpr std::string_view bounded_get =
        "if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' or "
        "redis.call('STRLEN', KEYS[1]) > tonumber(ARGV[1]) then return false end "
        "return redis.call('GET', KEYS[1])";
    static const std::string cap = std::to_string(detail::max_redis_value_bytes);
    return link_->with_connection([&](redisContext* c) -> std::optional<std::string> {
        const detail::redis_reply r = link_->command(c, {"EVAL", bounded_get, "1", redis_key, cap});
        if (r->type != REDIS_REPLY_STRING) return std::nullopt;
        std::optional<std::string> value(std::in_place, r->str, r->len);
        OPENSSL_cleanse(r->str, r->len);
        return value;
    });
}

OAUTH2CC_INLINE std::optional<stored_token> redis_token_store::load(const std::string& key) {
    const std::string name = token_key(key);
    std::optional<std::string> raw = get_raw(name);
    std::optional<stored_token> out;
    if (!raw || raw->size() > detail::max_redis_value_bytes) {
        // Absent, or not ours (Redis sends nothing longer).
    } else if (!sealer_) {
        out = detail::parse_token_file(*raw);
    } else if (auto plain = sealer_->open(*raw, key)) {
        out = detail::parse_token_file(*plain);
        detail::wipe(*plain);
    }
    if (raw) detail::wipe(*raw);
    return out;
}

OAUTH2CC_INLINE void redis_token_store::save(const std::string& key, const stored_token& entry) {
    const std::string name = token_key(key);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        entry.expires_at - std::chrono::system_clock::now());
    if (left.count() <= 0) {
        remove(key);
        return;
    }
    std::string value = detail::token_file_text(entry);
    const detail::wipe_at_exit wipe_value{[&value] { detail::wipe(value); }};
    if (sealer_) {
        std::string sealed = sealer_->seal(value, key);
        detail::wipe(value);
        value = std::move(sealed);
    }
    const std::string ttl = std::to_string(left.count());
    link_->with_connection([&](redisContext* c) {
        return link_->command(c, {"SET", name, value, "PX", ttl}) != nullptr;
    });
}

OAUTH2CC_INLINE void redis_token_store::remove(const std::string& key) {
    const std::string name = token_key(key);
    link_->with_connection([&](redisContext* c) {
        return link_->command(c, {"DEL", name}) != nullptr;
    });
}

OAUTH2CC_INLINE std::unique_ptr<token_store_lock> redis_token_store::lock(const std::string& key) {
    const std::string token = token_key(key);
    const std::string name = prefix_ + "lock:" + key;
    const std::string owner = detail::base64url(detail::random_bytes(18));
    const std::string lease = std::to_string(lease_.count());
    // A token saved while this client waits is the holder's: compared by digest, so that
    // no copy of the token is kept.
    const auto digest_now = [&]() -> std::string {
        std::optional<std::string> raw = get_raw(token);
        if (!raw) return {};
        std::string digest = detail::sha256_hex(*raw);
        detail::wipe(*raw);
        return digest;
    };
    const std::string before = digest_now();
    const auto give_up = std::chrono::steady_clock::now() + lease_;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        const bool taken = link_->with_connection([&](redisContext* c) {
            const detail::redis_reply r =
                link_->command(c, {"SET", name, owner, "NX", "PX", lease});
            return r->type == REDIS_REPLY_STATUS;  // OK; a nil reply: held by another
        });
        if (taken) return std::make_unique<detail::redis_store_lock>(link_, name, owner);
        const std::string now_digest = digest_now();
        if (!now_digest.empty() && now_digest != before) return nullptr;
        const auto now = std::chrono::steady_clock::now();
        if (now >= give_up) return nullptr;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(pause, give_up - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
}

OAUTH2CC_INLINE redis_options redis_options_from_url(std::string_view url) {
    const auto bad = [](const std::string& why) {
        return error(error_kind::config, "a Redis URL " + why +
                                             " (want redis://[[user]:password@]host[:port][/db] "
                                             "or unix:///path[?db=N])");
    };
    const auto number = [&bad](std::string_view text, long max, const char* what) {
        if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != text.npos) {
            throw bad(std::string("has a bad ") + what);
        }
        const long n = std::stol(std::string(text));
        if (n > max) throw bad(std::string("has a bad ") + what);
        return static_cast<int>(n);
    };
    redis_options o;
    if (detail::has_control(url)) throw bad("must not hold control characters");
    if (url.rfind("rediss://", 0) == 0) {
        throw error(error_kind::config,
                    "Redis over TLS (rediss://) is not supported by hiredis 0.14: use a unix "
                    "socket, loopback, or a local TLS tunnel");
    }
    if (url.rfind("unix://", 0) == 0) {
        std::string_view rest = url.substr(7);
        if (const auto q = rest.find('?'); q != rest.npos) {
            const std::string_view query = rest.substr(q + 1);
            if (query.rfind("db=", 0) != 0) throw bad("has an unknown query");
            o.db = number(query.substr(3), 1'000'000, "database number");
            rest = rest.substr(0, q);
        }
        if (rest.empty() || rest.front() != '/') throw bad("needs an absolute socket path");
        o.unix_socket = detail::percent_decode(rest);
        return o;
    }
    if (url.rfind("redis://", 0) != 0) throw bad("must start with redis:// or unix://");
    std::string_view rest = url.substr(8);
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != rest.npos && slash + 1 < rest.size()) {
        o.db = number(rest.substr(slash + 1), 1'000'000, "database number");
    }
    if (const auto at = authority.rfind('@'); at != authority.npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        o.username = detail::percent_decode(userinfo.substr(0, colon));
        if (colon != userinfo.npos) {
            o.password = secret{detail::percent_decode(userinfo.substr(colon + 1))};
        } else {
            // redis://password@host, as redis-cli reads it.
            o.password = secret{std::move(o.username)};
            o.username.clear();
        }
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == authority.npos) throw bad("has an unclosed IPv6 bracket");
        o.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') throw bad("has text after the IPv6 host");
        if (!after.empty()) port = after.substr(1);
    } else {
        const auto colon = authority.rfind(':');
        o.host = std::string(authority.substr(0, colon));
        if (colon != authority.npos) port = authority.substr(colon + 1);
    }
    if (o.host.empty()) throw bad("needs a host");
    if (!port.empty()) o.port = number(port, 65535, "port");
    return o;
}

}  // namespace oauth2cc
#endif  // OAUTH2CC_WITH_BODIES
