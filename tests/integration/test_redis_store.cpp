// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_redis_store.cpp: redis_token_store against a real redis-server that each test
// starts on a free loopback port and stops by PID: a fleet of 8 processes x 4 threads
// makes one request at oidc-provider; no secret in Redis; TTLs; sealed values; AUTH,
// databases and unix sockets; the lock; Redis killed and restarted, and Redis hung
// (SIGSTOP), with no caller failing. And Redis URLs.
// SPDX-License-Identifier: MIT

#include "../support/peer_process.hpp"
#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/redis_token_store.hpp>

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using oauth2cc::error_kind;
using oauth2cc::redis_options;
using oauth2cc::redis_token_store;
using oauth2cc::secret;
using oauth2cc::stored_token;
using oauth2cc::token_manager;
using oauth2cc_test::log_watch;
using oauth2cc_test::temp_dir;
using oauth2cc_test::thrown_by;
using oauth2cc_test::token_endpoint_fake;
using wall = std::chrono::system_clock;

namespace {

int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

/// True when redis-server can run here; under CI=true its absence fails the test.
bool redis_available_or_skip() {
    if (!oauth2cc_test::program_on_path("redis-server").empty()) return true;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
        FAIL("redis-server is not on PATH (tools/bootstrap installs Debian's redis-server)");
    }
    MESSAGE("redis-server is not on PATH: skipped (apt-get install redis-server)");
    return false;
}

/// A redis-server on 127.0.0.1 and a unix socket, without persistence, stopped by PID.
class redis_server {
public:
    explicit redis_server(std::vector<std::string> extra = {})
        : extra_(std::move(extra)), port_(free_loopback_port()) {
        start();
    }
    ~redis_server() {
        if (!proc_) return;
        if (paused_) ::kill(proc_->pid(), SIGCONT);
        std::chrono::milliseconds took{};
        proc_->stop(SIGTERM, took);
    }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    void start() {
        std::vector<std::string> argv = {oauth2cc_test::program_on_path("redis-server"),
                                         "--port",
                                         std::to_string(port_),
                                         "--bind",
                                         "127.0.0.1",
                                         "--save",
                                         "",
                                         "--appendonly",
                                         "no",
                                         "--dir",
                                         dir_.path.string(),
                                         "--unixsocket",
                                         socket(),
                                         "--unixsocketperm",
                                         "700",
                                         "--logfile",
                                         ""};
        argv.insert(argv.end(), extra_.begin(), extra_.end());
        proc_ = std::make_unique<oauth2cc_test::running_program>(
            argv, std::vector<std::pair<std::string, std::string>>{});
        REQUIRE_MESSAGE(proc_->wait_for_line("Ready to accept connections", 30s), proc_->output());
    }
    void kill() {
        std::chrono::milliseconds took{};
        proc_->stop(SIGKILL, took);
        proc_.reset();
    }
    void pause() {
        REQUIRE(::kill(proc_->pid(), SIGSTOP) == 0);
        paused_ = true;
    }
    void resume() {
        REQUIRE(::kill(proc_->pid(), SIGCONT) == 0);
        paused_ = false;
    }
    int port() const { return port_; }
    std::string socket() const { return dir_ / "redis.sock"; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    redis_options options() const {
        redis_options o;
        o.port = port_;
        return o;
    }

    /// One command on a connection of the test's own; the reply's string, or its integer.
    std::string command(const std::vector<std::string>& args,
                        const std::string& password = "") const {
        redisContext* c = redisConnect("127.0.0.1", port_);
        REQUIRE(c != nullptr);
        REQUIRE_MESSAGE(c->err == 0, c->errstr);
        if (!password.empty()) {
            freeReplyObject(redisCommand(c, "AUTH %s", password.c_str()));
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
        REQUIRE(r != nullptr);
        std::string out;
        if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
            r->type == REDIS_REPLY_ERROR) {
            out.assign(r->str, r->len);
        } else if (r->type == REDIS_REPLY_INTEGER) {
            out = std::to_string(r->integer);
        } else if (r->type == REDIS_REPLY_ARRAY) {
            for (std::size_t i = 0; i < r->elements; ++i) {
                out += std::string(r->element[i]->str, r->element[i]->len) + "\n";
            }
        }
        freeReplyObject(r);
        redisFree(c);
        return out;
    }
    std::vector<std::string> keys() const {
        std::vector<std::string> out;
        std::istringstream in(command({"KEYS", "*"}));
        for (std::string k; std::getline(in, k);) out.push_back(k);
        return out;
    }

private:
    temp_dir dir_;
    std::vector<std::string> extra_;
    int port_;
    bool paused_ = false;
    std::unique_ptr<oauth2cc_test::running_program> proc_;
};

oauth2cc::client_config fake_config() {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/token";
    cfg.client_id = "fleet-job";
    cfg.client_secret = secret{"Fleet-S3cret-not-for-redis"};
    return cfg;
}

stored_token entry(const std::string& value, std::chrono::seconds life = 3600s) {
    stored_token e;
    e.access_token = secret{value};
    e.token_type = "Bearer";
    e.scope = "read";
    e.issued_at = wall::now();
    e.expires_at = e.issued_at + life;
    return e;
}

/// Waits, a bounded number of rounds, until the store's background probe finds Redis.
// Whether the example programs the test runs are built; a CI run wants them.
bool examples_built_or_skip(const char* cli, const char* daemon) {
    if (cli != nullptr && daemon != nullptr) return true;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL("the example programs are not built");
    MESSAGE("skipped: the example programs are not built in this configuration");
    return false;
}

bool wait_available(const redis_token_store& store) {
    for (int i = 0; i < 3000 && !store.stats().available; ++i) std::this_thread::sleep_for(5ms);
    return store.stats().available;
}

using oauth2cc_test::count_of;

/// Starts n fleet members together and returns every line they printed for a token.
std::vector<std::string> run_fleet(const oauth2cc_test::peer_process& peer, int n, int threads,
                                   const std::vector<std::string>& extra) {
    std::vector<std::unique_ptr<oauth2cc_test::running_program>> members;
    for (int i = 0; i < n; ++i) {
        std::vector<std::string> argv = {OAUTH2CC_TEST_FLEET_MEMBER,
                                         "--token-url",
                                         peer.info().at("token_endpoint").get<std::string>(),
                                         "--client-id",
                                         "basic-client",
                                         "--threads",
                                         std::to_string(threads)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        members.push_back(std::make_unique<oauth2cc_test::running_program>(
            argv, std::vector<std::pair<std::string, std::string>>{
                      {"OAUTH2_CLIENT_SECRET", "basic-secret"}}));
    }
    for (auto& m : members) REQUIRE_MESSAGE(m->wait_for_line("ready", 30s), m->output());
    for (auto& m : members) m->close_input();  // go
    std::vector<std::string> lines;
    for (auto& m : members) {
        REQUIRE_MESSAGE(m->wait_for_line("done", 60s), m->output());
        std::istringstream in(m->output());
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("token ", 0) == 0 || line.rfind("error", 0) == 0) lines.push_back(line);
        }
    }
    return lines;
}

