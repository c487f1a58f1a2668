// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_authorized_client.cpp: authorized_client against the scenario's API, a resource
// server that checks every token by introspection at oidc-provider: scopes, revocation,
// one retry on 401, many threads, and redirects that must not carry the token.
// SPDX-License-Identifier: MIT

#include "../support/local_server.hpp"
#include "../support/peer_process.hpp"
#include "../../examples/resource_server/api_server.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using nlohmann::json;
using oauth2cc::authorized_client;
using oauth2cc::token_manager;
using oauth2cc_test::peer_process;
using oauth2cc_examples::api_server;

namespace {

peer_process& authorization_server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "3600"});
    return *peer;
}

oauth2cc::client_config client(const peer_process& peer, const std::string& id,
                               const std::string& secret, std::vector<std::string> scopes = {}) {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = peer.info().at("token_endpoint").get<std::string>();
    cfg.client_id = id;
    cfg.client_secret = oauth2cc::secret{secret};
    cfg.scopes = std::move(scopes);
    return cfg;
}

std::unique_ptr<api_server> start_api(const peer_process& peer) {
    auto api =
        std::make_unique<api_server>(peer.info().at("introspection_endpoint").get<std::string>(),
                                     client(peer, "resource-server", "resource-server-secret"));
    api->start();
    return api;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("authorized_client: scopes decide what each client may call") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    auto api = start_api(peer);

    token_manager read_tokens(client(peer, "read-client", "read-secret", {"read_date"}));
    authorized_client reader(api->url(), read_tokens);
    const auto date = reader.get("/api/date");
    CHECK(date.status == 200);
    CHECK(json::parse(date.body).at("date").get<std::string>().size() == 10);

    const auto refused = reader.post("/api/echo", R"({"title":"t","body":"b"})");
    CHECK(refused.status == 403);
    const auto challenge = oauth2cc::find_bearer_challenge(refused);
    REQUIRE(challenge);
    CHECK(challenge->error == "insufficient_scope");
    CHECK(challenge->scope == "post_echo");
    CHECK(read_tokens.stats().fetches == 1);  // a 403 is not a reason for a new token

    token_manager write_tokens(
        client(peer, "write-client", "write-secret", {"read_date", "post_echo"}));
    authorized_client writer(api->url(), write_tokens);
    const auto echoed = writer.post("/api/echo", R"({"title":"hello","body":"world"})");
    CHECK(echoed.status == 200);
    CHECK(json::parse(echoed.body) == json{{"title", "hello"}, {"body", "world"}});
    CHECK(writer.post("/api/echo", R"({"title":1})").status == 400);
}

TEST_CASE("authorized_client: step_up_scope answers insufficient_scope with a wider token") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    auto api = start_api(peer);
    // The client may have post_echo, but asks for read_date alone until an API needs more.
    token_manager tokens(client(peer, "basic-client", "basic-secret", {"read_date"}));
    oauth2cc::client_options options;
    options.step_up_scope = true;
    authorized_client caller(api->url(), tokens, options);
    CHECK(caller.get("/api/date").status == 200);
    const auto echoed = caller.post("/api/echo", R"({"title":"up","body":"scope"})");
    CHECK(echoed.status == 200);
    CHECK(tokens.stats().fetches == 2);  // the first token, and the one for both scopes
    CHECK(tokens.entries() == 2);
    auto both = oauth2cc::params_of(tokens.config());
    both.scopes = {"post_echo", "read_date"};
    CHECK(tokens.get(both)->scope == "read_date post_echo");
    CHECK(caller.post("/api/echo", R"({"title":"again","body":"b"})").status == 200);
    CHECK(caller.get("/api/date").status == 200);
    CHECK(tokens.stats().fetches == 2);  // the wider token is kept

    // Without step-up, the 403 comes back as it came.
    authorized_client plain(api->url(), tokens);
    CHECK(plain.post("/api/echo", R"({"title":"t","body":"b"})").status == 403);
}

