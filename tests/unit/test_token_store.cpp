// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_store.cpp: token_manager with a token_store: stored tokens reused with the
// lead applied and the lifetime clamped, saved after requests, dropped on invalidate, and
// store failures.
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
using oauth2cc::manual_clock;
using oauth2cc::token_manager;
using oauth2cc_test::log_watch;
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

namespace {

/// A token_manager on a fake endpoint and a manual clock, keeping tokens in a store.
struct store_rig {
    std::shared_ptr<token_endpoint_fake> endpoint = std::make_shared<token_endpoint_fake>();
    std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
    log_watch logs;
    token_manager manager;
    std::string key;

    explicit store_rig(std::shared_ptr<oauth2cc::token_store> store)
        : manager(store_client(), seeded_policy(), endpoint, clock),
          key(oauth2cc::store_key(manager.cache_key())) {
        manager.set_logger(logs.sink());
        manager.set_store(std::move(store));
    }
    std::string token_text() { return manager.get()->access_token.reveal(); }
};

}  // namespace

TEST_CASE("token_manager with a store: a fresh stored token is used without a request") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    store_rig r(store);
    store->save(r.key, stored_entry("tok-from-yesterday", wall::now() - 100s, 3600s));
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
    store->save(r.key, stored_entry("tok-planted", wall::now() - 100s, 228 * 365 * 24h));
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
    store->save(r.key, stored_entry("tok-old", wall::now() - 3300s, 3600s));
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
    store->save(second.key, stored_entry("tok-young", wall::now() - 3200s, 3600s));
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
        store->save(r.key, stored_entry("tok-expired", wall::now() - 7200s, 3600s));
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
    CHECK(text.find(store_client_secret) == std::string::npos);
    CHECK(text.find("Store-S3cret") == std::string::npos);
    const auto saved = store->load(r.key);
    CHECK(seconds_of(saved->issued_at) >= seconds_of(before));
    CHECK(seconds_of(saved->issued_at) <= seconds_of(after));
    for (const auto& name : names_in(tmp / "cache")) {
        CHECK(read_file(tmp / ("cache/" + name)).find(store_client_secret) == std::string::npos);
    }
}

TEST_CASE("token_manager with a store: 8 managers sharing it make 1 request") {
    temp_dir tmp;
    auto store = std::make_shared<file_token_store>(tmp / "cache");
    auto endpoint = std::make_shared<token_endpoint_fake>();
    endpoint->close_gate();  // the first request waits while the others look and lock
    std::vector<std::unique_ptr<token_manager>> managers;
    for (int i = 0; i < 8; ++i) {
        managers.push_back(
            std::make_unique<token_manager>(store_client(), seeded_policy(), endpoint));
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
    store->save(r.key, stored_entry("tok-from-elsewhere", wall::now(), 3600s));
    r.clock->advance(61s);  // an isolated rejection: no backoff before the next token
    r.manager.invalidate(second.get());
    CHECK(store->load(r.key)->access_token.reveal() == "tok-from-elsewhere");
    CHECK(r.token_text() == "tok-from-elsewhere");
    CHECK(r.endpoint->requests() == 2);
}

TEST_CASE("token_manager with a store: a dropped token is not taken back from the store") {
    auto store = std::make_shared<oauth2cc_test::scripted_store>();
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
    auto store = std::make_shared<oauth2cc_test::scripted_store>();
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
    store->save(r.key, stored_entry("tok-exposed", wall::now(), 3600s));
    REQUIRE(::chmod((tmp / ("cache/" + r.key + ".json")).c_str(), 0644) == 0);
    const auto e = thrown_by([&] { r.manager.get(); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("chmod 600") != std::string::npos);
    CHECK(std::string(e.what()).find("tok-exposed") == std::string::npos);
    CHECK(r.endpoint->requests() == 0);
    CHECK(r.manager.stats().store_failures == 1);
    CHECK(r.manager.stats().fetches == 0);
}
