// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_manager_live.cpp: token_manager against oidc-provider with short-lived
// tokens: one request for many cold callers, counted at the server, and background
// refresh across several lifetimes with no caller waiting.
// SPDX-License-Identifier: MIT

#include "../support/peer_process.hpp"
#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/detail/crypto/seal.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

oauth2cc::client_config live_config(const oauth2cc_test::peer_process& peer) {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = peer.info().at("token_endpoint").get<std::string>();
    cfg.client_id = "basic-client";
    cfg.client_secret = oauth2cc::secret{"basic-secret"};
    cfg.scopes = {"read_date"};
    return cfg;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("token_manager live: 32 cold callers make one request at oidc-provider") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    oauth2cc::token_manager tokens(live_config(*peer));
    std::vector<std::string> got(32);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                got[i] = tokens.get()->access_token.reveal();
            } catch (const oauth2cc::error& e) {
                got[i] = std::string("error: ") + e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(std::set<std::string>(got.begin(), got.end()).size() == 1);
    CHECK(got[0].rfind("error", 0) != 0);
    const auto counts = peer->harness_stats();
    CHECK(counts.at("token_requests") == 1);
    CHECK(counts.at("token_success") == 1);
    CHECK(tokens.authorization_header() == "Bearer " + got[0]);
}

TEST_CASE("token_manager live: 50 callers over 10 resources make 10 grants, each its own aud") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    oauth2cc::token_manager tokens(live_config(*peer));
    std::vector<oauth2cc::token_params> keys;
    for (int i = 0; i < 10; ++i) {
        auto p = oauth2cc::params_of(tokens.config());
        p.resources = {"https://api-" + std::to_string(i) + ".example.com/"};
        keys.push_back(p);
    }
    std::vector<std::string> got(50);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                got[i] = tokens.get(keys[i % keys.size()])->access_token.reveal();
            } catch (const oauth2cc::error& e) {
                got[i] = std::string("error: ") + e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    const auto counts = peer->harness_stats();
    CHECK(counts.at("token_requests") == 10);
    CHECK(counts.at("token_success") == 10);
    CHECK(tokens.entries() == 11);
    for (std::size_t i = 0; i < got.size(); ++i) {
        // A JWT access token (RFC 9068) whose aud is the resource asked for.
        const auto first = got[i].find('.');
        const auto second = got[i].find('.', first + 1);
        REQUIRE(second != std::string::npos);
        const auto payload = oauth2cc::detail::base64url_decode(
            std::string_view(got[i]).substr(first + 1, second - first - 1));
        REQUIRE(payload);
        const auto claims = nlohmann::json::parse(*payload);
        const auto aud = claims.at("aud");
        const std::string want = keys[i % keys.size()].resources[0];
        CHECK((aud.is_string() ? aud.get<std::string>() : aud.at(0).get<std::string>()) == want);
        CHECK(got[i] == got[i % keys.size()]);  // one token per entry
    }
}

TEST_CASE("token_manager live: background refresh across lifetimes of a 4 s token") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "4"});
    oauth2cc_test::log_watch logs;  // outlives the manager that logs to it
    oauth2cc::token_manager tokens(live_config(*peer));
    tokens.set_logger(logs.sink());
    tokens.start_background_refresh();
    REQUIRE(logs.wait_successes(1));
    std::set<std::string> seen;
    // Lifetime 4 s, lead 2 s: a refresh every 2 s; wait for four of them.
    for (int k = 2; k <= 5; ++k) {
        seen.insert(tokens.get()->access_token.reveal());
        REQUIRE(logs.wait_successes(k));
        seen.insert(tokens.get()->access_token.reveal());
    }
    tokens.stop();
    const auto st = tokens.stats();
    CHECK(st.waits == 0);
    CHECK(st.failures == 0);
    CHECK(st.fetches >= 5);
    CHECK(seen.size() >= 4);
    CHECK(peer->harness_stats().at("token_success") == st.successes);
    for (const auto& [level, line] : logs.lines())
        CHECK(line.find("basic-secret") == std::string::npos);
}

TEST_CASE("token_manager live: revoke() at oidc-provider, then introspection says inactive") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "600"});
    oauth2cc_test::temp_dir dir;
    { std::ofstream(dir / "secret") << "basic-secret\n"; }
    oauth2cc::client_config cfg = live_config(*peer);
    cfg.client_secret = oauth2cc::secret();
    cfg.client_secret_file = dir / "secret";
    // The revocation endpoint is the one the issuer's metadata names.
    cfg.issuer = peer->info().at("issuer").get<std::string>();
    oauth2cc::client_config rs;
    rs.client_id = "resource-server";
    rs.client_secret_file = dir / "rs-secret";
    { std::ofstream(dir / "rs-secret") << "resource-server-secret"; }
    const std::string introspection = peer->info().at("introspection_endpoint").get<std::string>();
    const auto active = [&](const std::shared_ptr<const oauth2cc::token>& t) {
        return oauth2cc::introspect(rs, introspection, t->access_token.reveal()).active;
    };

    oauth2cc::token_manager tokens(cfg);
    auto writer = oauth2cc::params_of(cfg);
    writer.scopes = {"post_echo"};
    const auto read = tokens.get();
    const auto write = tokens.get(writer);
    CHECK(active(read));
    CHECK(active(write));
    tokens.revoke();
    CHECK_FALSE(active(read));
    CHECK_FALSE(active(write));
    // Forgotten: the next get() is a new token, which oauth2cc::revoke() ends in turn.
    const auto again = tokens.get();
    CHECK(again->access_token.reveal() != read->access_token.reveal());
    CHECK(active(again));
    oauth2cc::revoke(cfg, again->access_token);
    CHECK_FALSE(active(again));
    CHECK(peer->harness_stats().at("token_success") == 3);
}

}  // TEST_SUITE("integration")
