// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// redis_token_store.hpp, beside the single header, of oauth2cc 0.1.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

#include "oauth2cc.hpp"

// ---- oauth2cc/redis_token_store.hpp ----

// ---- oauth2cc/detail/store/redis_link.hpp ----

#if !OAUTH2CC_WITH_BODIES
// ---- oauth2cc/detail/text/text.hpp ----

#include <cstddef>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// @brief ASCII case-insensitive equality, as HTTP header names and auth schemes want.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

/// @brief True for C0 controls and DEL, which never belong in a header value or a token.
constexpr bool is_control(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

constexpr bool has_control(std::string_view s) noexcept {
    for (char c : s) {
        if (is_control(c)) return true;
    }
    return false;
}

/// @brief ASCII white space: space, tab, CR, LF, vertical tab, form feed.
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// @brief A short, printable excerpt of text from a server, for an error message:
/// at most max_bytes, controls and non-ASCII bytes shown as '?', cut marked with "...".
inline std::string excerpt(std::string_view text, std::size_t max_bytes = 200) {
    std::string out;
    const std::size_t n = text.size() < max_bytes ? text.size() : max_bytes;
    out.reserve(n + 3);
    for (std::size_t i = 0; i < n; ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        out.push_back((u < 0x20 || u >= 0x7f) ? '?' : text[i]);
    }
    if (n < text.size()) out += "...";
    return out;
}

}  // namespace oauth2cc::detail
#endif  // !OAUTH2CC_WITH_BODIES: oauth2cc/detail/text/text.hpp

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
#if !OAUTH2CC_WITH_BODIES
// ---- oauth2cc/detail/crypto/seal.hpp ----

// ---- oauth2cc/detail/crypto/jose.hpp ----

// ---- oauth2cc/detail/text/form.hpp ----

// ---- oauth2cc/detail/text/wipe.hpp ----

#include <openssl/crypto.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief Zeroes every byte a string owns, its spare capacity included, then empties it.
inline void wipe(std::string& s) noexcept {
    // resize() up to capacity() never reallocates, and makes the whole buffer (the
    // small-string buffer too) addressable, so the cleanse reaches every byte.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

/// @brief Makes room for `need` bytes in s. When s must grow, its bytes move to a new
/// buffer and the old one is wiped before it is freed.
inline void reserve_wiping(std::string& s, std::size_t need) {
    if (s.capacity() >= need) return;
    std::string bigger;
    bigger.reserve(std::max(need, 2 * s.capacity()));
    bigger.append(s);
    wipe(s);
    s.swap(bigger);
}

/// @brief Runs a wipe when the scope ends, however it ends: `const wipe_at_exit w{[&] {
/// wipe(body); }};`. One guard for every credential a function holds for a while.
template <class Wipe>
class wipe_at_exit {
public:
    explicit wipe_at_exit(Wipe wipe_now) noexcept : wipe_(std::move(wipe_now)) {}
    wipe_at_exit(const wipe_at_exit&) = delete;
    wipe_at_exit& operator=(const wipe_at_exit&) = delete;
    ~wipe_at_exit() { wipe_(); }

private:
    Wipe wipe_;
};

/// @brief Appends bytes to s as reserve_wiping() grows it.
inline void append_wiping(std::string& s, const char* data, std::size_t size) {
    reserve_wiping(s, s.size() + size);
    s.append(data, size);
}

}  // namespace oauth2cc::detail

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The value of one hex digit, or -1.
inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// @brief Appends "%XX", upper-case hex, for one byte.
inline void append_percent_escape(std::string& out, unsigned char byte) {
    static constexpr char hex[] = "0123456789ABCDEF";
    out.push_back('%');
    out.push_back(hex[byte >> 4]);
    out.push_back(hex[byte & 0x0f]);
}

/// @brief Appends the percent-encoding of in to out: A-Z a-z 0-9 - . _ ~ stay, every
/// other byte becomes %XX with upper-case hex, and a space becomes `space` ("+" or "%20").
inline void percent_encode_append(std::string& out, std::string_view in, std::string_view space) {
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
            u == '-' || u == '.' || u == '_' || u == '~') {
            out.push_back(c);
        } else if (u == ' ') {
            out += space;
        } else {
            append_percent_escape(out, u);
        }
    }
}

/// @brief The most bytes percent_encode_append adds for n bytes (with a space of at most
/// three characters).
constexpr std::size_t percent_encoded_bound(std::size_t n) noexcept { return 3 * n; }

/// @brief Percent-encodes bytes, as percent_encode_append does.
inline std::string percent_encode(std::string_view in, std::string_view space) {
    std::string out;
    out.reserve(percent_encoded_bound(in.size()));
    percent_encode_append(out, in, space);
    return out;
}

