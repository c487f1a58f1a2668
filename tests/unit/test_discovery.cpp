// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_discovery.cpp: the well-known URLs, the metadata document checked, and a token
// endpoint found by discovery when first needed, once, and again after a failure.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"
#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/detail/oauth/metadata.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc_test::fake_transport;
using oauth2cc_test::thrown_by;

namespace {

const char* issuer = "https://login.example.com/tenant-1";
const char* token_body = R"({"access_token":"tok-123","token_type":"Bearer","expires_in":3600})";

nlohmann::json metadata() {
    nlohmann::json doc = nlohmann::json::object();
    doc["issuer"] = issuer;
    doc["token_endpoint"] = "https://login.example.com/tenant-1/oauth2/token";
    doc["jwks_uri"] = "https://login.example.com/tenant-1/keys";
    doc["token_endpoint_auth_methods_supported"] = {"client_secret_basic", "private_key_jwt"};
    doc["token_endpoint_auth_signing_alg_values_supported"] = {"RS256", "ES256"};
    doc["mtls_endpoint_aliases"] = {{"token_endpoint", "https://mtls.example.com/token"}};
    doc["x-vendor"] = 7;
    return doc;
}

// A server whose RFC 8414 URL answers rfc8414_status, whose OpenID Connect URL serves
// doc, and whose token endpoint gives tokens. It counts the metadata requests.
struct fake_server {
    nlohmann::json doc = metadata();
    int rfc8414_status = 404;
    int oidc_status = 200;
    int metadata_requests = 0;

    fake_transport transport() {
        return fake_transport([this](const oauth2cc::http_request& req) {
            if (req.url.find("/.well-known/") != std::string::npos) {
                ++metadata_requests;
                CHECK(req.method == "GET");
                if (req.url ==
                    "https://login.example.com/.well-known/oauth-authorization-server/tenant-1") {
                    return oauth2cc::http_response{rfc8414_status, {}, "not here"};
                }
                CHECK(req.url ==
                      "https://login.example.com/tenant-1/.well-known/openid-configuration");
                return oauth2cc::http_response{
                    oidc_status, {{"Content-Type", "application/json"}}, doc.dump()};
            }
            CHECK(req.url == "https://login.example.com/tenant-1/oauth2/token");
            return oauth2cc::http_response{200, {{"Content-Type", "application/json"}}, token_body};
        });
    }
};

client_config by_issuer() {
    client_config cfg;
    cfg.issuer = issuer;
    cfg.client_id = "svc";
    cfg.client_secret = oauth2cc::secret{"s3cret"};
    return cfg;
}

}  // namespace

TEST_CASE("discovery: the RFC 8414 URL first, then OpenID Connect's") {
    using oauth2cc::detail::well_known_urls;
    CHECK(well_known_urls("https://a.example") ==
          std::vector<std::string>{"https://a.example/.well-known/oauth-authorization-server",
                                   "https://a.example/.well-known/openid-configuration"});
    CHECK(well_known_urls("https://a.example:8443/t/x/") ==
          std::vector<std::string>{
              "https://a.example:8443/.well-known/oauth-authorization-server/t/x",
              "https://a.example:8443/t/x/.well-known/openid-configuration"});
}

