// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_harness.cpp: the real-server harness works: oidc-provider issues, refuses,
// introspects and revokes tokens for plain httplib requests, over HTTP and HTTPS.
// SPDX-License-Identifier: MIT

#include "../support/peer_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>

#include <sys/wait.h>
#include <fstream>
#include <string>

using nlohmann::json;
using oauth2cc_test::peer_process;

namespace {

constexpr const char* form = "application/x-www-form-urlencoded";

json client_auth_vector(const std::string& client_id) {
    std::ifstream in(std::string(OAUTH2CC_TEST_VECTORS_DIR) + "/client_auth.json");
    const json all = json::parse(in);
    for (const auto& v : all.at("vectors")) {
        if (v.at("client_id") == client_id) return v;
    }
    FAIL("no client-authentication vector for " << client_id);
    return {};
}

void set_timeouts(httplib::Client& c) {
    c.set_connection_timeout(std::chrono::seconds(5));
    c.set_read_timeout(std::chrono::seconds(10));
    c.set_write_timeout(std::chrono::seconds(10));
}

httplib::Result post_token(const peer_process& peer, const std::string& body,
                           const httplib::Headers& headers = {}) {
    httplib::Client c(peer.info().at("issuer").get<std::string>());
    set_timeouts(c);
    return c.Post("/token", headers, body, form);
}

httplib::Headers basic(const std::string& encoded_header) {
    return {{"Authorization", encoded_header}};
}

// The token response of a successful request, checked for the §5.1 members.
json expect_token(const httplib::Result& res, int ttl) {
    REQUIRE(res);
    INFO("body: " << res->body);
    REQUIRE(res->status == 200);
    const json body = json::parse(res->body);
    CHECK(body.at("access_token").get<std::string>().size() >= 20);
    CHECK(body.at("token_type") == "Bearer");
    CHECK(body.at("expires_in") == ttl);
    return body;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("harness: oidc-provider issues a token to each test client by a plain POST") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const int ttl = 120;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", std::to_string(ttl)});
    CHECK(peer->info().at("ttl") == ttl);

    SUBCASE("basic-client by client_secret_basic, with a scope") {
        const auto v = client_auth_vector("basic-client");
        const json token =
            expect_token(post_token(*peer, "grant_type=client_credentials&scope=read_date",
                                    basic(v.at("basic_form_urlencoded"))),
                         ttl);
        CHECK(token.at("scope") == "read_date");
    }
    SUBCASE("post-client by client_secret_post") {
        expect_token(post_token(*peer,
                                "grant_type=client_credentials&client_id=post-client"
                                "&client_secret=post-secret"),
                     ttl);
    }
    SUBCASE("public-client with no secret") {
        expect_token(post_token(*peer, "grant_type=client_credentials&client_id=public-client"),
                     ttl);
    }
    SUBCASE("the client whose credentials need form-encoding, by encoded Basic") {
        const auto v = client_auth_vector("weird:id+1");
        expect_token(post_token(*peer, "grant_type=client_credentials",
                                basic(v.at("basic_form_urlencoded"))),
                     ttl);
    }
    SUBCASE("the same client by post, its fields form-encoded") {
        const auto v = client_auth_vector("weird:id+1");
        expect_token(post_token(*peer, v.at("post_body_fields_in_this_order")), ttl);
    }
    SUBCASE("the resource indicator the harness serves") {
        const auto v = client_auth_vector("basic-client");
        expect_token(
            post_token(*peer, "grant_type=client_credentials&resource=urn%3Aoauth2cc%3Atest-api",
                       basic(v.at("basic_form_urlencoded"))),
            ttl);
    }
}

TEST_CASE("harness: oidc-provider refuses what it must") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider();

    SUBCASE("a wrong secret is invalid_client with status 401") {
        httplib::Client c(peer->info().at("issuer").get<std::string>());
        set_timeouts(c);
        c.set_basic_auth("basic-client", "not-the-secret");
        auto res = c.Post("/token", "grant_type=client_credentials", form);
        REQUIRE(res);
        CHECK(res->status == 401);
        CHECK(json::parse(res->body).at("error") == "invalid_client");
        CHECK(res->get_header_value("WWW-Authenticate").find("invalid_client") !=
              std::string::npos);
    }
    SUBCASE("the read-only client asking for post_echo is invalid_scope") {
        auto res = post_token(*peer, "grant_type=client_credentials&scope=post_echo",
                              basic("Basic cmVhZC1jbGllbnQ6cmVhZC1zZWNyZXQ="));
        REQUIRE(res);
        CHECK(res->status == 400);
        CHECK(json::parse(res->body).at("error") == "invalid_scope");
    }
    SUBCASE("credentials that need encoding, sent raw, do not authenticate") {
        const auto v = client_auth_vector("weird:id+1");
        auto res = post_token(*peer, "grant_type=client_credentials", basic(v.at("basic_raw")));
        REQUIRE(res);
        CHECK(res->status >= 400);
        CHECK(json::parse(res->body).contains("error"));
    }
}