/// @brief Form-encodes one name or value: A-Z a-z 0-9 - . _ ~ stay, space becomes '+',
/// every other byte becomes %XX with upper-case hex.
/// @sa RFC 6749 Appendix B, §2.3.1
inline std::string form_encode(std::string_view in) { return percent_encode(in, "+"); }

/// @brief Appends "&name=value" (no '&' when body is empty), both form-encoded.
/// The body grows in place or into a new buffer with the old one wiped: a credential in
/// it is never left behind in freed memory.
inline void append_form_field(std::string& body, std::string_view name, std::string_view value) {
    reserve_wiping(body, body.size() + 2 + percent_encoded_bound(name.size()) +
                             percent_encoded_bound(value.size()));
    if (!body.empty()) body.push_back('&');
    percent_encode_append(body, name, "+");
    body.push_back('=');
    percent_encode_append(body, value, "+");
}

/// @brief Decodes one form-encoded name or value; empty when a %-escape is malformed.
inline std::optional<std::string> form_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out.push_back(' ');
        } else if (in[i] == '%') {
            if (i + 2 >= in.size()) return std::nullopt;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// @brief Splits a form body into decoded name/value pairs; empty on a malformed escape.
inline std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(
    std::string_view body) {
    std::vector<std::pair<std::string, std::string>> fields;
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        const std::string_view field = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (field.empty()) continue;
        const std::size_t eq = field.find('=');
        auto name = form_decode(field.substr(0, eq));
        auto value =
            form_decode(eq == std::string_view::npos ? std::string_view{} : field.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

/// @brief The length of the base64 encoding of n bytes.
constexpr std::size_t base64_size(std::size_t n) noexcept { return 4 * ((n + 2) / 3); }

/// @brief Appends the standard base64 (with padding) of in to out, in place: with
/// capacity for it reserved, out is not reallocated, so no copy is left behind.
inline void base64_append(std::string& out, std::string_view in) {
    if (in.empty()) return;
    const std::size_t at = out.size();
    // EVP_EncodeBlock writes a terminating NUL after the encoded text: one byte more.
    out.resize(at + base64_size(in.size()) + 1);
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    out.resize(at + static_cast<std::size_t>(n));
}

/// @brief Standard base64 with padding (RFC 4648 §4), as HTTP Basic wants.
inline std::string base64_encode(std::string_view in) {
    std::string out;
    base64_append(out, in);
    return out;
}

/// @brief True when s is an RFC 6749 §3.3 scope-token: one or more NQCHAR
/// (%x21 / %x23-5B / %x5D-7E), so no space, '"' or '\\'.
constexpr bool is_scope_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || u == 0x22 || u == 0x5c) return false;
    }
    return true;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/crypto/sha256.hpp ----

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief The SHA-256 digest of data, raw (32 bytes).
/// @throws error `config` when OpenSSL cannot compute it (e.g. a FIPS setup without it)
inline std::string sha256_raw(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
        length != 32) {
        throw error(error_kind::config, "OpenSSL could not compute a SHA-256 digest");
    }
    return std::string(reinterpret_cast<const char*>(digest), length);
}

/// @brief The SHA-256 digest of data in lower-case hex (64 characters).
/// @throws error `config` as sha256_raw does
inline std::string sha256_hex(std::string_view data) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (const char c : sha256_raw(data)) {
        const auto byte = static_cast<unsigned char>(c);
        out += hex[byte >> 4];
        out += hex[byte & 0x0f];
    }
    return out;
}

}  // namespace oauth2cc::detail

#include <nlohmann/json.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief Appends the base64url encoding of in, without padding (RFC 7515 §2), to out.
inline void base64url_append(std::string& out, std::string_view in) {
    const std::size_t at = out.size();
    base64_append(out, in);
    std::size_t end = out.size();
    while (end > at && out[end - 1] == '=') --end;
    out.resize(end);
    for (std::size_t i = at; i < end; ++i) {
        if (out[i] == '+') out[i] = '-';
        if (out[i] == '/') out[i] = '_';
    }
}

/// @brief The base64url encoding of in, without padding.
inline std::string base64url(std::string_view in) {
    std::string out;
    out.reserve(base64_size(in.size()) + 1);
    base64url_append(out, in);
    return out;
}

/// @brief n bytes from OpenSSL's CSPRNG.
/// @throws error `config` when it has no entropy to give
inline std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        throw error(error_kind::config, "OpenSSL's random generator is not seeded");
    }
    return out;
}

/// @brief A JWT id: 144 random bits, base64url (24 characters). RFC 7523 and DESIGN
/// want at least 128; a collision between two ids is out of reach.
inline std::string new_jti() { return base64url(random_bytes(18)); }