/// The value after `name ` in a fleet member's line.
std::string field(const std::string& line, const std::string& name) {
    std::istringstream in(line);
    for (std::string word; in >> word;) {
        if (word == name && in >> word) return word;
    }
    return {};
}

/// The distinct tokens the fleet's lines name (digests), and the requests they made; every
/// line is a token's, with no store failure.
std::pair<std::set<std::string>, int> tally_fleet(const std::vector<std::string>& lines) {
    std::set<std::string> tokens;
    int fetches = 0;
    for (const auto& line : lines) {
        CAPTURE(line);
        REQUIRE(line.rfind("token ", 0) == 0);
        tokens.insert(field(line, "token"));
        fetches += std::stoi(field(line, "fetches"));
        CHECK(field(line, "store_failures") == "0");
    }
    return {tokens, fetches};
}

}  // namespace

TEST_CASE("redis_options_from_url: TCP, credentials, IPv6, databases and unix sockets") {
    auto o = oauth2cc::redis_options_from_url("redis://10.0.0.7:6380/2");
    CHECK(o.host == "10.0.0.7");
    CHECK(o.port == 6380);
    CHECK(o.db == 2);
    CHECK(o.password.empty());
    o = oauth2cc::redis_options_from_url("redis://fleet:p%40ss%3Aword@cache.internal");
    CHECK(o.host == "cache.internal");
    CHECK(o.port == 6379);
    CHECK(o.username == "fleet");
    CHECK(o.password.reveal() == "p@ss:word");
    o = oauth2cc::redis_options_from_url("redis://:only-pw@[::1]:7000/");
    CHECK(o.host == "::1");
    CHECK(o.port == 7000);
    CHECK(o.username.empty());
    CHECK(o.password.reveal() == "only-pw");
    o = oauth2cc::redis_options_from_url("unix:///run/redis/redis.sock?db=5");
    CHECK(o.unix_socket == "/run/redis/redis.sock");
    CHECK(o.db == 5);
    for (const char* bad : {"http://h:1", "redis://", "redis://h:99999", "redis://h:1/x",
                            "redis://[::1", "unix://relative", "unix:///s?x=1", "redis://h:1/-1"}) {
        CAPTURE(bad);
        CHECK(thrown_by([&] { oauth2cc::redis_options_from_url(bad); }).kind() ==
              error_kind::config);
    }
    const auto tls = thrown_by([] { oauth2cc::redis_options_from_url("rediss://u:pw-secret@h"); });
    CHECK(std::string(tls.what()).find("TLS") != std::string::npos);
    CHECK(std::string(tls.what()).find("pw-secret") == std::string::npos);
    const auto bad_port =
        thrown_by([] { oauth2cc::redis_options_from_url("redis://u:pw-hidden@h:x"); });
    CHECK(std::string(bad_port.what()).find("pw-hidden") == std::string::npos);
}

