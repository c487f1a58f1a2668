// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_requests.cpp: request_token and token_client against real authorization
// servers: oidc-provider (which form-decodes Basic credentials, as RFC 6749 §2.3.1 says)
// and @node-oauth/oauth2-server (which does not), over HTTP and HTTPS.
// SPDX-License-Identifier: MIT

#include "../support/test_helpers.hpp"
#include "../support/peer_process.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

using namespace std::chrono_literals;
using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::credential_encoding;
using oauth2cc::error;
using oauth2cc::error_kind;
using oauth2cc_test::peer_process;
using oauth2cc_test::thrown_by;

namespace {

// One server of each kind for the whole file; each is stopped by its PID at exit.
peer_process& oidc_provider() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "300"});
    return *peer;
}

peer_process& node_oauth2_server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_node_oauth2_server({"--ttl", "300"});
    return *peer;
}

client_config config_for(const peer_process& peer, const std::string& id, const std::string& secret,
                         auth_method how) {
    client_config cfg;
    cfg.token_endpoint = peer.info().at("token_endpoint").get<std::string>();
    cfg.client_id = id;
    cfg.client_secret = oauth2cc::secret{secret};
    cfg.auth = how;
    return cfg;
}

void check_token(const oauth2cc::token& t, const std::string& scope, int ttl = 300) {
    CHECK(t.access_token.reveal().size() >= 20);
    CHECK(t.token_type == "Bearer");
    REQUIRE(t.expires_in);
    // node-oauth2-server counts down from the moment it saved the token, so it may say
    // a second or so less than the lifetime it was given.
    CHECK(*t.expires_in <= std::chrono::seconds(ttl));
    CHECK(*t.expires_in >= std::chrono::seconds(ttl - 60));
    CHECK(t.scope == scope);
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("request_token: oidc-provider, every client authentication method") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = oidc_provider();
    SUBCASE("client_secret_basic") {
        auto cfg =
            config_for(peer, "basic-client", "basic-secret", auth_method::client_secret_basic);
        cfg.scopes = {"read_date"};
        check_token(oauth2cc::request_token(cfg), "read_date");
    }
    SUBCASE("client_secret_post") {
        auto cfg = config_for(peer, "post-client", "post-secret", auth_method::client_secret_post);
        cfg.scopes = {"read_date", "post_echo"};
        check_token(oauth2cc::request_token(cfg), "read_date post_echo");
    }
    SUBCASE("none, a public client") {
        auto cfg = config_for(peer, "public-client", "", auth_method::none);
        cfg.scopes = {"read_date"};
        check_token(oauth2cc::request_token(cfg), "read_date");
    }
    SUBCASE("a resource indicator (RFC 8707)") {
        auto cfg =
            config_for(peer, "basic-client", "basic-secret", auth_method::client_secret_basic);
        cfg.scopes = {"post_echo"};
        cfg.resources = {peer.info().at("resource").get<std::string>()};
        check_token(oauth2cc::request_token(cfg), "post_echo");
    }
}

TEST_CASE("request_token: oidc-provider, credentials that need form-encoding") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = oidc_provider();
    SUBCASE("form-encoded Basic (RFC 6749 §2.3.1) succeeds") {
        auto cfg = config_for(peer, "weird:id+1", "se:cr+et% x", auth_method::client_secret_basic);
        cfg.scopes = {"read_date"};
        check_token(oauth2cc::request_token(cfg), "read_date");
    }
    SUBCASE("client_secret_post succeeds") {
        auto cfg = config_for(peer, "weird:id+1", "se:cr+et% x", auth_method::client_secret_post);
        cfg.scopes = {"read_date"};
        check_token(oauth2cc::request_token(cfg), "read_date");
    }
    SUBCASE("raw Basic fails with an oauth error") {
        auto cfg = config_for(peer, "weird:id+1", "se:cr+et% x", auth_method::client_secret_basic);
        cfg.basic_encoding = credential_encoding::raw;
        const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK((e.oauth_error() == "invalid_request" || e.oauth_error() == "invalid_client"));
        CHECK(e.http_status() >= 400);
        CHECK(std::string(e.what()).find("se:cr") == std::string::npos);
    }
}

TEST_CASE("request_token: oidc-provider refuses what it must, as typed errors") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = oidc_provider();
    SUBCASE("a wrong secret is invalid_client with status 401") {
        auto cfg = config_for(peer, "basic-client", "wrong-secret-value",
                              auth_method::client_secret_basic);
        const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(e.http_status() == 401);
        CHECK(std::string(e.what()).find("wrong-secret-value") == std::string::npos);
    }
    SUBCASE("the read-only client asking for post_echo is invalid_scope") {
        auto cfg = config_for(peer, "read-client", "read-secret", auth_method::client_secret_basic);
        cfg.scopes = {"post_echo"};
        const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "invalid_scope");
        CHECK(e.http_status() == 400);
    }
    SUBCASE("an unknown resource is invalid_target") {
        auto cfg =
            config_for(peer, "basic-client", "basic-secret", auth_method::client_secret_basic);
        cfg.resources = {"urn:oauth2cc:unknown"};
        const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "invalid_target");
    }
}

