// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_store.cpp: store keys, file_token_store (private files, atomic replacement,
// corrupt files, refusals, the lock across processes) and token_manager with a store
// (stored tokens reused with the lead applied, saved after requests, dropped on
// invalidate, store failures).
// SPDX-License-Identifier: MIT

#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/detail/text/limits.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using oauth2cc::error_kind;
using oauth2cc::file_token_store;
using oauth2cc::file_token_store_options;
using oauth2cc::manual_clock;
using oauth2cc::stored_token;
using oauth2cc::token_manager;
using oauth2cc_test::log_watch;
using oauth2cc_test::mode_of;
using oauth2cc_test::read_file;
using oauth2cc_test::temp_dir;
using oauth2cc_test::thrown_by;
using oauth2cc_test::token_endpoint_fake;
using wall = std::chrono::system_clock;

namespace {

constexpr const char* client_secret_text = "Store-S3cret-never-on-disk";

oauth2cc::client_config config() {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/token";
    cfg.client_id = "reporting-job";
    cfg.client_secret = oauth2cc::secret{client_secret_text};
    cfg.scopes = {"read_date"};
    return cfg;
}

oauth2cc::refresh_policy seeded_policy() {
    oauth2cc::refresh_policy p;
    p.jitter_seed = 7;
    return p;
}

stored_token entry(const std::string& value, wall::time_point issued, wall::duration lifetime) {
    stored_token e;
    e.access_token = oauth2cc::secret{value};
    e.token_type = "Bearer";
    e.scope = "read_date";
    e.issued_at = issued;
    e.expires_at = issued + lifetime;
    return e;
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    REQUIRE(fd >= 0);
    REQUIRE(::fchmod(fd, mode) == 0);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

std::int64_t seconds_of(wall::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

/// A token_manager on a fake endpoint and a manual clock, keeping tokens in a store.
struct store_rig {
    std::shared_ptr<token_endpoint_fake> endpoint = std::make_shared<token_endpoint_fake>();
    std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
    log_watch logs;
    token_manager manager;
    std::string key;

    explicit store_rig(std::shared_ptr<oauth2cc::token_store> store)
        : manager(config(), seeded_policy(), endpoint, clock),
          key(oauth2cc::store_key(manager.cache_key())) {
        manager.set_logger(logs.sink());
        manager.set_store(std::move(store));
    }
    std::string token_text() { return manager.get()->access_token.reveal(); }
};

/// A store in memory whose operations can be made to fail.
struct scripted_store : oauth2cc::token_store {
    std::mutex m;
    std::optional<stored_token> held;
    bool fail_save = false, fail_remove = false;
    int saves = 0;
    std::optional<stored_token> load(const std::string&) override {
        std::lock_guard<std::mutex> lock(m);
        return held;
    }
    void save(const std::string&, const stored_token& e) override {
        std::lock_guard<std::mutex> lock(m);
        if (fail_save) throw oauth2cc::error(error_kind::config, "disk full (scripted)");
        held = e;
        ++saves;
    }
    void remove(const std::string&) override {
        std::lock_guard<std::mutex> lock(m);
        if (fail_remove) throw oauth2cc::error(error_kind::config, "read-only (scripted)");
        held.reset();
    }
};

}  // namespace

TEST_CASE("store_key: the SHA-256 of the cache key in hex, with no secret in it") {
    CHECK(oauth2cc::store_key("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(oauth2cc::store_key("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    token_manager m(config(), seeded_policy(), std::make_shared<token_endpoint_fake>());
    const std::string key = oauth2cc::store_key(m.cache_key());
    CHECK(key.size() == 64);
    CHECK(key.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(m.cache_key().find(client_secret_text) == std::string::npos);
    // Another scope set is another key; the secret changes nothing.
    auto other = config();
    other.scopes = {"post_echo"};
    CHECK(oauth2cc::store_key(token_manager(other).cache_key()) != key);
    auto rotated = config();
    rotated.client_secret = oauth2cc::secret{"another secret"};
    CHECK(oauth2cc::store_key(token_manager(rotated).cache_key()) == key);
}

TEST_CASE("file_token_store: saves and loads a token in a 0600 file inside a 0700 directory") {
    temp_dir tmp;
    const std::string dir = tmp / "a/b/oauth2cc";  // every missing level is made
    file_token_store store(dir);
    CHECK(store.directory() == dir);
    CHECK(mode_of(tmp / "a") == 0700);
    CHECK(mode_of(dir) == 0700);

    const std::string key = oauth2cc::store_key("k");
    CHECK_FALSE(store.load(key).has_value());
    const auto issued = wall::now();
    auto e = entry("tok-stored-1", issued, 3600s);
    e.extra = {{"instance_url", "https://eu.example.com"}};
    store.save(key, e);
    CHECK(names_in(dir) == std::set<std::string>{key + ".json"});  // no temporary left
    CHECK(mode_of(dir + "/" + key + ".json") == 0600);

    const auto back = store.load(key);
    REQUIRE(back.has_value());
    CHECK(back->access_token.reveal() == "tok-stored-1");
    CHECK(back->token_type == "Bearer");
    CHECK(back->scope == "read_date");
    CHECK(back->extra == e.extra);
    CHECK(seconds_of(back->issued_at) == seconds_of(issued));
    CHECK(seconds_of(back->expires_at) == seconds_of(issued + 3600s));

    // A save replaces the file as a whole.
    store.save(key, entry("tok-stored-2", issued, 60s));
    CHECK(store.load(key)->access_token.reveal() == "tok-stored-2");
    CHECK(names_in(dir) == std::set<std::string>{key + ".json"});

    store.remove(key);
    CHECK_FALSE(store.load(key).has_value());
    store.remove(key);  // removing nothing is fine
}

TEST_CASE("file_token_store: temporary files of dead processes are removed on open") {
    temp_dir tmp;
    const std::string dir = tmp / "cache";
    { file_token_store make(dir); }
    const std::string key = oauth2cc::store_key("k");
    // PID 2^30 + 7 does not exist (pid_max is at most 2^22); this process does.
    const std::string dead = "." + key + ".json.1073741831.0.tmp";
    const std::string alive = "." + key + ".json." + std::to_string(::getpid()) + ".0.tmp";
    write_file(dir + "/" + dead, "{\"half\":");
    write_file(dir + "/" + alive, "{\"half\":");
    write_file(dir + "/unrelated.tmp", "x");
    file_token_store store(dir);
    CHECK(names_in(dir) == std::set<std::string>{alive, "unrelated.tmp"});
}

TEST_CASE("file_token_store: a corrupt or truncated file is ignored and replaced") {
    temp_dir tmp;
    file_token_store store(tmp / "cache");
    const std::string key = oauth2cc::store_key("k");
    const std::string path = tmp / ("cache/" + key + ".json");
    store.save(key, entry("tok-whole", wall::now(), 3600s));
    const std::string whole = read_file(path);

    const std::vector<std::string> bad = {
        "",
        "garbage \x01\xff",
        whole.substr(0, whole.size() / 2),  // cut off mid-write
        "[]",
        R"({"format":"oauth2cc-token/9","access_token":"x"})",
        // Every field but a sane expiry.
        R"({"format":"oauth2cc-token/1","access_token":"x","token_type":"Bearer","scope":"",)"
        R"("issued_at":100,"expires_at":50,"extra":{}})",
        R"({"format":"oauth2cc-token/1","access_token":"a\nb","token_type":"Bearer","scope":"",)"
        R"("issued_at":100,"expires_at":200,"extra":{}})",
        std::string(2 * 1024 * 1024, '{'),
    };
    for (const auto& text : bad) {
        CAPTURE(text.substr(0, 80));
        write_file(path, text);
        CHECK_FALSE(store.load(key).has_value());
    }
    store.save(key, entry("tok-again", wall::now(), 3600s));
    CHECK(store.load(key)->access_token.reveal() == "tok-again");
}

TEST_CASE("file_token_store: refuses a directory or file that other users may use") {
    temp_dir tmp;
    const std::string dir = tmp / "cache";
    const std::string key = oauth2cc::store_key("k");
    {
        file_token_store store(dir);
        store.save(key, entry("tok-1", wall::now(), 3600s));
    }

    SUBCASE("a directory others may read, write or enter") {
        for (const mode_t mode : {0755, 0770, 0701, 0707}) {
            REQUIRE(::chmod(dir.c_str(), mode) == 0);
            const auto e = thrown_by([&] { file_token_store store(dir); });
            CHECK(e.kind() == error_kind::config);
            const std::string what = e.what();
            CHECK(what.find(dir) != std::string::npos);
            CHECK(what.find("chmod 700") != std::string::npos);
        }
        REQUIRE(::chmod(dir.c_str(), 0755) == 0);
        CHECK(std::string(thrown_by([&] { file_token_store store(dir); }).what()).find("0755") !=
              std::string::npos);
    }
    SUBCASE("a token file others may read or write") {
        file_token_store store(dir);
        const std::string path = dir + "/" + key + ".json";
        for (const mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
            REQUIRE(::chmod(path.c_str(), mode) == 0);
            const auto e = thrown_by([&] { store.load(key); });
            CHECK(e.kind() == error_kind::config);
            CHECK(std::string(e.what()).find("chmod 600") != std::string::npos);
        }
    }
    SUBCASE("a lock file others may use") {
        file_token_store store(dir);
        write_file(dir + "/" + key + ".lock", "", 0666);
        CHECK(thrown_by([&] { store.lock(key); }).kind() == error_kind::config);
    }
    SUBCASE("a symbolic link in place of the token file") {
        file_token_store store(dir);
        const std::string path = dir + "/" + key + ".json";
        write_file(tmp / "elsewhere", read_file(path));
        REQUIRE(::unlink(path.c_str()) == 0);
        REQUIRE(::symlink((tmp / "elsewhere").c_str(), path.c_str()) == 0);
        const auto e = thrown_by([&] { store.load(key); });
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("symbolic link") != std::string::npos);
    }
    SUBCASE("a directory owned by another user") {
        if (::geteuid() == 0) {
            REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
            const auto e = thrown_by([&] { file_token_store store(dir); });
            CHECK(std::string(e.what()).find("owned by user id 65534") != std::string::npos);
        } else {
            // Not root: the root directory is another user's.
            const auto e = thrown_by([&] { file_token_store store("/"); });
            CHECK(std::string(e.what()).find("owned by user id 0") != std::string::npos);
        }
    }
    SUBCASE("a path that is a file, and keys that are not plain names") {
        write_file(tmp / "plain", "x");
        CHECK(thrown_by([&] { file_token_store store(tmp / "plain"); }).kind() ==
              error_kind::config);
        file_token_store store(dir);
        for (const std::string& bad :
             std::vector<std::string>{"", "../escape", "a/b", std::string(129, 'a'), "x.json"}) {
            CHECK(thrown_by([&] { store.load(bad); }).kind() == error_kind::config);
        }
        file_token_store_options options;
        options.directory = dir;
        options.lock_wait = -1ms;
        CHECK(thrown_by([&] { file_token_store s(options); }).kind() == error_kind::config);
    }
}

TEST_CASE("file_token_store: the default directory follows XDG_CACHE_HOME, then HOME") {
    const auto saved = [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
    };
    const auto xdg = saved("XDG_CACHE_HOME");
    const auto home = saved("HOME");
    ::setenv("XDG_CACHE_HOME", "/srv/cache", 1);
    ::setenv("HOME", "/home/job", 1);
    CHECK(file_token_store::default_directory() == "/srv/cache/oauth2cc");
    ::setenv("XDG_CACHE_HOME", "relative/cache", 1);  // the specification says to ignore it
    CHECK(file_token_store::default_directory() == "/home/job/.cache/oauth2cc");
    ::unsetenv("XDG_CACHE_HOME");
    ::setenv("HOME", "/home/job/", 1);
    CHECK(file_token_store::default_directory() == "/home/job/.cache/oauth2cc");
    xdg ? ::setenv("XDG_CACHE_HOME", xdg->c_str(), 1) : ::unsetenv("XDG_CACHE_HOME");
    home ? ::setenv("HOME", home->c_str(), 1) : ::unsetenv("HOME");
}

TEST_CASE("file_token_store: the lock holds other processes off until it is released") {
    temp_dir tmp;
    file_token_store_options options;
    options.directory = tmp / "cache";
    options.lock_wait = 0ms;  // give up at once
    file_token_store store(options);
    const std::string key = oauth2cc::store_key("k");
    const std::string lock_path = options.directory + "/" + key + ".lock";
    { auto probe = store.lock(key); }  // makes the lock file

    // A child process holds the lock until told to let go.
    int to_child[2], from_child[2];
    REQUIRE(::pipe(to_child) == 0);
    REQUIRE(::pipe(from_child) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const int fd = ::open(lock_path.c_str(), O_RDWR);
        char c = ::flock(fd, LOCK_EX) == 0 ? 'L' : 'E';
        if (::write(from_child[1], &c, 1) != 1) ::_exit(2);
        if (::read(to_child[0], &c, 1) != 1) ::_exit(3);
        ::_exit(0);  // exiting releases the lock
    }
    char c = 0;
    REQUIRE(::read(from_child[0], &c, 1) == 1);
    REQUIRE(c == 'L');
    CHECK(store.lock(key) == nullptr);  // held elsewhere: gave up

    // A waiter with time to spare gets the lock once the child lets go.
    options.lock_wait = 30s;
    file_token_store patient(options);
    std::unique_ptr<oauth2cc::token_store_lock> got;
    std::thread waiter([&] { got = patient.lock(key); });
    REQUIRE(::write(to_child[1], "x", 1) == 1);
    waiter.join();
    CHECK(got != nullptr);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // Held here now, so another open of the file cannot take it either.
    CHECK(store.lock(key) == nullptr);
    got.reset();
    CHECK(store.lock(key) != nullptr);
    for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
}

TEST_CASE("token_manager with a store: a fresh stored token is used without a request") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    store_rig r(store);
    store->save(r.key, entry("tok-from-yesterday", wall::now() - 100s, 3600s));
    const auto t = r.manager.get();
    CHECK(t->access_token.reveal() == "tok-from-yesterday");
    CHECK(t->scope == "read_date");
    REQUIRE(t->expires_in.has_value());
    CHECK(*t->expires_in <= 3500s);
    CHECK(*t->expires_in >= 3490s);
    CHECK(r.endpoint->requests() == 0);
    const auto stats = r.manager.stats();
    CHECK(stats.store_loads == 1);
    CHECK(stats.fetches == 0);
    REQUIRE(r.logs.wait_successes(1));
    CHECK(r.logs.text().find("from the token store") != std::string::npos);
}

TEST_CASE("token_manager with a store: a stored lifetime is clamped to a year, as expires_in is") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    store_rig r(store);
    // A planted entry that claims centuries: served for a year at most.
    store->save(r.key, entry("tok-planted", wall::now() - 100s, 228 * 365 * 24h));
    const auto t = r.manager.get();
    CHECK(t->access_token.reveal() == "tok-planted");
    REQUIRE(t->expires_in.has_value());
    CHECK(*t->expires_in <= oauth2cc::detail::max_token_lifetime);
    CHECK(*t->expires_in >= oauth2cc::detail::max_token_lifetime - 200s);
    CHECK(r.endpoint->requests() == 0);
}

TEST_CASE("token_manager with a store: the lead applies to the stored lifetime") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    store_rig r(store);
    // An hour's token has a 360 s lead: with 300 s left it is not taken...
    store->save(r.key, entry("tok-old", wall::now() - 3300s, 3600s));
    CHECK(r.token_text() == "tok-1");
    CHECK(r.endpoint->requests() == 1);
    // ...and the new token replaced it in the store, with the wall-clock expiry.
    const auto saved = store->load(r.key);
    REQUIRE(saved.has_value());
    CHECK(saved->access_token.reveal() == "tok-1");
    CHECK(saved->expires_at - saved->issued_at == 3600s);
    CHECK(saved->expires_at > wall::now() + 3590s);

    // With 400 s left it is taken, and refreshed 40 s later.
    store_rig second(store);
    store->save(second.key, entry("tok-young", wall::now() - 3200s, 3600s));
    CHECK(second.token_text() == "tok-young");
    CHECK(second.endpoint->requests() == 0);
    second.clock->advance(45s);
    CHECK(second.token_text() == "tok-young");  // still valid: served while refreshing
    REQUIRE(second.logs.wait_successes(2));
    CHECK(second.endpoint->requests() == 1);
    CHECK(second.token_text() == "tok-1");
    CHECK(store->load(second.key)->access_token.reveal() == "tok-1");
}

TEST_CASE("token_manager with a store: an expired or corrupt entry leads to one request") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    SUBCASE("expired") {
        store_rig r(store);
        store->save(r.key, entry("tok-expired", wall::now() - 7200s, 3600s));
        CHECK(r.token_text() == "tok-1");
        CHECK(r.endpoint->requests() == 1);
        CHECK(store->load(r.key)->access_token.reveal() == "tok-1");
    }
    SUBCASE("corrupt") {
        store_rig r(store);
        write_file(tmp / ("cache/" + r.key + ".json"), "{\"format\":\"oauth2cc-tok");
        CHECK(r.token_text() == "tok-1");
        CHECK(r.endpoint->requests() == 1);
        CHECK(store->load(r.key)->access_token.reveal() == "tok-1");
    }
}