/// @brief HMAC-SHA-256 of data under key, raw (32 bytes).
/// @throws error `config` when OpenSSL cannot compute it
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::string mac(EVP_MAX_MD_SIZE, '\0');
    std::size_t length = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                  reinterpret_cast<unsigned char*>(mac.data()), mac.size(), &length) == nullptr) {
        throw error(error_kind::config, "OpenSSL could not compute an HMAC-SHA-256");
    }
    mac.resize(length);
    return mac;
}

/// @brief The JWS signing input of RFC 7515 §5.1: base64url(header) '.' base64url(claims).
inline std::string jws_signing_input(const nlohmann::json& header, const nlohmann::json& claims) {
    const std::string h = header.dump();
    std::string c = claims.dump();
    std::string input;
    input.reserve(base64_size(h.size()) + base64_size(c.size()) + 2);
    base64url_append(input, h);
    input.push_back('.');
    base64url_append(input, c);
    wipe(c);
    return input;
}

/// @brief Completes a JWS compact serialization: input '.' base64url(signature).
inline std::string jws_compact(std::string input, std::string_view signature) {
    input.push_back('.');
    base64url_append(input, signature);
    return input;
}

/// @brief The canonical JSON of RFC 7638 §3.2 for a public JWK: its required members only, in
/// lexicographic order, no white space.
/// @throws error `config` for a JWK without them
inline std::string jwk_thumbprint_input(const nlohmann::json& jwk) {
    const auto member = [&jwk](const char* name) -> std::string {
        const auto it = jwk.find(name);
        if (it == jwk.end() || !it->is_string()) {
            throw error(error_kind::config, std::string("the JWK has no string member ") + name);
        }
        return nlohmann::json(it->get_ref<const std::string&>()).dump();
    };
    const std::string kty = member("kty");
    if (kty == "\"RSA\"") {
        return "{\"e\":" + member("e") + ",\"kty\":" + kty + ",\"n\":" + member("n") + "}";
    }
    if (kty == "\"EC\"") {
        return "{\"crv\":" + member("crv") + ",\"kty\":" + kty + ",\"x\":" + member("x") +
               ",\"y\":" + member("y") + "}";
    }
    if (kty == "\"OKP\"") {
        return "{\"crv\":" + member("crv") + ",\"kty\":" + kty + ",\"x\":" + member("x") + "}";
    }
    throw error(error_kind::config, "the JWK's kty is not RSA, EC or OKP");
}

/// @brief The RFC 7638 thumbprint of a public JWK.
inline std::string jwk_thumbprint_of(const nlohmann::json& jwk) {
    return base64url(sha256_raw(jwk_thumbprint_input(jwk)));
}

}  // namespace oauth2cc::detail

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief What a sealed entry starts with; base64url(nonce, ciphertext, tag) follows.
inline constexpr std::string_view sealed_prefix = "oauth2cc-sealed/1.";
/// @brief The shortest sealing key taken: 128 bits, if they are random.
inline constexpr std::size_t min_sealing_key_bytes = 16;
inline constexpr std::size_t seal_nonce_bytes = 12;
inline constexpr std::size_t seal_tag_bytes = 16;

/// @brief The bytes of a base64url text without padding; empty when in is not one.
inline std::optional<std::string> base64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string text;
    text.reserve(in.size() + 3);
    for (const char c : in) {
        const bool plain =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!plain && c != '-' && c != '_') return std::nullopt;
        text += c == '-' ? '+' : c == '_' ? '/' : c;
    }
    const std::size_t pad = (4 - text.size() % 4) % 4;
    text.append(pad, '=');
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0 || static_cast<std::size_t>(n) < pad) return std::nullopt;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

/// @brief HKDF-SHA256 (RFC 5869 §2: extract, then expand) of ikm into length bytes, by
/// OpenSSL's EVP_PKEY_HKDF; empty when OpenSSL fails. The caller wipes the result.
inline std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                               std::size_t length) {
    const auto bytes = [](std::string_view s) {
        return reinterpret_cast<const unsigned char*>(s.data());
    };
    std::string out(length, '\0');
    const std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), &EVP_PKEY_CTX_free);
    std::size_t written = out.size();
    const bool ok =
        ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
        EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), bytes(salt), static_cast<int>(salt.size())) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), bytes(ikm), static_cast<int>(ikm.size())) == 1 &&
        EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), bytes(info), static_cast<int>(info.size())) == 1 &&
        EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written) == 1 &&
        written == out.size();
    if (!ok) {
        wipe(out);
        out.clear();
    }
    return out;
}

