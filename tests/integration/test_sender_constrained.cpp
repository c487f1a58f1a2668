// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_sender_constrained.cpp: DPoP-bound tokens (RFC 9449) from oidc-provider, which
// checks every proof, binds the token to the proof's key, and with --dpop-nonce wants a
// nonce of its own in every proof; certificate-bound tokens (RFC 8705) over HTTPS with the
// test PKI; and the example resource server holding both kinds to their binding.
// SPDX-License-Identifier: MIT

#include "../../examples/resource_server/api_server.hpp"
#include "../support/local_server.hpp"
#include "../support/peer_process.hpp"
#include "../support/test_helpers.hpp"
#include "../support/jwt_check.hpp"

#include <oauth2cc/detail/oauth/cache_key.hpp>
#include <oauth2cc/detail/oauth/dpop.hpp>
#include <oauth2cc/detail/crypto/jose.hpp>
#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc::jws_alg;
using oauth2cc::signing_key;
using oauth2cc_test::peer_process;
using oauth2cc_test::thrown_by;

namespace {

peer_process& server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "300"});
    return *peer;
}

// Over HTTPS with the test PKI, asking for client certificates (RFC 8705).
peer_process& mtls_server() {
    const auto& certs = oauth2cc_test::test_certificates();
    static const std::unique_ptr<peer_process> peer = oauth2cc_test::start_oidc_provider(
        {"--ttl", "300", "--https", "--cert", certs.server_cert, "--key", certs.server_key,
         "--client-ca", certs.ca_cert, "--self-signed-client-cert", certs.self_signed_cert});
    return *peer;
}

client_config mtls_config(oauth2cc::auth_method how) {
    const auto& certs = oauth2cc_test::test_certificates();
    client_config cfg;
    cfg.token_endpoint = mtls_server().info().at("token_endpoint").get<std::string>();
    cfg.auth = how;
    cfg.tls.ca_file = certs.ca_cert;
    if (how == oauth2cc::auth_method::tls_client_auth) {
        cfg.client_id = "mtls-client";
        cfg.tls.client_cert_file = certs.client_cert;
        cfg.tls.client_key_file = certs.client_key;
    } else {
        cfg.client_id = "self-signed-mtls-client";
        cfg.tls.client_cert_file = certs.self_signed_cert;
        cfg.tls.client_key_file = certs.self_signed_key;
    }
    cfg.scopes = {"read_date"};
    return cfg;
}

peer_process& nonce_server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "300", "--dpop-nonce"});
    return *peer;
}

client_config dpop_config(peer_process& at, const std::string& id, const std::string& secret) {
    client_config cfg;
    cfg.token_endpoint = at.info().at("token_endpoint").get<std::string>();
    cfg.client_id = id;
    cfg.client_secret = oauth2cc::secret{secret};
    cfg.scopes = {"read_date"};
    cfg.dpop_key = signing_key::generate(jws_alg::es256);
    return cfg;
}

// What the server's introspection endpoint says of a token.
oauth2cc::introspection_result introspected(peer_process& at, const oauth2cc::token& t) {
    client_config rs;
    rs.tls.ca_file = oauth2cc_test::test_certificates().ca_cert;
    rs.client_id = "resource-server";
    rs.client_secret = oauth2cc::secret{"resource-server-secret"};
    return oauth2cc::introspect(rs, at.info().at("introspection_endpoint").get<std::string>(),
                                t.access_token.reveal());
}

// The example resource server, checking tokens by introspection at this peer.
std::unique_ptr<oauth2cc_examples::api_server> start_api(
    peer_process& at, oauth2cc_examples::api_server_options options = {}) {
    client_config rs;
    rs.tls.ca_file = oauth2cc_test::test_certificates().ca_cert;
    rs.client_id = "resource-server";
    rs.client_secret = oauth2cc::secret{"resource-server-secret"};
    auto api = std::make_unique<oauth2cc_examples::api_server>(
        at.info().at("introspection_endpoint").get<std::string>(), rs, std::move(options));
    api->start();
    return api;
}

