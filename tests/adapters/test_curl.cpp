// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_curl.cpp: oauth2cc/curl.hpp against the scenario's API (a resource server that checks
// each token by introspection at oidc-provider): Bearer and DPoP, with and without the
// server's nonce, one retry on 401, and a redirect to another origin without the token.
// SPDX-License-Identifier: MIT

#include "../support/local_server.hpp"
#include "../support/peer_process.hpp"
#include "../../examples/resource_server/api_server.hpp"

#include <oauth2cc/curl.hpp>
#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <string>

using nlohmann::json;
using oauth2cc::token_manager;
using oauth2cc_test::peer_process;

namespace {

peer_process& authorization_server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "3600"});
    return *peer;
}

oauth2cc::client_config client(const std::string& id, const std::string& secret) {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = authorization_server().info().at("token_endpoint").get<std::string>();
    cfg.client_id = id;
    cfg.client_secret = oauth2cc::secret{secret};
    cfg.scopes = {"read_date"};
    return cfg;
}

std::unique_ptr<oauth2cc_examples::api_server> start_api(
    oauth2cc_examples::api_server_options options = {}) {
    auto api = std::make_unique<oauth2cc_examples::api_server>(
        authorization_server().info().at("introspection_endpoint").get<std::string>(),
        client("resource-server", "resource-server-secret"), std::move(options));
    api->start();
    return api;
}

std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* into) {
    static_cast<std::string*>(into)->append(data, size * count);
    return size * count;
}

// An easy handle that keeps the bodies it receives.
struct easy_handle {
    CURL* curl = curl_easy_init();
    std::string body;
    easy_handle() {
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
    }
    ~easy_handle() { curl_easy_cleanup(curl); }
    easy_handle(const easy_handle&) = delete;
    easy_handle& operator=(const easy_handle&) = delete;
    long status() const {
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        return code;
    }
};

}  // namespace

TEST_SUITE("adapters") {

TEST_CASE("curl: perform() makes the call with a Bearer token, one token for many calls") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto api = start_api();
    token_manager tokens(client("read-client", "read-secret"));
    easy_handle easy;
    for (int i = 0; i < 5; ++i) {
        easy.body.clear();
        REQUIRE(oauth2cc::perform(easy.curl, tokens, "GET", api->url() + "/api/date") == CURLE_OK);
        CHECK(easy.status() == 200);
        CHECK(json::parse(easy.body).at("date").get<std::string>().size() == 10);
    }
    CHECK(tokens.stats().fetches == 1);
    CHECK(api->refused() == 0);

    // The request's own headers go along; the token's place is the manager's.
    easy.body.clear();
    curl_easy_setopt(easy.curl, CURLOPT_POSTFIELDS, R"({"title":"t","body":"b"})");
    REQUIRE(oauth2cc::perform(easy.curl, tokens, "POST", api->url() + "/api/echo",
                              {{"Content-Type", "application/json"}}, std::nullopt) == CURLE_OK);
    CHECK(easy.status() == 403);  // read-client lacks post_echo: the 403 comes back as it came
    CHECK(tokens.stats().fetches == 1);
    CHECK_THROWS_AS(oauth2cc::perform(easy.curl, tokens, "GET", api->url() + "/api/date",
                                      {{"Authorization", "Bearer mine"}}, std::nullopt),
                    oauth2cc::error);
    CHECK_THROWS_AS(oauth2cc::perform(easy.curl, tokens, "GET", api->url() + "/api/date",
                                      {{"X-Note", "a\r\nInjected: yes"}}, std::nullopt),
                    oauth2cc::error);
    CHECK_THROWS_AS(oauth2cc::perform(easy.curl, tokens, "GET", "http://api.example.com/x"),
                    oauth2cc::error);  // plain http:// off loopback: the token stays home
}

