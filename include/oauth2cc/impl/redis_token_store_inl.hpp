// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/redis_token_store_inl.hpp: the bodies of redis_token_store and redis_options_from_url:
// inline header-only, and in compiled mode compiled once into oauth2cc::redis
// (src/redis_token_store.cpp).
// SPDX-License-Identifier: MIT
#pragma once

#include "../redis_token_store.hpp"

#include "../detail/crypto/jose.hpp"
#include "../detail/crypto/sha256.hpp"
#include "../detail/http/proxy.hpp"
#include "../detail/crypto/seal.hpp"
#include "../detail/store/redis_link.hpp"
#include "../detail/store/redis_store.hpp"
#include "../detail/store/token_file.hpp"
#include "../detail/text/wipe.hpp"

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