/// @brief Seals and opens a store's entries under one key. The AES key is derived once,
/// held in a secret, and wiped with it.
class sealer {
public:
    /// @brief Derives the AES-256 key: HKDF-SHA256 (RFC 5869) of sealing_key, with a
    /// fixed salt and info that name this use.
    /// @throws error `config` when the key is shorter than 16 bytes or OpenSSL fails
    explicit sealer(const secret& sealing_key) {
        if (sealing_key.reveal().size() < min_sealing_key_bytes) {
            throw error(error_kind::config,
                        "a sealing key must be at least 16 bytes; use 32 random bytes, e.g. "
                        "from `openssl rand -base64 32`");
        }
        static constexpr std::string_view salt = "oauth2cc token store";
        static constexpr std::string_view info = "oauth2cc-sealed/1 AES-256-GCM";
        std::string key = hkdf_sha256(sealing_key.reveal(), salt, info, 32);
        if (key.empty()) {
            throw error(error_kind::config,
                        "OpenSSL could not derive the sealing key (HKDF-SHA256)");
        }
        key_ = secret{std::move(key)};
    }

    /// @brief plain sealed: the prefix, then base64url of a fresh random 96-bit nonce, the
    /// AES-256-GCM ciphertext and its 128-bit tag; aad is authenticated, not stored.
    /// @throws error `config` when OpenSSL fails
    std::string seal(std::string_view plain, std::string_view aad) const {
        const std::string nonce = random_bytes(seal_nonce_bytes);
        std::string raw = nonce;
        raw.resize(seal_nonce_bytes + plain.size() + seal_tag_bytes);
        auto* out = reinterpret_cast<unsigned char*>(raw.data()) + seal_nonce_bytes;
        const cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0;
        int last = 0;
        const bool ok =
            ctx &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_bytes(),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_EncryptUpdate(ctx.get(), out, &n, bytes(plain), static_cast<int>(plain.size())) ==
                1 &&
            EVP_EncryptFinal_ex(ctx.get(), out + n, &last) == 1 &&
            static_cast<std::size_t>(n + last) == plain.size() &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(seal_tag_bytes),
                                out + plain.size()) == 1;
        if (!ok) throw error(error_kind::config, "OpenSSL could not seal the token (AES-256-GCM)");
        std::string text(sealed_prefix);
        base64url_append(text, raw);
        return text;
    }

    /// @brief The plain text of sealed, or empty when it is not a sealed entry, was sealed
    /// under another key or for another aad, or was altered. The caller wipes the text.
    std::optional<std::string> open(std::string_view sealed, std::string_view aad) const {
        if (sealed.substr(0, sealed_prefix.size()) != sealed_prefix) return std::nullopt;
        std::optional<std::string> raw = base64url_decode(sealed.substr(sealed_prefix.size()));
        if (!raw || raw->size() < seal_nonce_bytes + seal_tag_bytes) return std::nullopt;
        const std::size_t size = raw->size() - seal_nonce_bytes - seal_tag_bytes;
        auto* in = reinterpret_cast<unsigned char*>(raw->data());
        std::string plain(size, '\0');
        auto* out = reinterpret_cast<unsigned char*>(plain.data());
        const cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0;
        int last = 0;
        const bool ok =
            ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_bytes(), in) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_DecryptUpdate(ctx.get(), out, &n, in + seal_nonce_bytes, static_cast<int>(size)) ==
                1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(seal_tag_bytes),
                                in + seal_nonce_bytes + size) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), out + n, &last) == 1;
        wipe(*raw);
        if (!ok) {
            wipe(plain);
            return std::nullopt;
        }
        return plain;
    }

private:
    using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
    static const unsigned char* bytes(std::string_view s) noexcept {
        return reinterpret_cast<const unsigned char*>(s.data());
    }
    const unsigned char* key_bytes() const noexcept { return bytes(key_.reveal()); }

    secret key_;
};

/// @brief A sealer for sealing_key, or none when no key was given (entries stay in
/// clear). A key given empty (an empty key file, say) is a mistake, never "no sealing".
/// @throws error `config` as sealer does, and for a key given empty
inline std::shared_ptr<const sealer> sealer_for(const secret& sealing_key) {
    if (!sealing_key.has_value()) return nullptr;
    if (sealing_key.empty()) {
        throw error(error_kind::config,
                    "the sealing key is empty: a key was given (an empty file?), so tokens "
                    "would be stored in clear; give 32 random bytes, or no key at all");
    }
    return std::make_shared<const sealer>(sealing_key);
}

}  // namespace oauth2cc::detail
#endif  // !OAUTH2CC_WITH_BODIES: oauth2cc/detail/crypto/seal.hpp
#if !OAUTH2CC_WITH_BODIES
// ---- oauth2cc/detail/store/token_file.hpp ----

