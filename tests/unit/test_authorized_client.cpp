// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_authorized_client.cpp: authorized_client with fake endpoints: the Bearer header,
// the one retry on 401, what is refused before sending, and redirects.
// SPDX-License-Identifier: MIT

#include "../support/test_helpers.hpp"
#include "../support/fake_transport.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

using oauth2cc::authorized_client;
using oauth2cc::error;
using oauth2cc::error_kind;
using oauth2cc::http_request;
using oauth2cc::http_response;
using oauth2cc::token_manager;
using oauth2cc_test::fake_transport;
using oauth2cc_test::header_of;
using oauth2cc_test::token_endpoint_fake;
using oauth2cc_test::thrown_by;

namespace {

oauth2cc::client_config config() {
    return oauth2cc_test::secret_client("api-client", "the-secret");
}

struct rig {
    std::shared_ptr<token_endpoint_fake> endpoint = std::make_shared<token_endpoint_fake>();
    token_manager tokens{config(), {}, endpoint};
    std::shared_ptr<fake_transport> api;
    explicit rig(fake_transport::responder answer)
        : api(std::make_shared<fake_transport>(std::move(answer))) {}
    authorized_client client(oauth2cc::client_options options = {}) {
        return authorized_client("https://api.example.com/v1/", tokens, options, api);
    }
};

http_response status(int code, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return http_response{code, std::move(headers), ""};
}

}  // namespace

TEST_CASE("authorized_client: every call carries the Bearer token to base URL + path") {
    rig r([](const http_request&) { return status(200); });
    auto api = r.client();
    CHECK(api.base_url() == "https://api.example.com/v1");
    api.get(oauth2cc::with_query("/date", {{"tz", "Europe/Paris"}, {"q", "a b&c"}}));
    api.post("/echo", R"({"a":1})");
    api.put("/item/1", "x", "text/plain", {{"X-Trace", "7"}});
    api.patch("/item/1", "{}");
    api.del("/item/1");
    REQUIRE(r.api->requests.size() == 5);
    const auto& get = r.api->requests[0];
    CHECK(get.method == "GET");
    CHECK(get.url == "https://api.example.com/v1/date?tz=Europe%2FParis&q=a%20b%26c");
    CHECK(header_of(get, "Authorization") == "Bearer tok-1");
    CHECK(header_of(get, "User-Agent") == "oauth2cc/" OAUTH2CC_VERSION_STRING);
    CHECK(r.api->requests[1].method == "POST");
    CHECK(r.api->requests[1].body == R"({"a":1})");
    CHECK(header_of(r.api->requests[1], "Content-Type") == "application/json");
    CHECK(header_of(r.api->requests[2], "Content-Type") == "text/plain");
    CHECK(header_of(r.api->requests[2], "X-Trace") == "7");
    CHECK(r.api->requests[3].method == "PATCH");
    CHECK(r.api->requests[4].method == "DELETE");
    for (const auto& req : r.api->requests)
        CHECK(header_of(req, "Authorization") == "Bearer tok-1");
    CHECK(r.endpoint->requests() == 1);
}

TEST_CASE("authorized_client: 401 invalid_token or no error: one retry with a new token") {
    SUBCASE("error=invalid_token") {
        rig r([](const http_request& req) {
            if (header_of(req, "Authorization") == "Bearer tok-1") {
                return status(401, {{"WWW-Authenticate", R"(Bearer error="invalid_token")"}});
            }
            return status(200);
        });
        CHECK(r.client().get("/x").status == 200);
        CHECK(r.api->requests.size() == 2);
        CHECK(header_of(r.api->requests[1], "Authorization") == "Bearer tok-2");
    }
    SUBCASE("no WWW-Authenticate at all") {
        rig r([](const http_request& req) {
            return header_of(req, "Authorization") == "Bearer tok-1" ? status(401) : status(200);
        });
        CHECK(r.client().get("/x").status == 200);
        CHECK(r.endpoint->requests() == 2);
    }
    SUBCASE("never more than once") {
        rig r([](const http_request&) { return status(401, {{"WWW-Authenticate", "Bearer"}}); });
        CHECK(r.client().get("/x").status == 401);
        CHECK(r.api->requests.size() == 2);
        CHECK(r.endpoint->requests() == 2);
    }
    SUBCASE("another 401 error and 403 come back as they came") {
        rig r([](const http_request& req) {
            if (req.url.find("/forbidden") != std::string::npos) {
                return status(403, {{"WWW-Authenticate",
                                     R"(Bearer error="insufficient_scope", scope="post_echo")"}});
            }
            return status(401, {{"WWW-Authenticate", R"(Bearer error="invalid_request")"}});
        });
        auto api = r.client();
        CHECK(api.get("/x").status == 401);
        const auto res = api.get("/forbidden");
        CHECK(res.status == 403);
        CHECK(oauth2cc::find_bearer_challenge(res)->scope == "post_echo");
        CHECK(r.api->requests.size() == 2);
        CHECK(r.endpoint->requests() == 1);
    }
}