TEST_CASE("curl: a revoked token gives 401, one retry with a new token, 200") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto api = start_api();
    token_manager tokens(client("read-client", "read-secret"));
    easy_handle easy;
    REQUIRE(oauth2cc::perform(easy.curl, tokens, "GET", api->url() + "/api/date") == CURLE_OK);
    REQUIRE(easy.status() == 200);
    const std::string first = tokens.get()->access_token.reveal();
    REQUIRE(oauth2cc_test::revoke_token(authorization_server(), first));
    const int before = api->requests();
    easy.body.clear();
    REQUIRE(oauth2cc::perform(easy.curl, tokens, "GET", api->url() + "/api/date") == CURLE_OK);
    CHECK(easy.status() == 200);
    CHECK(api->requests() - before == 2);  // the 401, then the retry
    CHECK(tokens.stats().fetches == 2);
    CHECK(tokens.get()->access_token.reveal() != first);
}

TEST_CASE("curl: an API that always answers 401 sees exactly two attempts") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    std::atomic<int> attempts{0};
    oauth2cc_test::local_server api;
    api.server().Get("/api/date", [&](const httplib::Request&, httplib::Response& res) {
        ++attempts;
        res.status = 401;
        res.set_header("WWW-Authenticate", R"(Bearer error="invalid_token")");
    });
    api.start();
    token_manager tokens(client("read-client", "read-secret"));
    easy_handle easy;
    REQUIRE(oauth2cc::perform(easy.curl, tokens, "GET", api.url() + "/api/date") == CURLE_OK);
    CHECK(easy.status() == 401);
    CHECK(attempts == 2);
    CHECK(tokens.stats().fetches == 2);
}

TEST_CASE("curl: DPoP, with and without the server's nonce") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    for (const bool nonce : {false, true}) {
        CAPTURE(nonce);
        oauth2cc_examples::api_server_options options;
        options.require_dpop_nonce = nonce;
        const auto api = start_api(options);
        auto cfg = client("dpop-client", "dpop-secret");
        cfg.dpop_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
        token_manager tokens(cfg);
        easy_handle easy;
        for (int i = 0; i < 3; ++i) {
            easy.body.clear();
            REQUIRE(oauth2cc::perform(easy.curl, tokens, "GET", api->url() + "/api/date") ==
                    CURLE_OK);
            CHECK(easy.status() == 200);
        }
        CHECK(tokens.get()->token_type == "DPoP");
        CHECK(tokens.stats().fetches == 1);
        // Without a nonce every proof passes; with one, the first is refused for it, once.
        CHECK(api->refused() == (nonce ? 1 : 0));

        // attach_token(): the headers for one request, and the caller's beside them.
        easy.body.clear();
        const std::string url = api->url() + "/api/date";
        auto headers = oauth2cc::attach_token(easy.curl, tokens, "GET", url);
        headers.add("Accept", "application/json");
        CHECK_THROWS_AS(headers.add("DPoP", "x"), oauth2cc::error);
        curl_easy_setopt(easy.curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy.curl, CURLOPT_CUSTOMREQUEST, "GET");
        REQUIRE(curl_easy_perform(easy.curl) == CURLE_OK);
        curl_easy_setopt(easy.curl, CURLOPT_HTTPHEADER, nullptr);
        CHECK(easy.status() == 200);
    }
}

TEST_CASE("curl: a redirect to another origin never carries the token") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    oauth2cc_test::local_server other;
    std::string other_auth = "unset";
    other.server().Get("/landing", [&](const httplib::Request& req, httplib::Response& res) {
        other_auth = req.get_header_value("Authorization");
        res.set_content("landed", "text/plain");
    });
    other.start();
    oauth2cc_test::local_server origin;
    std::string origin_auth;
    origin.server().Get("/start", [&](const httplib::Request& req, httplib::Response& res) {
        origin_auth = req.get_header_value("Authorization");
        res.set_redirect(other.url() + "/landing", 302);
    });
    origin.start();
    token_manager tokens(client("read-client", "read-secret"));
    easy_handle easy;
    curl_easy_setopt(easy.curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy.curl, CURLOPT_UNRESTRICTED_AUTH, 1L);  // perform() turns it off
    REQUIRE(oauth2cc::perform(easy.curl, tokens, "GET", origin.url() + "/start") == CURLE_OK);
    CHECK(easy.status() == 200);
    CHECK(easy.body == "landed");
    CHECK(origin_auth.rfind("Bearer ", 0) == 0);
    CHECK(other_auth.empty());  // the other origin got no token
}

}  // TEST_SUITE("adapters")