// ---- oauth2cc/detail/text/json_bounded.hpp ----

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief No response or file of ours nests deeper; deeper ones are refused, so that the
/// recursive parts of nlohmann::json (dump, comparison) never meet a deep document.
inline constexpr int max_json_depth = 32;

/// @brief What parse_json_bounded noticed besides the value.
struct json_notes {
    bool too_deep = false;  ///< nested deeper than max_json_depth (the value is discarded)
    std::string repeated;   ///< a member name the top-level object has twice, if any
};

/// @brief Wipes every string value in a document (member names stay); for documents
/// that held a credential, before they are destroyed.
inline void wipe_strings(nlohmann::json& doc) noexcept {
    if (doc.is_string()) {
        wipe(doc.get_ref<std::string&>());
    } else if (doc.is_structured()) {
        // A parsed document is at most max_json_depth deep.
        for (auto& child : doc) wipe_strings(child);
    }
}

/// @brief Builds the document from nlohmann::json's SAX events. Each string value is
/// moved out of the parser's buffer and the buffer wiped, so that a token in a response
/// lives in the document alone, where the caller can wipe it.
class bounded_document_builder {
public:
    using json = nlohmann::json;

    bounded_document_builder(json& root, json_notes& notes) : root_(root), notes_(notes) {}

    bool null() { return put(nullptr); }
    bool boolean(bool v) { return put(v); }
    bool number_integer(json::number_integer_t v) { return put(v); }
    bool number_unsigned(json::number_unsigned_t v) { return put(v); }
    bool number_float(json::number_float_t v, const std::string&) { return put(v); }
    bool string(std::string& v) {
        json value(std::move(v));
        wipe(v);
        return put(std::move(value));
    }
    // Only the binary formats produce binary values; JSON text never does.
    bool binary(json::binary_t&) { return false; }
    bool start_object(std::size_t) { return open(json::value_t::object); }
    bool start_array(std::size_t) { return open(json::value_t::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string& k) {
        json& object = *stack_.back();
        if (stack_.size() == 1 && notes_.repeated.empty() && object.contains(k)) {
            notes_.repeated = k;
        }
        member_ = &object[k];
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

private:
    template <class Value>
    bool put(Value&& v) {
        json* slot = place();
        *slot = json(std::forward<Value>(v));
        return true;
    }
    json* place() {
        if (stack_.empty()) return &root_;
        json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(nullptr);
            return &parent.back();
        }
        return member_;
    }
    bool open(json::value_t type) {
        // Stopped at once instead of reading the rest of a deep document.
        if (stack_.size() >= static_cast<std::size_t>(max_json_depth)) {
            notes_.too_deep = true;
            return false;
        }
        json* slot = place();
        *slot = json(type);
        stack_.push_back(slot);
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }

    json& root_;
    json_notes& notes_;
    std::vector<json*> stack_;
    json* member_ = nullptr;
};

/// @brief Feeds text to the builder as JSON. nlohmann::json's public sax_parse picks
/// its input format at run time, so it compiles the readers of every binary format
/// (CBOR, MessagePack, UBJSON, BSON) too; where its JSON parser has the interface of
/// the 3.10 to 3.12 releases, that parser is called alone.
inline bool sax_parse_json(std::string_view text, bounded_document_builder& builder) {
#if NLOHMANN_JSON_VERSION_MAJOR == 3 && NLOHMANN_JSON_VERSION_MINOR >= 10 && \
    NLOHMANN_JSON_VERSION_MINOR <= 12
    const char* first = text.data();
    auto input = nlohmann::detail::input_adapter(first, first + text.size());
    return nlohmann::detail::parser<nlohmann::json, decltype(input)>(std::move(input))
        .sax_parse(&builder, true);
#else
    return nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
#endif
}

/// @brief Parses text as JSON. The result is discarded when the text is not JSON or nests
/// deeper than max_json_depth. A top-level member given twice keeps its last value, and
/// notes.repeated names it: which one a server meant is anyone's guess (RFC 8259 §4).
inline nlohmann::json parse_json_bounded(std::string_view text, json_notes& notes) {
    nlohmann::json doc;
    bounded_document_builder builder(doc, notes);
    if (!sax_parse_json(text, builder)) {
        wipe_strings(doc);
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
    return doc;
}

}  // namespace oauth2cc::detail

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace oauth2cc::detail {

/// @brief Refuses keys that are not plain names (a file name, a Redis key part):
/// store_key() gives 64 hex digits.
inline void check_store_key(const std::string& key) {
    const bool plain =
        !key.empty() && key.size() <= 128 && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c == '_' || c == '-';
        });
    if (!plain) {
        throw error(error_kind::config,
                    "a token store key must be 1 to 128 letters, digits, '_' or '-' "
                    "(oauth2cc::store_key() gives such keys)");
    }
}