TEST_CASE("authorized_client: an API that rejects every token makes no token storm") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    oauth2cc::refresh_policy policy;
    policy.jitter_seed = 7;
    token_manager tokens(config(), policy, endpoint, clock);
    std::vector<std::string> warnings;
    tokens.set_logger([&](oauth2cc::log_level level, std::string_view line) {
        if (level == oauth2cc::log_level::warning) warnings.emplace_back(line);
    });
    auto rejecting = std::make_shared<fake_transport>([](const http_request&) {
        return status(401, {{"WWW-Authenticate", R"(Bearer error="invalid_token")"}});
    });
    authorized_client api("https://api.example.com/v1/", tokens, {}, rejecting);
    int answered_401 = 0;
    for (int i = 0; i < 50; ++i) answered_401 += api.get("/x").status == 401 ? 1 : 0;
    // Every call gets the API's answer, nothing is thrown; the first call and its one
    // clean retry, then the guard keeps the second token: no new token for each call.
    CHECK(answered_401 == 50);
    CHECK(endpoint->requests() == 2);
    CHECK(tokens.stats().fetches == 2);
    CHECK_FALSE(tokens.stats().last_error);
    CHECK(rejecting->requests.size() == 51);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("rejected the last 2 tokens") != std::string::npos);
    CHECK(warnings[0].find("tok-") == std::string::npos);
    // Once the guard's backoff has passed, one call gets one new token, and is refused.
    clock->advance(std::chrono::seconds(61));
    CHECK(api.get("/x").status == 401);
    CHECK(endpoint->requests() == 3);
    for (int i = 0; i < 10; ++i) CHECK(api.get("/x").status == 401);
    CHECK(endpoint->requests() == 3);
}

TEST_CASE("authorized_client: a token the API had accepted, then rejects, gets one retry") {
    // Each round the API revokes the token it has just accepted: every rejection is of a
    // token a call succeeded with, so none is evidence for the rejection guard.
    std::string revoked;
    rig r([&](const http_request& req) {
        const std::string sent = header_of(req, "Authorization");
        if (sent == revoked) {
            return status(401, {{"WWW-Authenticate", R"(Bearer error="invalid_token")"}});
        }
        return status(200);
    });
    auto api = r.client();
    for (int round = 1; round <= 5; ++round) {
        CAPTURE(round);
        CHECK(api.get("/x").status == 200);
        revoked = header_of(r.api->requests.back(), "Authorization");
        CHECK(api.get("/x").status == 200);  // 401, then the retry with a new token
    }
    CHECK(r.endpoint->requests() == 6);
}

TEST_CASE("authorized_client: what is refused before anything is sent") {
    rig r([](const http_request&) { return status(200); });
    auto api = r.client();
    SUBCASE("a caller's own Authorization header") {
        const error e = thrown_by([&] { api.get("/x", {{"authorization", "Basic abc"}}); });
        CHECK(e.kind() == error_kind::config);
    }
    SUBCASE("a header that frames the message or steers the connection") {
        for (const char* name : {"Host", "content-length", "Transfer-Encoding", "Connection",
                                 "Upgrade", "TE", "Expect"}) {
            CAPTURE(name);
            CHECK(thrown_by([&] {
                      api.post("/x", "{}", "application/json", {{name, "1"}});
                  }).kind() == error_kind::config);
        }
        CHECK(r.endpoint->requests() == 0);  // refused before a token was even fetched
    }
    SUBCASE("a path that could leave the base URL") {
        for (const char* path : {"https://evil.example/x", "//evil.example/x", "x", ""}) {
            CAPTURE(path);
            CHECK(thrown_by([&] { api.get(path); }).kind() == error_kind::config);
        }
    }
    SUBCASE("plain http to a host that is not loopback, and a base URL with a query") {
        CHECK(thrown_by([&] { authorized_client("http://api.example.com", r.tokens); }).kind() ==
              error_kind::config);
        CHECK(thrown_by([&] {
                  authorized_client("https://api.example.com/?a=1", r.tokens);
              }).kind() == error_kind::config);
        CHECK_NOTHROW(authorized_client("http://127.0.0.1:8080", r.tokens));
        oauth2cc::client_options insecure;
        insecure.allow_insecure_http = true;
        CHECK_NOTHROW(authorized_client("http://api.example.com", r.tokens, insecure));
    }
    SUBCASE("a token with CR or LF is never sent: the call fails before reaching the API") {
        r.endpoint->answer_with([](int) {
            return http_response{200,
                                 {{"Content-Type", "application/json"}},
                                 R"({"access_token":"ok\r\nX-Evil: 1","token_type":"Bearer"})"};
        });
        CHECK(thrown_by([&] { api.get("/x"); }).kind() == error_kind::bad_response);
    }
    CHECK(r.api->requests.empty());
}