// One GET with exactly these headers: no retry, no help from the library.
oauth2cc::http_response raw_get(const std::string& url, oauth2cc::name_value_list headers,
                                const oauth2cc::connection_options& how = {}) {
    oauth2cc::httplib_transport transport(how);
    oauth2cc::http_request req;
    req.method = "GET";
    req.url = url;
    req.headers = std::move(headers);
    return transport.send(req);
}

// The values of a response's header, joined by " | ".
std::string header_values(const oauth2cc::http_response& res, std::string wanted) {
    const auto lower = [](std::string text) {
        for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return text;
    };
    std::string out;
    for (const auto& [name, value] : res.headers) {
        if (lower(name) == lower(wanted)) out += (out.empty() ? "" : " | ") + value;
    }
    return out;
}

std::string challenges(const oauth2cc::http_response& res) {
    return header_values(res, "WWW-Authenticate");
}

bool says(const oauth2cc::http_response& res, const std::string& error) {
    return res.status == 401 &&
           challenges(res).find("error=\"" + error + "\"") != std::string::npos;
}

int token_requests(peer_process& at) { return at.harness_stats().at("token_requests").get<int>(); }

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("DPoP: oidc-provider binds the token to the proof's key, for every key type") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    for (const jws_alg alg : {jws_alg::es256, jws_alg::es384, jws_alg::eddsa, jws_alg::ps256}) {
        CAPTURE(std::string(oauth2cc::to_string(alg)));
        client_config cfg = dpop_config(server(), "basic-client", "basic-secret");
        cfg.dpop_key = signing_key::generate(alg);
        const oauth2cc::token t = oauth2cc::request_token(cfg);
        CHECK(t.token_type == "DPoP");
        const auto seen = introspected(server(), t);
        CHECK(seen.active);
        CHECK(seen.token_type == "DPoP");
        CHECK(seen.raw.at("cnf").at("jkt") == cfg.dpop_key->jwk_thumbprint());
    }
}

TEST_CASE("DPoP: a client registered for bound tokens gets none without a proof") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    client_config cfg = dpop_config(server(), "dpop-client", "dpop-secret");
    CHECK(oauth2cc::request_token(cfg).token_type == "DPoP");
    cfg.dpop_key.reset();
    const auto e = thrown_by([&] { oauth2cc::request_token(cfg); });
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "invalid_grant");
}

TEST_CASE("DPoP: a token endpoint that wants its nonce gets it on the one retry") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    oauth2cc::token_manager tokens(dpop_config(nonce_server(), "basic-client", "basic-secret"));
    const int before = token_requests(nonce_server());
    const auto first = tokens.get();
    CHECK(first->token_type == "DPoP");
    // The first proof had no nonce: refused with use_dpop_nonce, then the retry had it.
    CHECK(token_requests(nonce_server()) - before == 2);
    CHECK(tokens.stats().fetches == 1);
    CHECK(tokens.stats().failures == 0);

    // A later request sends the kept nonce (or, if the server has moved on, answers the
    // new one once).
    tokens.invalidate(first.get());
    CHECK(tokens.get()->token_type == "DPoP");
    CHECK(token_requests(nonce_server()) - before <= 4);
    CHECK(tokens.stats().failures == 0);
}

TEST_CASE(
    "DPoP: many threads share one manager: one token request, and proofs that verify "
    "and never repeat") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const client_config cfg = dpop_config(server(), "dpop-client", "dpop-secret");
    oauth2cc::token_manager tokens(cfg);
    const int before = token_requests(server());
    std::mutex m;
    std::vector<std::string> proofs;
    oauth2cc_test::on_threads(8, [&](int i) {
        std::vector<std::string> mine;
        for (int k = 0; k < 25; ++k) {
            const auto headers = tokens.request_headers(
                k % 2 ? "GET" : "POST", "https://api.example.com/t" + std::to_string(i));
            REQUIRE(headers.size() == 2);
            mine.push_back(headers[1].second);
        }
        const std::lock_guard<std::mutex> lock(m);
        proofs.insert(proofs.end(), mine.begin(), mine.end());
    });
    CHECK(token_requests(server()) - before == 1);
    std::set<std::string> ids;
    for (const auto& proof : proofs) {
        const auto jwt = oauth2cc_test::split_jwt(proof);
        ids.insert(jwt.claims.at("jti").get<std::string>());
        CHECK(oauth2cc::detail::jwk_thumbprint_of(jwt.header.at("jwk")) ==
              cfg.dpop_key->jwk_thumbprint());
        CHECK(oauth2cc_test::verifies(jwt.header.at("jwk"), "ES256", jwt.signing_input,
                                      jwt.signature));
    }
    CHECK(ids.size() == proofs.size());
}