/// @brief Names the format, so that a later version can tell its files from these.
inline constexpr const char* token_file_format = "oauth2cc-token/1";

inline std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

/// @brief The file text of entry: one JSON object. Times are whole Unix seconds; the
/// expiry is rounded down, so a loaded token never outlives the one stored.
/// The caller wipes the returned text once written.
inline std::string token_file_text(const stored_token& entry) {
    // Member by member, not from an initializer list: the same document (an object's
    // members are kept sorted), with one template compiled instead of one per name.
    nlohmann::json doc = nlohmann::json(nlohmann::json::value_t::object);
    doc["format"] = token_file_format;
    doc["access_token"] = entry.access_token.reveal();
    doc["token_type"] = entry.token_type;
    doc["scope"] = entry.scope;
    doc["issued_at"] = unix_seconds(entry.issued_at);
    doc["expires_at"] = unix_seconds(entry.expires_at);
    doc["extra"] =
        entry.extra.is_object() ? entry.extra : nlohmann::json(nlohmann::json::value_t::object);
    std::string text = doc.dump();
    wipe(doc["access_token"].get_ref<std::string&>());
    text += '\n';
    return text;
}

/// @brief The token in a file's text; empty when the text is not a whole, well-formed
/// token file (truncated, corrupt, another format), which the store then ignores.
inline std::optional<stored_token> parse_token_file(const std::string& text) {
    json_notes notes;
    nlohmann::json doc = parse_json_bounded(text, notes);
    std::optional<stored_token> out;
    if (!doc.is_object() || !notes.repeated.empty()) return out;
    const auto string_at = [&doc](const char* name) -> const std::string* {
        const auto it = doc.find(name);
        return it != doc.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
    };
    const auto seconds_at = [&doc](const char* name) -> std::optional<std::int64_t> {
        const auto it = doc.find(name);
        if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
        return it->get<std::int64_t>();
    };
    const std::string* format = string_at("format");
    const std::string* access_token = string_at("access_token");
    const std::string* token_type = string_at("token_type");
    const std::string* scope = string_at("scope");
    const auto issued_at = seconds_at("issued_at");
    const auto expires_at = seconds_at("expires_at");
    const auto extra = doc.find("extra");
    const bool whole = format != nullptr && *format == token_file_format &&
                       access_token != nullptr && !access_token->empty() && token_type != nullptr &&
                       scope != nullptr && issued_at && expires_at &&
                       // Dates before 1970 or past 2255 are not ours, and the latter
                       // would overflow system_clock's nanoseconds.
                       *issued_at >= 0 && *expires_at > *issued_at && *expires_at < 9'000'000'000 &&
                       extra != doc.end() && extra->is_object();
    bool printable = whole;
    if (whole) {
        for (const unsigned char c : *access_token) {
            if (c < 0x20 || c == 0x7f) printable = false;
        }
    }
    if (printable) {
        out.emplace();
        out->access_token = secret{*access_token};
        out->token_type = *token_type;
        out->scope = *scope;
        out->extra = *extra;
        out->issued_at = std::chrono::system_clock::time_point(std::chrono::seconds(*issued_at));
        out->expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(*expires_at));
    }
    if (access_token != nullptr) wipe(doc["access_token"].get_ref<std::string&>());
    return out;
}

}  // namespace oauth2cc::detail
#endif  // !OAUTH2CC_WITH_BODIES: oauth2cc/detail/store/token_file.hpp

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc {

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
    const std::string& where() const noexcept { return link_->target().where; }
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

// ---- oauth2cc/impl/redis_token_store_inl.hpp ----

#if !OAUTH2CC_WITH_BODIES
// ---- oauth2cc/detail/http/proxy.hpp ----

// ---- oauth2cc/detail/http/url.hpp ----

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

struct url_parts {
    bool https = false;
    std::string host;  ///< As written, IPv6 literals without their brackets.
    int port = 0;      ///< The explicit port, else 443 or 80.
    std::string path;  ///< Path and query, at least "/".
};

/// @brief Parses an absolute http or https URL. Refuses user info ("user:pass@"), a
/// fragment, controls and spaces, an empty host, a bad port: those are empty results.
inline std::optional<url_parts> parse_url(std::string_view url) {
    url_parts parts;
    for (char c : url) {
        if (is_control(c) || c == ' ') return std::nullopt;
    }
    const std::size_t colon = url.find("://");
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string_view scheme = url.substr(0, colon);
    if (iequals(scheme, "https")) {
        parts.https = true;
    } else if (!iequals(scheme, "http")) {
        return std::nullopt;
    }
    std::string_view rest = url.substr(colon + 3);
    if (rest.find('#') != std::string_view::npos) return std::nullopt;
    const std::size_t path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    parts.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (parts.path.front() == '?') parts.path.insert(0, "/");
    if (authority.find('@') != std::string_view::npos) return std::nullopt;

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        parts.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port_text = after.substr(1);
        }
    } else {
        const std::size_t port_colon = authority.find(':');
        parts.host = std::string(authority.substr(0, port_colon));
        if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
    }
    if (parts.host.empty()) return std::nullopt;
    parts.port = parts.https ? 443 : 80;
    if (!port_text.empty()) {
        int port = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9') return std::nullopt;
            port = port * 10 + (c - '0');
            if (port > 65535) return std::nullopt;
        }
        if (port == 0) return std::nullopt;
        parts.port = port;
    }
    return parts;
}