TEST_CASE("redis_token_store: options out of range are config errors, made without Redis") {
    redis_options o;
    o.port = 0;
    CHECK(thrown_by([&] { redis_token_store s(o); }).kind() == error_kind::config);
    o = redis_options{};
    o.command_timeout = 0ms;
    CHECK(thrown_by([&] { redis_token_store s(o); }).kind() == error_kind::config);
    o = redis_options{};
    o.sealing_key = secret{"short"};
    CHECK(thrown_by([&] { redis_token_store s(o); }).kind() == error_kind::config);
    o = redis_options{};
    o.port = free_loopback_port();  // nothing listens: made all the same
    redis_token_store s(o);
    const auto e = thrown_by([&] { s.load(std::string(64, 'a')); });
    CHECK(e.kind() == error_kind::transport);
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(o.port)) != std::string::npos);
    CHECK_FALSE(s.stats().available);
    CHECK(thrown_by([&] { s.load(std::string(64, 'a')); }).kind() == error_kind::transport);
    CHECK(s.stats().skipped >= 1);  // failed at once, without a connect
}

TEST_SUITE("integration") {

TEST_CASE("redis_token_store: 8 processes x 4 threads make one token request at oidc-provider") {
    if (!oauth2cc_test::peers_available_or_skip() || !redis_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    redis_server redis;
    peer->reset_harness_stats();
    const auto lines = run_fleet(*peer, 8, 4, {"--redis", redis.url()});
    REQUIRE(lines.size() == 32);
    const auto [tokens, fetches] = tally_fleet(lines);
    CHECK(tokens.size() == 1);
    CHECK(fetches == 1);
    CHECK(peer->harness_stats().at("token_requests") == 1);

    // One key, the token's; the lock released; no secret anywhere; a TTL of its life.
    const auto keys = redis.keys();
    REQUIRE(keys.size() == 1);
    CHECK(keys[0].rfind("oauth2cc:token:", 0) == 0);
    CHECK(keys[0].size() == std::string("oauth2cc:token:").size() + 64);
    const std::string value = redis.command({"GET", keys[0]});
    CHECK(value.find("basic-secret") == std::string::npos);
    const auto doc = nlohmann::json::parse(value);
    CHECK(oauth2cc::store_key(doc.at("access_token").get<std::string>()).substr(0, 16) ==
          *tokens.begin());
    const long long pttl = std::stoll(redis.command({"PTTL", keys[0]}));
    CHECK(pttl > 0);
    CHECK(pttl <= 600'000);
    CHECK(pttl == doctest::Approx(1000.0 * (doc.at("expires_at").get<long long>() -
                                            wall::to_time_t(wall::now())))
                      .epsilon(0.01));
}

TEST_CASE("redis_token_store: keyed entries across processes: one request per resource") {
    if (!oauth2cc_test::peers_available_or_skip() || !redis_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    redis_server redis;
    peer->reset_harness_stats();
    const auto lines =
        run_fleet(*peer, 4, 4,
                  {"--redis", redis.url(), "--resource", "https://api-1.example.com/", "--resource",
                   "https://api-2.example.com/"});
    REQUIRE(lines.size() == 16);
    const auto [tokens, fetches] = tally_fleet(lines);
    CHECK(tokens.size() == 2);  // one per resource, never another's
    CHECK(fetches == 2);
    CHECK(peer->harness_stats().at("token_requests") == 2);
    CHECK(redis.keys().size() == 2);  // one stored entry per token_params
}

TEST_CASE("redis_token_store: sealed values hold no token in clear; another key fetches its own") {
    if (!oauth2cc_test::peers_available_or_skip() || !redis_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    redis_server redis;
    temp_dir tmp;
    const std::string key_file = tmp / "seal.key";
    const std::string key_text = "k3y-for-the-fleet-0123456789abcdef";
    std::ofstream(key_file) << key_text;
    REQUIRE(::chmod(key_file.c_str(), 0600) == 0);
    peer->reset_harness_stats();
    const auto lines =
        run_fleet(*peer, 3, 2, {"--redis", redis.url(), "--seal-key-file", key_file});
    REQUIRE(lines.size() == 6);
    std::set<std::string> tokens;
    for (const auto& line : lines) tokens.insert(field(line, "token"));
    CHECK(tokens.size() == 1);
    CHECK(peer->harness_stats().at("token_requests") == 1);

    const auto keys = redis.keys();
    REQUIRE(keys.size() == 1);
    const std::string value = redis.command({"GET", keys[0]});
    CHECK(value.rfind("oauth2cc-sealed/1.", 0) == 0);
    redis_options o = redis.options();
    o.sealing_key = secret{key_text};
    redis_token_store same_key(o);
    const std::string key = keys[0].substr(std::string("oauth2cc:token:").size());
    const auto opened = same_key.load(key);
    REQUIRE(opened.has_value());
    const std::string& token = opened->access_token.reveal();
    CHECK(oauth2cc::store_key(token).substr(0, 16) == *tokens.begin());
    CHECK(value.find(token) == std::string::npos);
    CHECK(value.find("Bearer") == std::string::npos);
    CHECK(value.find("basic-secret") == std::string::npos);
    // Without the key, or with another, the entry is not there.
    CHECK_FALSE(redis_token_store(redis.options()).load(key).has_value());
    o.sealing_key = secret{"another-key-0123456789abcdef-xyz"};
    CHECK_FALSE(redis_token_store(o).load(key).has_value());
    // A fleet member with another key requests its own token.
    std::ofstream(key_file, std::ios::trunc) << "another-key-0123456789abcdef-xyz";
    const auto other =
        run_fleet(*peer, 1, 1, {"--redis", redis.url(), "--seal-key-file", key_file});
    REQUIRE(other.size() == 1);
    CHECK(field(other[0], "token") != *tokens.begin());
    CHECK(field(other[0], "fetches") == "1");
    CHECK(peer->harness_stats().at("token_requests") == 2);
}

TEST_CASE("redis_token_store: a hostile value of 8 MiB never crosses the wire") {
    if (!redis_available_or_skip()) return;
    redis_server redis;
    redis_token_store store(redis.options());
    const std::string key = oauth2cc::store_key("planted");
    redis.command({"SET", "oauth2cc:token:" + key, std::string(8 * 1024 * 1024, 'x')});
    redis.command({"HSET", "oauth2cc:token:" + oauth2cc::store_key("hash"), "f", "v"});
    // What Redis has sent its clients so far: INFO's total_net_output_bytes.
    const auto sent = [&] {
        const std::string info = redis.command({"INFO", "stats"});
        const auto at = info.find("total_net_output_bytes:");
        REQUIRE(at != std::string::npos);
        return std::stoull(info.substr(at + std::string("total_net_output_bytes:").size()));
    };
    const auto before = sent();
    CHECK_FALSE(store.load(key).has_value());
    CHECK_FALSE(store.load(oauth2cc::store_key("hash")).has_value());  // not a string: not ours
    {
        const auto held = store.lock(key);  // looks at the token's digest, then locks
        CHECK(held != nullptr);
    }
    CHECK(sent() - before < 64 * 1024);
    CHECK(store.stats().failures == 0);
}

TEST_CASE("redis_token_store: AUTH, a database and a unix socket") {
    if (!redis_available_or_skip()) return;
    redis_server redis({"--requirepass", "Redis-Pa55"});
    const std::string key(64, 'c');
    auto o = oauth2cc::redis_options_from_url("unix://" + redis.socket() + "?db=3");
    o.password = secret{"Redis-Pa55"};
    redis_token_store by_socket(o);
    by_socket.save(key, entry("tok-in-db-3"));
    CHECK(by_socket.load(key)->access_token.reveal() == "tok-in-db-3");
    CHECK(by_socket.where() == "redis at unix:" + redis.socket() + "/3");
    // The same database by TCP, as user "default" (ACL form), finds it; database 0 does not.
    redis_token_store by_tcp(oauth2cc::redis_options_from_url(
        "redis://default:Redis-Pa55@127.0.0.1:" + std::to_string(redis.port()) + "/3"));
    CHECK(by_tcp.load(key)->access_token.reveal() == "tok-in-db-3");
    o.db = 0;
    CHECK_FALSE(redis_token_store(o).load(key).has_value());
    CHECK(redis.command({"DBSIZE"}, "Redis-Pa55") == "0");
    // A wrong password: a transport error that names Redis, not the password.
    auto wrong = redis.options();
    wrong.password = secret{"Wrong-Pa55"};
    redis_token_store refused(wrong);
    const auto e = thrown_by([&] { refused.load(key); });
    CHECK(e.kind() == error_kind::transport);
    CHECK(std::string(e.what()).find("refused AUTH") != std::string::npos);
    CHECK(std::string(e.what()).find("Wrong-Pa55") == std::string::npos);
    CHECK(std::string(e.what()).find("Redis-Pa55") == std::string::npos);
    // A manager on it still gets its token.
    auto endpoint = std::make_shared<token_endpoint_fake>();
    token_manager m(fake_config(), {}, endpoint);
    m.set_store(std::make_shared<redis_token_store>(wrong));
    CHECK(m.get()->access_token.reveal() == "tok-1");
    CHECK(m.stats().store_failures >= 1);
}

TEST_CASE("redis_token_store: the lock is released by its owner only, and waiters take the token") {
    if (!redis_available_or_skip()) return;
    redis_server redis;
    redis_token_store a(redis.options());
    redis_token_store b(redis.options());
    const std::string key(64, 'd');
    const std::string lock_key = "oauth2cc:lock:" + key;
    {
        auto held = a.lock(key);
        REQUIRE(held != nullptr);
        const long long pttl = std::stoll(redis.command({"PTTL", lock_key}));
        CHECK(pttl > 0);
        CHECK(pttl <= 10'000);
        // Its lease passed and another holder took it: releasing must not free theirs.
        redis.command({"SET", lock_key, "someone-else"});
    }
    CHECK(redis.command({"GET", lock_key}) == "someone-else");
    redis.command({"DEL", lock_key});

    auto held = a.lock(key);
    REQUIRE(held != nullptr);
    std::unique_ptr<oauth2cc::token_store_lock> waited;
    bool returned = false;
    std::thread waiter([&] {
        waited = b.lock(key);  // held by a: waits for its token
        returned = true;
    });
    // Once b has looked (GET), tried the lock (SET NX) and looked again, it waits.
    for (int i = 0; i < 10000 && b.stats().commands < 3; ++i) std::this_thread::sleep_for(1ms);
    REQUIRE(b.stats().commands >= 3);
    a.save(key, entry("tok-from-the-holder"));
    waiter.join();
    CHECK(returned);
    CHECK(waited == nullptr);  // the holder's token arrived: take it, no lock needed
    CHECK(b.load(key)->access_token.reveal() == "tok-from-the-holder");
    held.reset();
    CHECK(redis.command({"EXISTS", lock_key}) == "0");
    auto next = b.lock(key);
    CHECK(next != nullptr);
}

TEST_CASE("redis_token_store: Redis killed mid-run and restarted: no caller fails, reuse resumes") {
    if (!redis_available_or_skip()) return;
    redis_server redis;
    auto endpoint = std::make_shared<token_endpoint_fake>();
    // Each advance of 2 h expires the managers' tokens on their clock: a fetch each.
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    auto store_a = std::make_shared<redis_token_store>(redis.options());
    auto store_b = std::make_shared<redis_token_store>(redis.options());
    log_watch logs_a;
    log_watch logs_b;
    token_manager a(fake_config(), {}, endpoint, clock);
    token_manager b(fake_config(), {}, endpoint, clock);
    a.set_logger(logs_a.sink());
    b.set_logger(logs_b.sink());
    a.set_store(store_a);
    b.set_store(store_b);
    CHECK(a.get()->access_token.reveal() == "tok-1");
    CHECK(b.get()->access_token.reveal() == "tok-1");  // from Redis
    CHECK(endpoint->requests() == 1);

    redis.kill();
    clock->advance(2h);
    CHECK(a.get()->access_token.reveal() == "tok-2");
    CHECK(b.get()->access_token.reveal() == "tok-3");
    clock->advance(2h);
    CHECK(a.get()->access_token.reveal() == "tok-4");
    CHECK(a.stats().failures == 0);
    CHECK(b.stats().failures == 0);
    CHECK(a.stats().store_failures == 2);
    REQUIRE(logs_a.wait_successes(3));
    CHECK(count_of(logs_a.text(), "the token store is unavailable") == 1);
    CHECK(store_a->stats().outages == 1);

    redis.start();  // the same port, empty
    REQUIRE(wait_available(*store_a));
    REQUIRE(wait_available(*store_b));
    clock->advance(2h);
    CHECK(a.get()->access_token.reveal() == "tok-5");
    CHECK(b.get()->access_token.reveal() == "tok-5");  // from Redis again
    CHECK(b.stats().store_loads == 2);
    CHECK(endpoint->requests() == 5);
    REQUIRE(logs_a.wait_successes(4));
    REQUIRE(logs_b.wait_successes(3));
    CHECK(count_of(logs_a.text(), "the token store answers again") == 1);
    CHECK(count_of(logs_b.text(), "the token store answers again") == 1);
    CHECK(count_of(logs_a.text(), "tok-") == 0);
}

TEST_CASE(
    "redis_token_store: pooled connections of a restarted Redis are replaced, not an outage") {
    if (!redis_available_or_skip()) return;
    redis_server redis;
    redis_token_store store(redis.options());
    const std::string key(64, 'e');
    store.save(key, entry("tok-before-restart"));
    const auto connects = store.stats().connects;
    redis.kill();
    redis.start();  // the same port, empty: the pooled connection is stale
    CHECK_FALSE(store.load(key).has_value());
    store.save(key, entry("tok-after-restart"));
    CHECK(store.load(key)->access_token.reveal() == "tok-after-restart");
    const auto st = store.stats();
    CHECK(st.outages == 0);
    CHECK(st.failures == 0);
    CHECK(st.available);
    CHECK(st.connects == connects + 1);
}

TEST_CASE("redis_token_store: an error reply that quotes the command shows no argument") {
    if (!redis_available_or_skip()) return;
    // Redis quotes the first bytes of each argument of a command it does not know, as
    // SET is here once renamed away; a server without EVAL would do it to the lock.
    redis_server redis({"--rename-command", "SET", ""});
    redis_token_store store(redis.options());
    const auto e = thrown_by([&] { store.save(std::string(64, 'f'), entry("tok-quoted-back")); });
    CHECK(e.kind() == error_kind::transport);
    CAPTURE(e.what());
    CHECK(std::string(e.what()).find("answered SET with an error") != std::string::npos);
    CHECK(std::string(e.what()).find("tok-quoted-back") == std::string::npos);
    CHECK(std::string(e.what()).find("oauth2cc:token:") == std::string::npos);
    CHECK(std::string(e.what()).find("access_token") == std::string::npos);
}

TEST_CASE("redis_token_store: a hung Redis (SIGSTOP) costs one command timeout per outage") {
    if (!redis_available_or_skip()) return;
    redis_server redis;
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    redis_options o = redis.options();
    o.command_timeout = 300ms;
    auto store = std::make_shared<redis_token_store>(o);
    log_watch logs;
    token_manager m(fake_config(), {}, endpoint, clock);
    m.set_logger(logs.sink());
    m.set_store(store);
    CHECK(m.get()->access_token.reveal() == "tok-1");
    CHECK(store->stats().failures == 0);

    redis.pause();
    for (int i = 2; i <= 5; ++i) {
        clock->advance(2h);
        CHECK(m.get()->access_token.reveal() == "tok-" + std::to_string(i));
    }
    const auto during = store->stats();
    CHECK(during.failures == 1);  // one command waited out its timeout...
    CHECK(during.outages == 1);
    CHECK(during.skipped >= 4);  // ...every later one failed at once
    CHECK_FALSE(during.available);
    CHECK(m.stats().failures == 0);
    CHECK(m.stats().store_failures == 4);
    REQUIRE(logs.wait_successes(5));
    CHECK(count_of(logs.text(), "the token store is unavailable") == 1);
    CHECK(logs.text().find("did not answer within 300 ms") != std::string::npos);

    redis.resume();
    REQUIRE(wait_available(*store));
    redis.command({"FLUSHALL"});
    clock->advance(2h);
    CHECK(m.get()->access_token.reveal() == "tok-6");
    REQUIRE(logs.wait_successes(6));
    CHECK(count_of(logs.text(), "the token store answers again") == 1);
    bool saved = false;
    for (const auto& k : redis.keys()) {
        if (k.rfind("oauth2cc:token:", 0) == 0) {
            saved = redis.command({"GET", k}).find("tok-6") != std::string::npos;
        }
    }
    CHECK(saved);
}

TEST_CASE(
    "oauth2cc-cli and oauth2cc-daemon --redis --seal-key-file: one request, sealed in Redis") {
    const char* cli = std::getenv("OAUTH2CC_EXAMPLE_CLI");
    const char* daemon = std::getenv("OAUTH2CC_EXAMPLE_DAEMON");
    if (!examples_built_or_skip(cli, daemon)) return;
    if (!oauth2cc_test::peers_available_or_skip() || !redis_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    redis_server redis;
    temp_dir tmp;
    const std::string key_file = tmp / "seal.key";
    std::ofstream(key_file) << "cli-sealing-key-0123456789abcdef\n";
    REQUIRE(::chmod(key_file.c_str(), 0600) == 0);
    const std::string token_url = peer->info().at("token_endpoint").get<std::string>();
    const std::vector<std::pair<std::string, std::string>> env = {
        {"OAUTH2_CLIENT_SECRET", "basic-secret"}};
    const std::vector<std::string> args = {
        cli,       "--token-url", token_url,         "--client-id", "basic-client",
        "--redis", redis.url(),   "--seal-key-file", key_file,      "token"};
    peer->reset_harness_stats();
    const auto first = oauth2cc_test::run_program(args, env);
    REQUIRE_MESSAGE(first.exit_code == 0, first.err);
    const auto second = oauth2cc_test::run_program(args, env);
    REQUIRE_MESSAGE(second.exit_code == 0, second.err);
    const auto token = nlohmann::json::parse(first.out).at("access_token").get<std::string>();
    CHECK(nlohmann::json::parse(second.out).at("access_token") == token);
    CHECK(peer->harness_stats().at("token_requests") == 1);
    const auto keys = redis.keys();
    REQUIRE(keys.size() == 1);
    const std::string value = redis.command({"GET", keys[0]});
    CHECK(value.rfind("oauth2cc-sealed/1.", 0) == 0);
    CHECK(value.find(token) == std::string::npos);

    // The daemon takes the same token from Redis: no request of its own.
    oauth2cc_test::running_program d({daemon, "--status-every-ms", "100", "--redis", redis.url(),
                                      "--seal-key-file", key_file, token_url},
                                     {{"OAUTH2_TOKEN_URL", token_url},
                                      {"OAUTH2_CLIENT_ID", "basic-client"},
                                      {"OAUTH2_CLIENT_SECRET", "basic-secret"}});
    REQUIRE_MESSAGE(d.wait_for_line("from the token store", 30s), d.output());
    REQUIRE_MESSAGE(d.wait_for_line("status: token requests 0", 30s), d.output());
    CHECK(peer->harness_stats().at("token_requests") == 1);

    // A key file others may read is refused, and so is a sealing key with no store.
    REQUIRE(::chmod(key_file.c_str(), 0644) == 0);
    const auto loose = oauth2cc_test::run_program(args, env);
    CHECK(loose.exit_code != 0);
    CHECK(loose.err.find("chmod 600") != std::string::npos);
    REQUIRE(::chmod(key_file.c_str(), 0600) == 0);
    const auto lone =
        oauth2cc_test::run_program({cli, "--token-url", token_url, "--client-id", "basic-client",
                                    "--seal-key-file", key_file, "token"},
                                   env);
    CHECK(lone.exit_code != 0);
    CHECK(lone.err.find("needs --redis or --cache") != std::string::npos);
}

TEST_CASE(
    "oauth2cc-daemon takes a Redis URL with a password from OAUTH2_REDIS_URL or a private "
    "file; the CLI warns of one on its command line; an empty sealing key file is refused") {
    const char* cli = std::getenv("OAUTH2CC_EXAMPLE_CLI");
    const char* daemon = std::getenv("OAUTH2CC_EXAMPLE_DAEMON");
    if (!examples_built_or_skip(cli, daemon)) return;
    if (!oauth2cc_test::peers_available_or_skip() || !redis_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    redis_server redis({"--requirepass", "Redis-Pa55"});
    const std::string url = "redis://:Redis-Pa55@127.0.0.1:" + std::to_string(redis.port());
    temp_dir tmp;
    const std::string url_file = tmp / "redis.url";
    std::ofstream(url_file) << url << "\n";
    REQUIRE(::chmod(url_file.c_str(), 0600) == 0);
    const std::string token_url = peer->info().at("token_endpoint").get<std::string>();
    const std::vector<std::pair<std::string, std::string>> client = {
        {"OAUTH2_TOKEN_URL", token_url},
        {"OAUTH2_CLIENT_ID", "basic-client"},
        {"OAUTH2_CLIENT_SECRET", "basic-secret"}};
    peer->reset_harness_stats();
    {
        auto env = client;
        env.emplace_back("OAUTH2_REDIS_URL", url);
        oauth2cc_test::running_program d({daemon, "--status-every-ms", "100", token_url}, env);
        REQUIRE_MESSAGE(d.wait_for_line("tokens shared through Redis", 30s), d.output());
        REQUIRE_MESSAGE(d.wait_for_line("status: token requests 1", 30s), d.output());
    }
    {
        auto env = client;
        env.emplace_back("OAUTH2_REDIS_URL_FILE", url_file);
        oauth2cc_test::running_program d({daemon, "--status-every-ms", "100", token_url}, env);
        REQUIRE_MESSAGE(d.wait_for_line("from the token store", 30s), d.output());
        REQUIRE_MESSAGE(d.wait_for_line("status: token requests 0", 30s), d.output());
    }
    CHECK(peer->harness_stats().at("token_requests") == 1);

    // The CLI: a password on its command line is warned of; from the environment, not.
    const std::vector<std::string> base = {cli, "--token-url", token_url, "--client-id",
                                           "basic-client"};
    auto on_argv = base;
    for (const std::string a :
         {"--redis", url.c_str(), "--proxy", "http://u:proxy-pw@127.0.0.1:9", "token"}) {
        on_argv.push_back(a);
    }
    const auto warned = oauth2cc_test::run_program(on_argv, client);
    CHECK(warned.err.find("warning: --redis shows its password") != std::string::npos);
    CHECK(warned.err.find("warning: --proxy shows its password") != std::string::npos);
    CHECK(warned.err.find("Redis-Pa55") == std::string::npos);
    CHECK(warned.err.find("proxy-pw") == std::string::npos);
    auto quiet_env = client;
    quiet_env.emplace_back("OAUTH2_REDIS_URL_FILE", url_file);
    auto quiet_args = base;
    quiet_args.push_back("token");
    const auto quiet = oauth2cc_test::run_program(quiet_args, quiet_env);
    REQUIRE_MESSAGE(quiet.exit_code == 0, quiet.err);
    CHECK(quiet.err.find("warning") == std::string::npos);
    CHECK(peer->harness_stats().at("token_requests") == 1);  // the token from Redis

    // A sealing key file that is empty (or a newline) turns nothing off: it is refused.
    const std::string empty_key = tmp / "empty.key";
    std::ofstream(empty_key) << "\n";
    REQUIRE(::chmod(empty_key.c_str(), 0600) == 0);
    auto sealed_args = base;
    for (const std::string a : {"--seal-key-file", empty_key.c_str(), "token"}) {
        sealed_args.push_back(a);
    }
    const auto refused = oauth2cc_test::run_program(sealed_args, quiet_env);
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("sealing key is empty") != std::string::npos);
}

}  // TEST_SUITE("integration")