TEST_CASE(
    "mutual TLS: a token by tls_client_auth and by self_signed_tls_client_auth, bound "
    "to the certificate") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    for (const auto how : {oauth2cc::auth_method::tls_client_auth,
                           oauth2cc::auth_method::self_signed_tls_client_auth}) {
        const client_config cfg = mtls_config(how);
        CAPTURE(cfg.client_id);
        const oauth2cc::token t = oauth2cc::request_token(cfg);
        CHECK(t.token_type == "Bearer");
        const auto seen = introspected(mtls_server(), t);
        CHECK(seen.active);
        CHECK(seen.raw.at("cnf").at("x5t#S256") ==
              oauth2cc::detail::certificate_thumbprint_of_file(cfg.tls.client_cert_file));

        // Found by discovery too: the server lists the method.
        client_config found = cfg;
        found.token_endpoint.clear();
        found.issuer = mtls_server().info().at("issuer").get<std::string>();
        CHECK_FALSE(oauth2cc::request_token(found).access_token.empty());
    }
}

TEST_CASE("mutual TLS: what is refused") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    SUBCASE("no certificate configured: a config error before any request") {
        client_config cfg = mtls_config(oauth2cc::auth_method::tls_client_auth);
        cfg.tls.client_cert_file.clear();
        cfg.tls.client_key_file.clear();
        const auto e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("tls.client_cert_file") != std::string::npos);
    }
    SUBCASE("a certificate the client did not register: invalid_client") {
        client_config cfg = mtls_config(oauth2cc::auth_method::self_signed_tls_client_auth);
        const auto& certs = oauth2cc_test::test_certificates();
        cfg.tls.client_cert_file = certs.client_cert;
        cfg.tls.client_key_file = certs.client_key;
        const auto e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.oauth_error() == "invalid_client");
    }
}

TEST_CASE("mutual TLS: authorized_client presents the token_manager's certificate") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto& certs = oauth2cc_test::test_certificates();
    // An API that takes only connections with a certificate from the test CA.
    oauth2cc_test::local_server api(std::make_unique<httplib::SSLServer>(
        certs.server_cert.c_str(), certs.server_key.c_str(), certs.ca_cert.c_str()));
    api.server().Get("/date", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content(
            req.get_header_value("Authorization").rfind("Bearer ", 0) == 0 ? "ok" : "no",
            "text/plain");
    });
    api.start();
    oauth2cc::token_manager tokens(mtls_config(oauth2cc::auth_method::tls_client_auth));
    oauth2cc::client_options options;
    options.tls.ca_file = certs.ca_cert;
    oauth2cc::authorized_client client(api.url(true), tokens, options);
    const auto res = client.get("/date");
    CHECK(res.status == 200);
    CHECK(res.body == "ok");

    // The API does demand one: the same request without a certificate gets no answer.
    oauth2cc::httplib_transport no_cert(static_cast<const oauth2cc::connection_options&>(options));
    oauth2cc::http_request req;
    req.method = "GET";
    req.url = api.url(true) + "/date";
    const auto refused = thrown_by([&] { no_cert.send(req); }).kind();
    CHECK((refused == oauth2cc::error_kind::tls || refused == oauth2cc::error_kind::transport));
}

