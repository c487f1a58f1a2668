// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_www_authenticate.cpp: challenges and Bearer errors from WWW-Authenticate headers.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>

#include <string>

using oauth2cc::find_bearer_challenge;
using oauth2cc::http_response;
using oauth2cc::parse_www_authenticate;

TEST_CASE("www_authenticate: the RFC 6750 examples") {
    const auto c = parse_www_authenticate(
        R"(Bearer realm="example", error="invalid_token", error_description="The access token expired")");
    REQUIRE(c.size() == 1);
    CHECK(c[0].scheme == "Bearer");
    CHECK(c[0].param("realm") == "example");
    CHECK(c[0].param("error") == "invalid_token");
    CHECK(c[0].param("ERROR") == "invalid_token");
    CHECK(c[0].param("error_description") == "The access token expired");

    const auto bare = parse_www_authenticate(R"(Bearer realm="example")");
    REQUIRE(bare.size() == 1);
    CHECK_FALSE(bare[0].param("error"));
    const auto scheme_only = parse_www_authenticate("Bearer");
    REQUIRE(scheme_only.size() == 1);
    CHECK(scheme_only[0].params.empty());
}

TEST_CASE("www_authenticate: several challenges, token68, tokens and escapes") {
    const auto c = parse_www_authenticate(
        R"(Basic YWxhZGRpbjpvcGVuc2VzYW1l==, Bearer realm=api , scope="read_date post_echo", error=insufficient_scope, Newauth realm="a \"quoted\" \\ realm", type=1)");
    REQUIRE(c.size() == 3);
    CHECK(c[0].scheme == "Basic");
    CHECK(c[0].token68 == "YWxhZGRpbjpvcGVuc2VzYW1l==");
    CHECK(c[1].scheme == "Bearer");
    CHECK(c[1].param("realm") == "api");
    CHECK(c[1].param("scope") == "read_date post_echo");
    CHECK(c[1].param("error") == "insufficient_scope");
    CHECK(c[2].scheme == "Newauth");
    CHECK(c[2].param("realm") == R"(a "quoted" \ realm)");
    CHECK(c[2].param("type") == "1");
}

TEST_CASE("www_authenticate: malformed input keeps what came before and never throws") {
    CHECK(parse_www_authenticate("").empty());
    CHECK(parse_www_authenticate(" , ,").empty());
    const auto unterminated = parse_www_authenticate(R"(Bearer realm="never ends)");
    REQUIRE(unterminated.size() == 1);
    CHECK(unterminated[0].params.empty());
    const auto no_value = parse_www_authenticate("Bearer error=, realm=x");
    REQUIRE_FALSE(no_value.empty());
    CHECK(no_value[0].scheme == "Bearer");
    CHECK_FALSE(no_value[0].param("error"));
    for (const char* junk :
         {"=", "\"", "Bearer ===", "Bearer a=\"\\", "\x01\x02", "Bearer ,,,=,"}) {
        CAPTURE(junk);
        CHECK_NOTHROW(parse_www_authenticate(junk));
    }
    std::string huge = "Bearer ";
    for (int i = 0; i < 10000; ++i) huge += "p" + std::to_string(i) + "=v,";
    const auto many = parse_www_authenticate(huge);
    REQUIRE(many.size() == 1);
    CHECK(many[0].params.size() <= 64);
}

TEST_CASE("www_authenticate: find_bearer_challenge looks through every header") {
    http_response res;
    res.status = 401;
    res.headers = {
        {"WWW-Authenticate", R"(Basic realm="x")"},
        {"www-authenticate", R"(bearer error="invalid_token", error_uri="https://e/x")"}};
    const auto b = find_bearer_challenge(res);
    REQUIRE(b);
    CHECK(b->error == "invalid_token");
    CHECK(b->error_uri == "https://e/x");
    res.headers = {{"WWW-Authenticate", "Basic realm=x"}};
    CHECK_FALSE(find_bearer_challenge(res));
}