/// @brief "https://host:port", with IPv6 literals in brackets.
inline std::string origin_of(const url_parts& url) {
    std::string origin = url.https ? "https://" : "http://";
    const bool ipv6 = url.host.find(':') != std::string::npos;
    if (ipv6) origin.push_back('[');
    origin += url.host;
    if (ipv6) origin.push_back(']');
    origin += ":" + std::to_string(url.port);
    return origin;
}

/// @brief True for `localhost`, `::1` (written `[::1]` in a URL), and 127.0.0.0/8 in
/// canonical dotted-decimal form: four octets of 0 to 255 without leading zeros. Nothing
/// else counts, since a resolver reads other spellings differently (`0127.0.0.1` is octal,
/// 87.0.0.1; `127.0.0.08` is no address and goes to DNS; `127.1` is 127.0.0.1 to some
/// resolvers and a name to others).
inline bool is_loopback_host(std::string_view host) {
    if (iequals(host, "localhost") || host == "::1") return true;
    int octets = 0;
    std::size_t start = 0;
    int first = -1;
    while (start <= host.size()) {
        std::size_t end = host.find('.', start);
        if (end == std::string_view::npos) end = host.size();
        const std::string_view octet = host.substr(start, end - start);
        if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) {
            return false;
        }
        int value = 0;
        for (char c : octet) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255) return false;
        if (octets == 0) first = value;
        ++octets;
        start = end + 1;
    }
    return octets == 4 && first == 127;
}