TEST_CASE(
    "DPoP at the resource server: the bound token with its proofs accepted; stolen, "
    "replayed, misdirected or sent as Bearer, refused") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto api = start_api(server());
    oauth2cc::token_manager tokens(dpop_config(server(), "dpop-client", "dpop-secret"));
    oauth2cc::authorized_client client(api->url(), tokens);
    CHECK(client.get("/api/date").status == 200);
    CHECK(client.get("/api/date").status == 200);
    CHECK(api->tokens_accepted() == 1);
    CHECK(api->refused() == 0);

    const std::string url = api->url() + "/api/date";
    const std::string token = tokens.get()->access_token.reveal();
    const auto proof_headers = tokens.request_headers("GET", url);
    CHECK(raw_get(url, proof_headers).status == 200);
    CHECK(says(raw_get(url, proof_headers), "invalid_dpop_proof"));  // the same proof again

    CHECK(says(raw_get(url, {{"Authorization", "Bearer " + token}}), "invalid_token"));
    CHECK(says(raw_get(url, {{"Authorization", "DPoP " + token}}), "invalid_dpop_proof"));
    CHECK(says(raw_get(url, tokens.request_headers("GET", api->url() + "/api/echo")),
               "invalid_dpop_proof"));
    CHECK(says(raw_get(url, tokens.request_headers("POST", url)), "invalid_dpop_proof"));

    // The thief has the token but not the key: a proof by its own key does not do.
    const oauth2cc::detail::dpop_prover thief(signing_key::generate(jws_alg::es256));
    CHECK(says(raw_get(url, {{"Authorization", "DPoP " + token},
                             {"DPoP", thief.proof("GET", url, "", token)}}),
               "invalid_dpop_proof"));

    // A bearer token is not made DPoP-bound by a proof.
    client_config bearer_config = dpop_config(server(), "basic-client", "basic-secret");
    bearer_config.dpop_key.reset();
    oauth2cc::token_manager bearer(bearer_config);
    const std::string plain = bearer.get()->access_token.reveal();
    CHECK(says(raw_get(url, {{"Authorization", "DPoP " + plain},
                             {"DPoP", thief.proof("GET", url, "", plain)}}),
               "invalid_token"));
    CHECK(raw_get(url, {{"Authorization", "Bearer " + plain}}).status == 200);

    // No token: both schemes offered.
    const auto none = raw_get(url, {});
    CHECK(none.status == 401);
    CHECK(challenges(none).find("Bearer realm=") != std::string::npos);
    CHECK(challenges(none).find("DPoP realm=") != std::string::npos);
}

TEST_CASE(
    "DPoP at the resource server: its nonce answered by authorized_client with one "
    "retry, then sent from the start") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    oauth2cc_examples::api_server_options options;
    options.require_dpop_nonce = true;
    const auto api = start_api(server(), options);
    oauth2cc::token_manager tokens(dpop_config(server(), "dpop-client", "dpop-secret"));
    const std::string url = api->url() + "/api/date";

    const auto first = raw_get(url, tokens.request_headers("GET", url));
    CHECK(says(first, "use_dpop_nonce"));
    CHECK_FALSE(header_values(first, "DPoP-Nonce").empty());

    oauth2cc::authorized_client client(api->url(), tokens);
    const int refused = api->refused();
    CHECK(client.get("/api/date").status == 200);
    CHECK(api->refused() - refused == 1);  // use_dpop_nonce, then the retry with it
    CHECK(client.get("/api/date").status == 200);
    CHECK(client.get("/api/date").status == 200);
    CHECK(api->refused() - refused == 1);  // remembered for the origin
}