TEST_CASE("token_manager with a store: what is written holds the token, never the secret") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    store_rig r(store);
    const auto before = wall::now();
    CHECK(r.token_text() == "tok-1");
    const auto after = wall::now();
    const std::string text = read_file(tmp / ("cache/" + r.key + ".json"));
    CHECK(text.find("tok-1") != std::string::npos);
    CHECK(text.find(client_secret_text) == std::string::npos);
    CHECK(text.find("Store-S3cret") == std::string::npos);
    const auto saved = store->load(r.key);
    CHECK(seconds_of(saved->issued_at) >= seconds_of(before));
    CHECK(seconds_of(saved->issued_at) <= seconds_of(after));
    for (const auto& name : names_in(tmp / "cache")) {
        CHECK(read_file(tmp / ("cache/" + name)).find(client_secret_text) == std::string::npos);
    }
}

TEST_CASE("token_manager with a store: 8 managers sharing it make 1 request") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    auto endpoint = std::make_shared<token_endpoint_fake>();
    endpoint->close_gate();  // the first request waits while the others look and lock
    std::vector<std::unique_ptr<token_manager>> managers;
    for (int i = 0; i < 8; ++i) {
        managers.push_back(std::make_unique<token_manager>(config(), seeded_policy(), endpoint));
        managers.back()->set_store(store);
    }
    std::vector<std::string> got(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] { got[i] = managers[i]->get()->access_token.reveal(); });
    }
    REQUIRE(endpoint->wait_for_requests(1));
    endpoint->open_gate();
    for (auto& t : threads) t.join();
    CHECK(endpoint->requests() == 1);
    CHECK(std::set<std::string>(got.begin(), got.end()) == std::set<std::string>{"tok-1"});
    std::uint64_t loads = 0;
    for (auto& m : managers) loads += m->stats().store_loads;
    CHECK(loads == 7);
}