TEST_CASE("authorized_client: a revoked token gives 401, one retry with a new token, 200") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    auto api = start_api(peer);
    token_manager tokens(client(peer, "read-client", "read-secret", {"read_date"}));
    authorized_client reader(api->url(), tokens);
    REQUIRE(reader.get("/api/date").status == 200);
    const std::string first = tokens.get()->access_token.reveal();

    REQUIRE(oauth2cc_test::revoke_token(peer, first));
    const int before = api->requests();
    const auto res = reader.get("/api/date");
    CHECK(res.status == 200);
    CHECK(api->requests() - before == 2);  // the 401, then the retry
    CHECK(api->refused() == 1);
    CHECK(tokens.stats().fetches == 2);
    CHECK(tokens.get()->access_token.reveal() != first);
}

TEST_CASE("authorized_client: an API that always answers 401 sees exactly two attempts") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    std::atomic<int> attempts{0};
    oauth2cc_test::local_server api;
    api.server().Get("/api/date", [&](const httplib::Request&, httplib::Response& res) {
        ++attempts;
        res.status = 401;
        res.set_header("WWW-Authenticate", R"(Bearer realm="always")");
    });
    api.start();
    token_manager tokens(client(peer, "read-client", "read-secret", {"read_date"}));
    authorized_client reader(api.url(), tokens);
    const auto res = reader.get("/api/date");
    CHECK(res.status == 401);
    CHECK(attempts == 2);
    CHECK(tokens.stats().fetches == 2);
}

TEST_CASE("authorized_client: 8 threads x 500 calls share one token and the connections") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    auto api = start_api(peer);
    peer.reset_harness_stats();
    token_manager tokens(client(peer, "read-client", "read-secret", {"read_date"}));
    authorized_client reader(api->url(), tokens);
    std::atomic<int> ok{0}, not_ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                try {
                    (reader.get("/api/date").status == 200 ? ok : not_ok)++;
                } catch (const oauth2cc::error&) {
                    ++not_ok;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(ok == 4000);
    CHECK(not_ok == 0);
    // The token lives an hour, far longer than the run: one token request in all.
    CHECK(peer.harness_stats().at("token_requests") == 1);
    CHECK(tokens.stats().fetches == 1);
    CHECK(api->tokens_accepted() == 1);
}

TEST_CASE("authorized_client: a redirect to another origin never carries the token") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    std::mutex m;
    std::vector<std::string> authorization_seen;  // by the other origin
    oauth2cc_test::local_server other;
    other.server().Get("/landing", [&](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(m);
        authorization_seen.push_back(req.get_header_value("Authorization"));
        res.set_content("landed", "text/plain");
    });
    other.start();
    std::atomic<int> same_origin_with_token{0};
    oauth2cc_test::local_server origin;
    origin.server().Get("/away", [&](const httplib::Request&, httplib::Response& res) {
        res.set_redirect(other.url() + "/landing", 302);
    });
    origin.server().Get("/here", [](const httplib::Request&, httplib::Response& res) {
        res.set_redirect("/final", 307);
    });
    origin.server().Get("/final", [&](const httplib::Request& req, httplib::Response& res) {
        if (req.get_header_value("Authorization").rfind("Bearer ", 0) == 0)
            ++same_origin_with_token;
        res.set_content("final", "text/plain");
    });
    origin.start();

    token_manager tokens(client(peer, "read-client", "read-secret", {"read_date"}));
    SUBCASE("not followed by default") {
        authorized_client api(origin.url(), tokens);
        const auto res = api.get("/away");
        CHECK(res.status == 302);
        CHECK(authorization_seen.empty());
    }
    SUBCASE("followed when asked, without the token") {
        oauth2cc::client_options options;
        options.follow_redirects = true;
        authorized_client api(origin.url(), tokens, options);
        const auto res = api.get("/away");
        CHECK(res.status == 200);
        CHECK(res.body == "landed");
        REQUIRE(authorization_seen.size() == 1);
        CHECK(authorization_seen[0].empty());
        // Within the origin the token goes along.
        CHECK(api.get("/here").body == "final");
        CHECK(same_origin_with_token == 1);
    }
}

}  // TEST_SUITE("integration")