TEST_CASE("discovery: the document read, its members typed, the issuer compared exactly") {
    fake_server server;
    auto via = server.transport();
    const auto m = oauth2cc::discover(by_issuer(), via);
    CHECK(server.metadata_requests == 2);  // 404 at the RFC 8414 URL, then OIDC's
    CHECK(m.issuer == issuer);
    CHECK(m.token_endpoint == "https://login.example.com/tenant-1/oauth2/token");
    CHECK(m.jwks_uri == "https://login.example.com/tenant-1/keys");
    CHECK(m.token_endpoint_auth_methods_supported.size() == 2);
    CHECK(m.mtls_endpoint_aliases.at("token_endpoint") == "https://mtls.example.com/token");
    CHECK(m.document.at("x-vendor") == 7);
    CHECK(m.grant_types_supported.empty());

    server.rfc8414_status = 200;  // "not here" is not metadata: the next URL is tried
    CHECK(oauth2cc::discover(by_issuer(), via).issuer == issuer);

    fake_server other;
    other.doc["issuer"] = std::string(issuer) + "/";
    auto via2 = other.transport();
    try {
        oauth2cc::discover(by_issuer(), via2);
        FAIL("a metadata document of another issuer was taken");
    } catch (const oauth2cc::error& err) {
        CHECK(err.kind() == error_kind::config);
        CHECK(std::string(err.what()).find("RFC 8414 §3.3") != std::string::npos);
    }

    fake_server typed;
    typed.doc["token_endpoint_auth_methods_supported"] = "client_secret_basic";
    auto via3 = typed.transport();
    CHECK(thrown_by([&] { oauth2cc::discover(by_issuer(), via3); }).kind() ==
          error_kind::bad_response);

    fake_server absent;
    absent.doc.erase("token_endpoint_auth_methods_supported");
    auto via4 = absent.transport();
    CHECK(oauth2cc::discover(by_issuer(), via4).token_endpoint_auth_methods_supported ==
          std::vector<std::string>{"client_secret_basic"});
    // null and an empty array name no method either.
    for (const auto& none : {nlohmann::json(nullptr), nlohmann::json::array()}) {
        fake_server empty;
        empty.doc["token_endpoint_auth_methods_supported"] = none;
        auto via6 = empty.transport();
        CHECK(oauth2cc::discover(by_issuer(), via6).token_endpoint_auth_methods_supported ==
              std::vector<std::string>{"client_secret_basic"});
    }

    fake_server down;
    down.oidc_status = 503;
    auto via5 = down.transport();
    try {
        oauth2cc::discover(by_issuer(), via5);
        FAIL("no metadata, no error");
    } catch (const oauth2cc::error& err) {
        CHECK(err.kind() == error_kind::http_status);
        CHECK(err.http_status() == 503);
    }

    client_config plain = by_issuer();
    plain.issuer = "http://login.example.com";
    CHECK(thrown_by([&] { oauth2cc::discover(plain, via); }).kind() == error_kind::config);
    plain.issuer = "https://login.example.com/?tenant=1";
    CHECK(thrown_by([&] { oauth2cc::discover(plain, via); }).kind() == error_kind::config);
}

TEST_CASE("discovery: a token_client finds its endpoint once, and again after a failure") {
    fake_server server;
    server.oidc_status = 503;
    auto via = std::make_shared<fake_transport>(server.transport());
    oauth2cc::token_client client(by_issuer(), via);
    CHECK(server.metadata_requests == 0);  // nothing is asked before the first fetch
    CHECK(thrown_by([&] { client.fetch(); }).kind() == error_kind::http_status);
    CHECK(server.metadata_requests == 2);
    server.oidc_status = 200;
    CHECK(client.fetch().access_token.reveal() == "tok-123");
    CHECK(server.metadata_requests == 4);
    CHECK(client.fetch().access_token.reveal() == "tok-123");
    CHECK(server.metadata_requests == 4);  // cached

    // A token_manager does the same through its token_client.
    fake_server second;
    auto via2 = std::make_shared<fake_transport>(second.transport());
    oauth2cc::token_manager tokens(by_issuer(), {}, via2);
    CHECK(tokens.get()->access_token.reveal() == "tok-123");
    tokens.invalidate();
    CHECK(tokens.get()->access_token.reveal() == "tok-123");
    CHECK(second.metadata_requests == 2);
    CHECK(tokens.stats().fetches == 2);
}

TEST_CASE("discovery: a grant the metadata does not list is requested, and said once") {
    // glewlwyd lists RFC 8414's default (the grants of a user's browser) and serves
    // client_credentials all the same.
    fake_server server;
    server.doc["grant_types_supported"] = {"authorization_code", "implicit"};
    auto via = std::make_shared<fake_transport>(server.transport());
    oauth2cc::token_client client(by_issuer(), via);
    CHECK(client.fetch().access_token.reveal() == "tok-123");
    const std::string notice = client.take_notice();
    CHECK(notice.find("does not list the grant client_credentials") != std::string::npos);
    CHECK(notice.find("authorization_code, implicit") != std::string::npos);
    CHECK(client.take_notice().empty());  // once
    CHECK(client.fetch().access_token.reveal() == "tok-123");
    CHECK(client.take_notice().empty());

    // A token_manager says it once, on its fetch's log line, as a warning.
    fake_server second;
    second.doc["grant_types_supported"] = {"authorization_code", "implicit"};
    auto via2 = std::make_shared<fake_transport>(second.transport());
    oauth2cc_test::log_watch log;
    oauth2cc::token_manager tokens(by_issuer(), {}, via2);
    tokens.set_logger(log.sink());
    CHECK(tokens.get()->access_token.reveal() == "tok-123");
    tokens.invalidate();
    CHECK(tokens.get()->access_token.reveal() == "tok-123");
    REQUIRE(log.wait_successes(2));
    const auto lines = log.lines();
    CHECK(lines[0].first == oauth2cc::log_level::warning);
    CHECK(lines[0].second.find("does not list the grant client_credentials") != std::string::npos);
    CHECK(oauth2cc_test::count_of(log.text(), "does not list") == 1);
}