TEST_CASE("harness: the server counts the token requests it receives") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider();
    CHECK(peer->harness_stats().at("token_requests") == 0);
    expect_token(post_token(*peer, "grant_type=client_credentials&client_id=public-client"), 3600);
    auto refused = post_token(*peer, "grant_type=client_credentials&client_id=nobody");
    REQUIRE(refused);
    const json after = peer->harness_stats();
    CHECK(after.at("token_requests") == 2);
    CHECK(after.at("token_success") == 1);
    CHECK(after.at("token_errors") == 1);
}

TEST_CASE("harness: introspection and revocation work for the resource server") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider();
    const auto v = client_auth_vector("basic-client");
    const std::string token =
        expect_token(post_token(*peer, "grant_type=client_credentials&scope=read_date",
                                basic(v.at("basic_form_urlencoded"))),
                     3600)
            .at("access_token");

    httplib::Client rs(peer->info().at("issuer").get<std::string>());
    set_timeouts(rs);
    rs.set_basic_auth("resource-server", "resource-server-secret");
    const auto introspect = [&] {
        auto res = rs.Post("/token/introspection", "token=" + token, form);
        REQUIRE(res);
        REQUIRE(res->status == 200);
        return json::parse(res->body);
    };
    const json active = introspect();
    CHECK(active.at("active") == true);
    CHECK(active.at("client_id") == "basic-client");
    CHECK(active.at("scope") == "read_date");

    auto revoked = rs.Post("/token/revocation", "token=" + token, form);
    REQUIRE(revoked);
    CHECK(revoked->status == 200);
    CHECK(introspect().at("active") == false);
}

TEST_CASE("harness: HTTPS mode with certificates made at test time") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto& certs = oauth2cc_test::test_certificates();

    SUBCASE("the server certificate verifies against the harness CA, host name included") {
        auto peer =
            oauth2cc_test::start_oidc_provider({"--https", "--cert", certs.server_cert, "--key",
                                                certs.server_key, "--client-ca", certs.ca_cert});
        CHECK(peer->info().at("issuer").get<std::string>().rfind("https://127.0.0.1:", 0) == 0);
        httplib::Client c(peer->info().at("issuer").get<std::string>());
        set_timeouts(c);
        c.set_ca_cert_path(certs.ca_cert);
        c.enable_server_certificate_verification(true);
        c.set_basic_auth("basic-client", "basic-secret");
        expect_token(c.Post("/token", "grant_type=client_credentials", form), 3600);

        // A client certificate for mutual-TLS setups is accepted by the TLS layer.
        httplib::Client mtls(peer->info().at("issuer").get<std::string>(), certs.client_cert,
                             certs.client_key);
        set_timeouts(mtls);
        mtls.set_ca_cert_path(certs.ca_cert);
        mtls.enable_server_certificate_verification(true);
        mtls.set_basic_auth("basic-client", "basic-secret");
        expect_token(mtls.Post("/token", "grant_type=client_credentials", form), 3600);
    }
    SUBCASE("a certificate for another host fails verification") {
        auto peer = oauth2cc_test::start_oidc_provider(
            {"--https", "--cert", certs.other_host_cert, "--key", certs.other_host_key});
        httplib::Client c(peer->info().at("issuer").get<std::string>());
        set_timeouts(c);
        c.set_ca_cert_path(certs.ca_cert);
        c.enable_server_certificate_verification(true);
        auto res = c.Post("/token", "grant_type=client_credentials&client_id=public-client", form);
        CHECK_FALSE(res);
        // SSLServerVerification before cpp-httplib 0.14; SSLServerHostnameVerification
        // since, which older releases do not name.
        const std::string what = httplib::to_string(res.error());
        CAPTURE(what);
        CHECK((what.rfind("SSLServer", 0) == 0 || what.rfind("SSL server", 0) == 0));
    }
}

TEST_CASE("harness: a peer is stopped by its PID") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    pid_t pid = 0;
    {
        auto peer = oauth2cc_test::start_oidc_provider();
        pid = peer->pid();
        REQUIRE(pid > 0);
        CHECK(::kill(pid, 0) == 0);
    }
    // The destructor stopped and reaped it: the PID names no process of ours any more.
    errno = 0;
    CHECK(::kill(pid, 0) == -1);
    CHECK(errno == ESRCH);

    auto peer = oauth2cc_test::start_oidc_provider();
    const int status = peer->stop();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(peer->pid() == 0);
    CHECK(peer->stop() == -1);
}

TEST_CASE("harness: a program that never prints its start line is started twice, then reported") {
    const auto started = std::chrono::steady_clock::now();
    try {
        oauth2cc_test::peer_process::start_program({"/bin/sleep", "60"}, {},
                                                   std::chrono::seconds(1));
        FAIL("start_program returned for a program that prints nothing");
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        CHECK(what.find("no start line in 1000 ms") != std::string::npos);
        CHECK(what.find("state ") != std::string::npos);
    }
    // Two attempts of 1 s each, and each sleep stopped by its PID, not waited out.
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
}

}  // TEST_SUITE("integration")
