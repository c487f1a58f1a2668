// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/redis_link.hpp: a redis_token_store's way to Redis on hiredis: a small pool of
// connections shared by threads, bounded connects and commands, and the outage state: a
// Redis that fails is skipped at once until a background probe finds it answering again.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../secret.hpp"
#include "../text/text.hpp"

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