TEST_CASE("token_manager with a store: invalidate drops the stored token it was refused with") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    store_rig r(store);
    auto first = r.manager.get();
    CHECK(first->access_token.reveal() == "tok-1");
    r.manager.invalidate(first.get());
    CHECK_FALSE(store->load(r.key).has_value());
    CHECK(r.token_text() == "tok-2");
    CHECK(store->load(r.key)->access_token.reveal() == "tok-2");

    // Another process has stored a newer token by the time this one invalidates: it stays.
    auto second = r.manager.get();
    store->save(r.key, entry("tok-from-elsewhere", wall::now(), 3600s));
    r.clock->advance(61s);  // an isolated rejection: no backoff before the next token
    r.manager.invalidate(second.get());
    CHECK(store->load(r.key)->access_token.reveal() == "tok-from-elsewhere");
    CHECK(r.token_text() == "tok-from-elsewhere");
    CHECK(r.endpoint->requests() == 2);
}

TEST_CASE("token_manager with a store: a dropped token is not taken back from the store") {
    auto store = std::make_shared<scripted_store>();
    store->fail_remove = true;
    store_rig r(store);
    auto first = r.manager.get();
    CHECK(first->access_token.reveal() == "tok-1");
    r.manager.invalidate(first.get());
    CHECK(r.manager.stats().store_failures == 1);
    CHECK(store->load(r.key)->access_token.reveal() == "tok-1");  // could not be removed
    CHECK(r.token_text() == "tok-2");                             // but is not reused
    CHECK(r.endpoint->requests() == 2);
}