TEST_CASE("authorized_client: redirects") {
    rig r([](const http_request& req) {
        if (req.url == "https://api.example.com/v1/away") {
            return status(302, {{"Location", "https://elsewhere.example/landing"}});
        }
        if (req.url == "https://api.example.com/v1/move")
            return status(307, {{"Location", "next"}});
        if (req.url == "https://api.example.com/v1/post-away") {
            return status(303, {{"Location", "/v1/done"}});
        }
        if (req.url == "https://api.example.com/v1/down") {
            return status(301, {{"Location", "http://api.example.com/v1/plain"}});
        }
        if (req.url == "https://api.example.com/v1/loop")
            return status(302, {{"Location", "/v1/loop"}});
        if (req.url == "https://api.example.com/v1/cross-307") {
            return status(307, {{"Location", "https://elsewhere.example/in"}});
        }
        return status(200);
    });
    SUBCASE("not followed by default") {
        CHECK(r.client().get("/away").status == 302);
        CHECK(r.api->requests.size() == 1);
    }
    oauth2cc::client_options follow;
    follow.follow_redirects = true;
    auto api = r.client(follow);
    SUBCASE("to another origin, without the token") {
        CHECK(api.get("/away").status == 200);
        REQUIRE(r.api->requests.size() == 2);
        CHECK(r.api->requests[1].url == "https://elsewhere.example/landing");
        CHECK(header_of(r.api->requests[1], "Authorization").empty());
    }
    SUBCASE("to another origin, without any caller header that could be a credential") {
        CHECK(api.get("/away", {{"Cookie", "session=1"},
                                {"Proxy-Authorization", "Basic cHJveHk6cHc="},
                                {"X-Api-Key", "k-123"},
                                {"Accept", "application/json"}})
                  .status == 200);
        REQUIRE(r.api->requests.size() == 2);
        const auto& first = r.api->requests[0];
        CHECK(header_of(first, "Cookie") == "session=1");
        CHECK(header_of(first, "X-Api-Key") == "k-123");
        const auto& elsewhere = r.api->requests[1];
        CHECK(header_of(elsewhere, "Cookie").empty());
        CHECK(header_of(elsewhere, "Proxy-Authorization").empty());
        CHECK(header_of(elsewhere, "X-Api-Key").empty());
        CHECK(header_of(elsewhere, "Accept") == "application/json");
        CHECK(header_of(elsewhere, "User-Agent") == "oauth2cc/" OAUTH2CC_VERSION_STRING);
    }
    SUBCASE("a 307 to another origin that would carry the body is not followed") {
        CHECK(api.post("/cross-307", R"({"card":"4111"})").status == 307);
        CHECK(r.api->requests.size() == 1);
        // Without a body there is nothing to carry: followed, without the token.
        CHECK(api.get("/cross-307").status == 200);
        REQUIRE(r.api->requests.size() == 3);
        CHECK(r.api->requests[2].url == "https://elsewhere.example/in");
        CHECK(header_of(r.api->requests[2], "Authorization").empty());
    }
    SUBCASE("within the origin, caller headers and the body go along") {
        CHECK(api.post("/move", "{}", "application/json", {{"X-Api-Key", "k-123"}}).status == 200);
        REQUIRE(r.api->requests.size() == 2);
        CHECK(header_of(r.api->requests[1], "X-Api-Key") == "k-123");
        CHECK(r.api->requests[1].body == "{}");
    }
    SUBCASE("within the origin, relative, with the token and the method") {
        CHECK(api.post("/move", "{}").status == 200);
        REQUIRE(r.api->requests.size() == 2);
        CHECK(r.api->requests[1].url == "https://api.example.com/v1/next");
        CHECK(r.api->requests[1].method == "POST");
        CHECK(header_of(r.api->requests[1], "Authorization") == "Bearer tok-1");
    }
    SUBCASE("303 turns into a GET without a body") {
        CHECK(api.post("/post-away", "{}").status == 200);
        REQUIRE(r.api->requests.size() == 2);
        CHECK(r.api->requests[1].method == "GET");
        CHECK(r.api->requests[1].body.empty());
        CHECK(header_of(r.api->requests[1], "Content-Type").empty());
    }
    SUBCASE("never down to plain http") {
        CHECK(api.get("/down").status == 301);
        CHECK(r.api->requests.size() == 1);
    }
    SUBCASE("at most max_redirects hops") {
        CHECK(api.get("/loop").status == 302);
        CHECK(r.api->requests.size() == 6);
    }
}