TEST_CASE("token_client: fetches over one kept-alive connection") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = oidc_provider();
    peer.reset_harness_stats();
    auto cfg = config_for(peer, "basic-client", "basic-secret", auth_method::client_secret_basic);
    cfg.scopes = {"read_date"};
    oauth2cc::token_client client(cfg);
    const auto first = client.fetch();
    const auto second = client.fetch();
    const auto third = client.fetch();
    CHECK(first.access_token.reveal() != second.access_token.reveal());
    CHECK(second.access_token.reveal() != third.access_token.reveal());
    const auto seen = peer.harness_stats();
    CHECK(seen.at("token_success") == 3);
    CHECK(seen.at("token_connections") == 1);
}

TEST_CASE("request_token: HTTPS to oidc-provider verifies the server") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto& certs = oauth2cc_test::test_certificates();
    SUBCASE("with the harness CA it succeeds") {
        auto peer = oauth2cc_test::start_oidc_provider(
            {"--https", "--cert", certs.server_cert, "--key", certs.server_key});
        auto cfg =
            config_for(*peer, "basic-client", "basic-secret", auth_method::client_secret_basic);
        REQUIRE(cfg.token_endpoint.rfind("https://", 0) == 0);
        cfg.tls.ca_file = certs.ca_cert;
        cfg.scopes = {"read_date"};
        check_token(oauth2cc::request_token(cfg), "read_date", 3600);
        SUBCASE("and without it fails with kind tls") {
            cfg.tls.ca_file.clear();
            CHECK(thrown_by([&] { oauth2cc::request_token(cfg); }).kind() == error_kind::tls);
        }
    }
    SUBCASE("a certificate for another host fails with kind tls") {
        auto peer = oauth2cc_test::start_oidc_provider(
            {"--https", "--cert", certs.other_host_cert, "--key", certs.other_host_key});
        auto cfg =
            config_for(*peer, "basic-client", "basic-secret", auth_method::client_secret_basic);
        cfg.tls.ca_file = certs.ca_cert;
        const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::tls);
        CHECK(std::string(e.what()).find("basic-secret") == std::string::npos);
    }
}

TEST_CASE("request_token: a closed port fails with kind transport within the connect timeout") {
    client_config cfg;
    cfg.token_endpoint =
        "http://127.0.0.1:" + std::to_string(oauth2cc_test::closed_port()) + "/token";
    cfg.client_id = "basic-client";
    cfg.client_secret = oauth2cc::secret{"basic-secret"};
    cfg.connect_timeout = 3s;
    const auto started = std::chrono::steady_clock::now();
    const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(e.kind() == error_kind::transport);
    CHECK(took < cfg.connect_timeout);
}

TEST_CASE("request_token: node-oauth2-server, which takes Basic credentials raw") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = node_oauth2_server();
    SUBCASE("client_secret_basic with plain credentials") {
        auto cfg =
            config_for(peer, "basic-client", "basic-secret", auth_method::client_secret_basic);
        cfg.scopes = {"read_date"};
        check_token(oauth2cc::request_token(cfg), "read_date");
    }
    SUBCASE("raw Basic with reserved characters succeeds") {
        auto cfg = config_for(peer, "odd id+1", "se:cr+et% x", auth_method::client_secret_basic);
        cfg.basic_encoding = credential_encoding::raw;
        cfg.scopes = {"read_date", "post_echo"};
        check_token(oauth2cc::request_token(cfg), "read_date post_echo");
    }
    SUBCASE("client_secret_post with reserved characters succeeds") {
        auto cfg = config_for(peer, "odd id+1", "se:cr+et% x", auth_method::client_secret_post);
        cfg.scopes = {"read_date"};
        check_token(oauth2cc::request_token(cfg), "read_date");
    }
    SUBCASE("form-encoded Basic with reserved characters is invalid_client here") {
        auto cfg = config_for(peer, "odd id+1", "se:cr+et% x", auth_method::client_secret_basic);
        const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(e.http_status() == 401);
    }
    SUBCASE("the read-only client asking for post_echo is invalid_scope") {
        auto cfg = config_for(peer, "read-client", "read-secret", auth_method::client_secret_basic);
        cfg.scopes = {"post_echo"};
        const error e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "invalid_scope");
    }
    SUBCASE("token_client reuses its connection here too") {
        auto cfg = config_for(peer, "post-client", "post-secret", auth_method::client_secret_post);
        oauth2cc::token_client client(cfg);
        peer.reset_harness_stats();
        client.fetch();
        client.fetch();
        CHECK(peer.harness_stats().at("token_success") == 2);
    }
}

}  // TEST_SUITE("integration")