TEST_CASE("discovery: a method or algorithm the server does not list is a config error") {
    fake_server server;
    auto via = std::make_shared<fake_transport>(server.transport());
    client_config post = by_issuer();
    post.auth = auth_method::client_secret_post;
    oauth2cc::token_client client(post, via);
    try {
        client.fetch();
        FAIL("a method the server does not list was used");
    } catch (const oauth2cc::error& e) {
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("client_secret_post") != std::string::npos);
        CHECK(std::string(e.what()).find("client_secret_basic, private_key_jwt") !=
              std::string::npos);
    }
    client_config eddsa = by_issuer();
    eddsa.auth = auth_method::private_key_jwt;
    eddsa.client_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::eddsa);
    oauth2cc::token_client ed(eddsa, via);
    try {
        ed.fetch();
        FAIL("an algorithm the server does not list was used");
    } catch (const oauth2cc::error& e) {
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("EdDSA") != std::string::npos);
    }
    // Neither made a token request.
    for (const auto& req : via->requests) CHECK(req.method == "GET");

    client_config es = eddsa;
    es.client_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
    oauth2cc::token_client ok(es, via);
    CHECK(ok.fetch().access_token.reveal() == "tok-123");
}

TEST_CASE("discovery: a DPoP key of an algorithm the server does not list is a config error") {
    fake_server server;
    server.doc["dpop_signing_alg_values_supported"] = {"ES256", "PS256"};
    auto via = std::make_shared<fake_transport>(server.transport());
    client_config cfg = by_issuer();
    cfg.dpop_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::eddsa);
    const auto e = oauth2cc_test::thrown_by([&] { oauth2cc::token_client(cfg, via).fetch(); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("DPoP proofs signed with EdDSA; it lists ES256, PS256") !=
          std::string::npos);
    for (const auto& req : via->requests) CHECK(req.method == "GET");  // no token request

    // A listed algorithm goes ahead; so does any, when the server lists none.
    cfg.dpop_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
    CHECK(oauth2cc::token_client(cfg, via).fetch().access_token.reveal() == "tok-123");
    server.doc.erase("dpop_signing_alg_values_supported");
    cfg.dpop_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::eddsa);
    CHECK(oauth2cc::token_client(cfg, via).fetch().access_token.reveal() == "tok-123");
}

TEST_CASE("discovery: a client that presents a certificate takes the mTLS alias (RFC 8705 §5)") {
    fake_server server;
    server.doc["token_endpoint_auth_methods_supported"] = {"tls_client_auth"};
    fake_transport metadata_only = server.transport();
    fake_transport via([&](const oauth2cc::http_request& req) {
        if (req.url.find("/.well-known/") != std::string::npos) return metadata_only.send(req);
        return oauth2cc::http_response{200, {{"Content-Type", "application/json"}}, token_body};
    });
    client_config cfg = by_issuer();
    cfg.auth = oauth2cc::auth_method::tls_client_auth;
    cfg.client_secret = oauth2cc::secret{};
    cfg.tls.client_cert_file = "client.pem";  // the fake transport opens no connection
    cfg.tls.client_key_file = "client-key.pem";
    CHECK(oauth2cc::request_token(cfg, via).access_token.reveal() == "tok-123");
    REQUIRE(via.requests.size() == 3);
    const oauth2cc::http_request& sent = via.requests.back();
    CHECK(sent.url == "https://mtls.example.com/token");
    // The handshake authenticates: client_id in the body, no secret, no Authorization.
    CHECK(sent.body.find("client_id=svc") != std::string::npos);
    CHECK(sent.body.find("client_secret") == std::string::npos);
    CHECK(oauth2cc_test::header_of(sent, "Authorization").empty());

    // Without a certificate, the tls methods are refused before any request.
    cfg.tls.client_cert_file.clear();
    cfg.tls.client_key_file.clear();
    CHECK(oauth2cc_test::refused_before_sending(cfg).kind() == oauth2cc::error_kind::config);
}
