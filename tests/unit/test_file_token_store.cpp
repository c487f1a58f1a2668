// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_file_token_store.cpp: store keys and file_token_store: private files, atomic
// replacement, corrupt files, refusals, the default directory, the lock across processes.
// SPDX-License-Identifier: MIT

#include "../support/test_helpers.hpp"
#include "../support/store_fakes.hpp"
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
using oauth2cc::error_kind;
using oauth2cc::file_token_store;
using oauth2cc::file_token_store_options;
using oauth2cc::token_manager;
using oauth2cc_test::mode_of;
using oauth2cc_test::read_file;
using oauth2cc_test::temp_dir;
using oauth2cc_test::thrown_by;
using oauth2cc_test::token_endpoint_fake;
using oauth2cc_test::names_in;
using oauth2cc_test::seconds_of;
using oauth2cc_test::seeded_policy;
using oauth2cc_test::store_client;
using oauth2cc_test::store_client_secret;
using oauth2cc_test::stored_entry;
using oauth2cc_test::write_file;
using wall = std::chrono::system_clock;

TEST_CASE("store_key: the SHA-256 of the cache key in hex, with no secret in it") {
    CHECK(oauth2cc::store_key("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(oauth2cc::store_key("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    token_manager m(store_client(), seeded_policy(), std::make_shared<token_endpoint_fake>());
    const std::string key = oauth2cc::store_key(m.cache_key());
    CHECK(key.size() == 64);
    CHECK(key.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(m.cache_key().find(store_client_secret) == std::string::npos);
    // Another scope set is another key; the secret changes nothing.
    auto other = store_client();
    other.scopes = {"post_echo"};
    CHECK(oauth2cc::store_key(token_manager(other).cache_key()) != key);
    auto rotated = store_client();
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
    auto e = stored_entry("tok-stored-1", issued, 3600s);
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
    store.save(key, stored_entry("tok-stored-2", issued, 60s));
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
    store.save(key, stored_entry("tok-whole", wall::now(), 3600s));
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
    store.save(key, stored_entry("tok-again", wall::now(), 3600s));
    CHECK(store.load(key)->access_token.reveal() == "tok-again");
}

TEST_CASE("file_token_store: refuses a directory or file that other users may use") {
    temp_dir tmp;
    const std::string dir = tmp / "cache";
    const std::string key = oauth2cc::store_key("k");
    {
        file_token_store store(dir);
        store.save(key, stored_entry("tok-1", wall::now(), 3600s));
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