/// @brief The request target as it goes on the wire: the caller's bytes, percent escapes
/// kept as written, and only what may not appear in a target escaped (non-ASCII and the
/// characters RFC 3986 excludes). cpp-httplib's own re-encoding is off: it turned '+' into
/// %2B, so a form-encoded space arrived as a plus sign. A DPoP proof's `htu` is made by the
/// same function (dpop_htu), so that it names the URI the server receives.
inline std::string wire_target(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
            c == '{' || c == '|' || c == '}') {
            append_percent_escape(out, u);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace oauth2cc::detail

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief An HTTP proxy: where it is, and the Basic credentials it wants, if any.
struct proxy_parts {
    std::string host;  ///< As written, IPv6 literals without their brackets.
    int port = 1080;   ///< curl's default for a proxy without a port.
    std::string user;  ///< Percent-decoded.
    std::string password;
};

/// @brief Decodes %XX escapes; other bytes stay.
inline std::string percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
        const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
        if (in[i] == '%' && hi >= 0 && lo >= 0) {
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// @brief Parses "http://[user[:password]@]host[:port][/]"; a URL without a scheme is
/// taken as http://, as curl does. Empty for anything else (https:// and socks proxies
/// included: cpp-httplib speaks plain HTTP to a proxy, and CONNECT through it for
/// https:// targets).
inline std::optional<proxy_parts> parse_proxy(std::string_view url) {
    std::string text(trim(url));
    if (text.find("://") == std::string::npos) text.insert(0, "http://");
    const std::size_t scheme_end = text.find("://");
    if (!iequals(std::string_view(text).substr(0, scheme_end), "http")) return std::nullopt;
    proxy_parts out;
    const std::size_t authority_start = scheme_end + 3;
    const std::size_t authority_end = text.find_first_of("/?#", authority_start);
    std::string authority = text.substr(authority_start, authority_end - authority_start);
    if (authority_end != std::string::npos) {
        const std::string_view rest = std::string_view(text).substr(authority_end);
        if (rest != "/") return std::nullopt;  // a proxy has no path
    }
    const std::size_t at = authority.rfind('@');
    if (at != std::string::npos) {
        const std::string userinfo = authority.substr(0, at);
        const std::size_t colon = userinfo.find(':');
        out.user = percent_decode(userinfo.substr(0, colon));
        if (colon != std::string::npos) out.password = percent_decode(userinfo.substr(colon + 1));
        authority.erase(0, at + 1);
        if (out.user.empty() || has_control(out.user) || has_control(out.password)) {
            return std::nullopt;
        }
    }
    // The host and port as an http URL would have them; a missing port is 1080.
    const std::size_t close = authority.rfind(']');
    const std::size_t colon = authority.rfind(':');
    const bool has_port =
        colon != std::string::npos && (close == std::string::npos || colon > close);
    const auto parts = parse_url("http://" + authority + "/");
    if (!parts) return std::nullopt;
    out.host = parts->host;
    out.port = has_port ? parts->port : 1080;
    return out;
}

/// @brief Whether an IP address lies in "address/bits"; false for anything that is not
/// two addresses of one family.
inline bool in_cidr(const std::string& host, std::string_view entry) {
    const std::size_t slash = entry.find('/');
    if (slash == std::string_view::npos) return false;
    const std::string net(entry.substr(0, slash));
    int bits = 0;
    for (char c : entry.substr(slash + 1)) {
        if (c < '0' || c > '9' || bits > 128) return false;
        bits = bits * 10 + (c - '0');
    }
    unsigned char a[16], b[16];
    std::size_t length = 0;
    if (inet_pton(AF_INET, host.c_str(), a) == 1 && inet_pton(AF_INET, net.c_str(), b) == 1) {
        length = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), a) == 1 &&
               inet_pton(AF_INET6, net.c_str(), b) == 1) {
        length = 16;
    } else {
        return false;
    }
    if (slash + 1 == entry.size() || bits > static_cast<int>(length * 8)) return false;
    for (std::size_t i = 0; i < length && bits > 0; ++i, bits -= 8) {
        const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
        if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
}

/// @brief Whether a NO_PROXY list, as curl reads it, exempts host: "*" exempts every
/// host; otherwise each comma-separated entry (a leading '.' dropped, IPv6 without
/// brackets) matches that host and the hosts under it, and an "address/bits" entry
/// matches the IP addresses in that range.
inline bool no_proxy_matches(std::string_view list, std::string_view host) {
    std::string h(host);
    if (!h.empty() && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    while (!h.empty() && h.back() == '.') h.pop_back();
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(',', start);
        if (end == std::string_view::npos) end = list.size();
        std::string_view entry = trim(list.substr(start, end - start));
        start = end + 1;
        if (entry == "*") return true;
        std::string unbracketed;
        if (!entry.empty() && entry.front() == '[' && entry.find(']') != std::string_view::npos) {
            const std::size_t close = entry.find(']');
            unbracketed =
                std::string(entry.substr(1, close - 1)) + std::string(entry.substr(close + 1));
            entry = unbracketed;
        }
        while (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
        while (!entry.empty() && entry.back() == '.') entry.remove_suffix(1);
        if (entry.empty()) continue;
        if (entry.find('/') != std::string_view::npos) {
            if (in_cidr(h, entry)) return true;
            continue;
        }
        if (iequals(h, entry)) return true;
        if (h.size() > entry.size() && h[h.size() - entry.size() - 1] == '.' &&
            iequals(std::string_view(h).substr(h.size() - entry.size()), entry)) {
            return true;
        }
    }
    return false;
}

}  // namespace oauth2cc::detail
#endif  // !OAUTH2CC_WITH_BODIES: oauth2cc/detail/http/proxy.hpp
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

inline redis_token_store::redis_token_store(redis_options options)
    : prefix_(options.key_prefix),
      lease_(options.lock_lease),
      sealer_(detail::sealer_for(options.sealing_key)),
      link_(std::make_shared<detail::redis_link>(detail::redis_target_of(options))) {}

inline redis_store_stats redis_token_store::stats() const noexcept {
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

inline std::string redis_token_store::token_key(const std::string& key) const {
    detail::check_store_key(key);
    return prefix_ + "token:" + key;
}

inline std::optional<std::string> redis_token_store::get_raw(const std::string& redis_key) {
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

inline std::optional<stored_token> redis_token_store::load(const std::string& key) {
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

inline void redis_token_store::save(const std::string& key, const stored_token& entry) {
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

inline void redis_token_store::remove(const std::string& key) {
    const std::string name = token_key(key);
    link_->with_connection([&](redisContext* c) {
        return link_->command(c, {"DEL", name}) != nullptr;
    });
}

inline std::unique_ptr<token_store_lock> redis_token_store::lock(const std::string& key) {
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

inline redis_options redis_options_from_url(std::string_view url) {
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