TEST_CASE(
    "mutual TLS at the resource server: a certificate-bound token accepted with its "
    "certificate, refused without it or with another") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto& certs = oauth2cc_test::test_certificates();
    oauth2cc_examples::api_server_options options;
    options.tls_cert_file = certs.server_cert;
    options.tls_key_file = certs.server_key;
    options.request_client_certificate = true;
    const auto api = start_api(mtls_server(), options);
    REQUIRE(api->url().rfind("https://", 0) == 0);

    oauth2cc::token_manager tokens(mtls_config(oauth2cc::auth_method::tls_client_auth));
    oauth2cc::client_options client_options;
    client_options.tls.ca_file = certs.ca_cert;
    oauth2cc::authorized_client client(api->url(), tokens, client_options);
    CHECK(client.get("/api/date").status == 200);

    const std::string url = api->url() + "/api/date";
    const oauth2cc::name_value_list bearer{{"Authorization", tokens.authorization_header()}};
    oauth2cc::connection_options how;
    how.tls.ca_file = certs.ca_cert;
    const auto no_cert = raw_get(url, bearer, how);
    CHECK(says(no_cert, "invalid_token"));
    CHECK(challenges(no_cert).find("no certificate") != std::string::npos);

    how.tls.client_cert_file = certs.self_signed_cert;
    how.tls.client_key_file = certs.self_signed_key;
    const auto other_cert = raw_get(url, bearer, how);
    CHECK(says(other_cert, "invalid_token"));
    CHECK(challenges(other_cert).find("another certificate") != std::string::npos);

    how.tls.client_cert_file = certs.client_cert;
    how.tls.client_key_file = certs.client_key;
    CHECK(raw_get(url, bearer, how).status == 200);

    // The same from memory: the certificate and key as PEM text, for the token request
    // and, through the manager, for the API.
    client_config in_memory = mtls_config(oauth2cc::auth_method::tls_client_auth);
    in_memory.tls.client_cert_file.clear();
    in_memory.tls.client_key_file.clear();
    in_memory.tls.client_cert_pem = oauth2cc_test::read_file(certs.client_cert);
    in_memory.tls.client_key_pem = oauth2cc::secret{oauth2cc_test::read_file(certs.client_key)};
    CHECK(oauth2cc::detail::cache_key(in_memory) ==
          oauth2cc::detail::cache_key(mtls_config(oauth2cc::auth_method::tls_client_auth)));
    oauth2cc::token_manager from_memory(in_memory);
    oauth2cc::authorized_client memory_client(api->url(), from_memory, client_options);
    CHECK(memory_client.get("/api/date").status == 200);
    CHECK(introspected(mtls_server(), *from_memory.get()).raw.at("cnf").at("x5t#S256") ==
          oauth2cc::detail::certificate_thumbprint_of_file(certs.client_cert));
}

TEST_CASE(
    "DPoP at the resource server: a proof and token for one server are refused by another, "
    "whatever Host the request names") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    const auto a = start_api(server());
    const auto b = start_api(server());
    oauth2cc::token_manager tokens(dpop_config(server(), "dpop-client", "dpop-secret"));
    const std::string for_a = a->url() + "/api/date";
    const std::string a_host = a->origin().substr(std::string("http://").size());
    CHECK(raw_get(for_a, tokens.request_headers("GET", for_a)).status == 200);

    // Replayed at B with A's Host: B's origin is its own, so the request is misdirected.
    httplib::Client to_b("127.0.0.1", b->port());
    httplib::Headers replay;
    for (const auto& [name, value] : tokens.request_headers("GET", for_a)) {
        replay.emplace(name, value);
    }
    replay.emplace("Host", a_host);
    const auto misdirected = to_b.Get("/api/date", replay);
    REQUIRE(misdirected);
    CHECK(misdirected->status == 421);
    // With B's own Host, the proof names another URI.
    const auto replayed = raw_get(b->url() + "/api/date", tokens.request_headers("GET", for_a));
    CHECK(says(replayed, "invalid_dpop_proof"));
    CHECK(challenges(replayed).find("another URI") != std::string::npos);
    CHECK(b->tokens_accepted() == 0);
}

TEST_CASE("the resource server with an audience: tokens for it accepted, others refused") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    oauth2cc_examples::api_server_options options;
    options.audience = "urn:oauth2cc:test-api";
    const auto api = start_api(server(), options);
    client_config cfg = dpop_config(server(), "basic-client", "basic-secret");
    cfg.dpop_key.reset();
    {
        oauth2cc::token_manager tokens(cfg);
        oauth2cc::authorized_client client(api->url(), tokens);
        const auto res = client.get("/api/date");
        CHECK(res.status == 401);
        CHECK(challenges(res).find("not for this API") != std::string::npos);
    }
    cfg.resources = {"urn:oauth2cc:test-api"};
    oauth2cc::token_manager tokens(cfg);
    oauth2cc::authorized_client client(api->url(), tokens);
    CHECK(client.get("/api/date").status == 200);
    CHECK(api->tokens_accepted() == 1);
}

}  // TEST_SUITE("integration")