TEST_CASE("token_manager with a store: a failed save is logged and the token still served") {
    auto store = std::make_shared<scripted_store>();
    store->fail_save = true;
    store_rig r(store);
    CHECK(r.token_text() == "tok-1");
    CHECK(r.manager.stats().store_failures == 1);
    REQUIRE(r.logs.wait_successes(1));  // the line follows the token
    CAPTURE(r.logs.text());
    CHECK(r.logs.text().find("; not stored: ") != std::string::npos);
    CHECK(r.logs.text().find("disk full (scripted)") != std::string::npos);
    CHECK(r.logs.lines().at(0).first == oauth2cc::log_level::warning);
    CHECK(r.logs.text().find("tok-1") == std::string::npos);
}

TEST_CASE("token_manager with a store: a refusing store fails get() and makes no request") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    store_rig r(store);
    store->save(r.key, entry("tok-exposed", wall::now(), 3600s));
    REQUIRE(::chmod((tmp / ("cache/" + r.key + ".json")).c_str(), 0644) == 0);
    const auto e = thrown_by([&] { r.manager.get(); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("chmod 600") != std::string::npos);
    CHECK(std::string(e.what()).find("tok-exposed") == std::string::npos);
    CHECK(r.endpoint->requests() == 0);
    CHECK(r.manager.stats().store_failures == 1);
    CHECK(r.manager.stats().fetches == 0);
}
