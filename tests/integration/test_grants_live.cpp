// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_grants_live.cpp: token exchange (RFC 8693) against oidc-provider, whose exchange
// grant (registered through registerGrantType) checks each subject and actor JWT against
// its own key or the workload platform's: two hops, an actor, a workload's token from a
// file rotated under a running manager, discovery, each error, and N_A. The JWT bearer
// grant (RFC 7523 §2.1) against Authlib, which checks each assertion's signature,
// audience, subject and jti (a replay is refused).
// SPDX-License-Identifier: MIT

#include "../support/jwt_check.hpp"
#include "../support/peer_process.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc::grant_type;
using oauth2cc::signing_key;
using oauth2cc::token_manager;
namespace token_types = oauth2cc::token_types;
using oauth2cc_test::peer_process;
using oauth2cc_test::thrown_by;

namespace {

oauth2cc_test::temp_dir& key_dir() {
    static oauth2cc_test::temp_dir dir;
    return dir;
}

peer_process& server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "300", "--key-dir", key_dir().path.string()});
    return *peer;
}

std::string token_endpoint() { return server().info().at("token_endpoint").get<std::string>(); }

// basic-client's JWT access token for one API: the first hop.
client_config first_hop() {
    client_config cfg;
    cfg.token_endpoint = token_endpoint();
    cfg.client_id = "basic-client";
    cfg.client_secret = oauth2cc::secret{"basic-secret"};
    cfg.resources = {"https://api-1.example.com/"};
    return cfg;
}

client_config exchanging(std::function<std::string()> subject) {
    client_config cfg;
    cfg.token_endpoint = token_endpoint();
    cfg.client_id = "exchange-client";
    cfg.client_secret = oauth2cc::secret{"exchange-secret"};
    cfg.grant = grant_type::token_exchange;
    cfg.subject_token = std::move(subject);
    cfg.resources = {"https://api-2.example.com/"};
    cfg.scopes = {"read_date"};
    return cfg;
}

// A token as a workload platform issues it (a projected service-account token): a JWT
// signed by the platform's key, which the server trusts for subjects and actors.
std::string platform_token(const std::string& subject) {
    server();  // it writes the platform's key
    return oauth2cc::jwt_bearer_assertion(
        signing_key::from_pem_file(key_dir() / "workload.pem", "workload"),
        "https://platform.example", subject, "https://sts.example", std::chrono::seconds(600))();
}

nlohmann::json claims_of(const oauth2cc::token& t) {
    return oauth2cc_test::split_jwt(t.access_token.reveal()).claims;
}

int exchanges() { return server().harness_stats().at("exchanges").get<int>(); }

oauth2cc_test::temp_dir& authlib_key_dir() {
    static oauth2cc_test::temp_dir dir;
    return dir;
}

peer_process& authlib() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_authlib(authlib_key_dir().path.string());
    return *peer;
}

std::string authlib_endpoint() { return authlib().info().at("token_endpoint").get<std::string>(); }

// The key of Authlib's issuer "svc", which the server writes when it starts.
signing_key svc_key() {
    authlib();
    return signing_key::from_pem_file(authlib_key_dir() / "svc.pem", "svc-key");
}

// Authlib's issuer "svc" signing for subject.
std::function<std::string()> svc_assertions(const std::string& subject) {
    return oauth2cc::jwt_bearer_assertion(svc_key(), "svc", subject, authlib_endpoint());
}

client_config jwt_bearer(std::function<std::string()> assertion) {
    client_config cfg;
    cfg.token_endpoint = authlib_endpoint();
    cfg.client_id = "svc";
    cfg.auth = auth_method::none;
    cfg.grant = grant_type::jwt_bearer;
    cfg.grant_assertion = std::move(assertion);
    cfg.scopes = {"orders"};
    return cfg;
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("token exchange: two hops against oidc-provider, and a new first token exchanged anew") {
    token_manager first(first_hop());
    token_manager second(exchanging(oauth2cc::subject_token_of(first)));
    const int before = exchanges();
    const auto tok = second.get();
    CHECK(tok->issued_token_type == token_types::access_token);
    CHECK(tok->token_type == "Bearer");
    CHECK(tok->scope == "read_date");
    const auto claims = claims_of(*tok);
    CHECK(claims.at("sub") == "basic-client");
    CHECK(claims.at("client_id") == "exchange-client");
    CHECK(claims.at("aud") == "https://api-2.example.com/");
    CHECK(second.get() == tok);
    CHECK(exchanges() == before + 1);

    first.invalidate();  // the first hop's token changes: a new subject
    const auto again = second.get();
    CHECK(again->access_token.reveal() != tok->access_token.reveal());
    CHECK(exchanges() == before + 2);
    CHECK(second.entries() == 3);  // the own entry and one per subject
}

TEST_CASE("token exchange: an actor is named in act; private_key_jwt and discovery") {
    client_config cfg = exchanging([] { return platform_token("system:serviceaccount:ns:job"); });
    cfg.subject_token_type = token_types::jwt;
    cfg.actor_token = [] { return platform_token("system:serviceaccount:ns:gateway"); };
    cfg.actor_token_type = token_types::jwt;
    const auto claims = claims_of(oauth2cc::request_token(cfg));
    CHECK(claims.at("sub") == "system:serviceaccount:ns:job");
    CHECK(claims.at("act").at("sub") == "system:serviceaccount:ns:gateway");

    // Another client authentication method, with the endpoint found by discovery, which
    // lists the grant.
    client_config keyed = exchanging([] { return platform_token("user-7"); });
    keyed.token_endpoint.clear();
    keyed.issuer = server().info().at("issuer").get<std::string>();
    keyed.client_id = "key-p256-client";
    keyed.client_secret = oauth2cc::secret{};
    keyed.auth = auth_method::private_key_jwt;
    keyed.client_key = signing_key::from_pem_file(key_dir() / "key-p256.pem", "key-p256");
    token_manager tokens(keyed);
    CHECK(claims_of(*tokens.get()).at("client_id") == "key-p256-client");
    const auto meta = oauth2cc::discover(keyed);
    CHECK(std::count(meta.grant_types_supported.begin(), meta.grant_types_supported.end(),
                     "urn:ietf:params:oauth:grant-type:token-exchange") == 1);
}

TEST_CASE("token exchange: a workload's token from a file, rotated under a running manager") {
    oauth2cc_test::temp_dir dir;
    const std::string path = dir / "token";
    { std::ofstream(path) << platform_token("system:serviceaccount:ns:job-a") << "\n"; }
    client_config cfg = exchanging(oauth2cc::assertion_from_file(path));
    cfg.subject_token_type = token_types::jwt;
    token_manager tokens(cfg);
    tokens.start_background_refresh();
    const int before = exchanges();
    CHECK(claims_of(*tokens.get()).at("sub") == "system:serviceaccount:ns:job-a");
    CHECK(claims_of(*tokens.get()).at("sub") == "system:serviceaccount:ns:job-a");
    CHECK(exchanges() == before + 1);
    // The platform writes the next token beside it and renames it into place.
    { std::ofstream(dir / "next") << platform_token("system:serviceaccount:ns:job-b"); }
    std::filesystem::rename(dir / "next", path);
    CHECK(claims_of(*tokens.get()).at("sub") == "system:serviceaccount:ns:job-b");
    CHECK(exchanges() == before + 2);
    tokens.stop();
}

TEST_CASE("token exchange: the server's errors, and N_A for an id token") {
    // A subject no trusted key signed: invalid_grant, never retried at once, never quoted.
    const std::string forged = oauth2cc::jwt_bearer_assertion(
        signing_key::generate(), "https://platform.example", "intruder", "https://sts")();
    auto e = thrown_by([&] { oauth2cc::request_token(exchanging([&] { return forged; })); });
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "invalid_grant");
    CHECK(std::string(e.what()).find(forged) == std::string::npos);

    client_config elsewhere = exchanging([] { return platform_token("user-8"); });
    elsewhere.resources = {"https://elsewhere.example.com/"};
    e = thrown_by([&] { oauth2cc::request_token(elsewhere); });
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "invalid_target");

    client_config not_allowed = exchanging([] { return platform_token("user-8"); });
    not_allowed.client_id = "basic-client";
    not_allowed.client_secret = oauth2cc::secret{"basic-secret"};
    CHECK(thrown_by([&] { oauth2cc::request_token(not_allowed); }).kind() == error_kind::oauth);

    client_config id_token = exchanging([] { return platform_token("user-9"); });
    id_token.requested_token_type = token_types::id_token;
    token_manager tokens(id_token);
    const auto t = tokens.get();
    CHECK(t->token_type == "N_A");
    CHECK(t->issued_token_type == token_types::id_token);
    CHECK(claims_of(*t).at("sub") == "user-9");
    CHECK(thrown_by([&] { tokens.authorization_header(); }).kind() == error_kind::config);
}

TEST_CASE("JWT bearer grant: Authlib takes a new signed assertion for every request") {
    token_manager tokens(jwt_bearer(svc_assertions("user-42")));
    const auto first = tokens.get();
    CHECK(starts_with(first->access_token.reveal(), "jb.user-42."));
    CHECK(first->scope == "orders");
    CHECK(tokens.get() == first);
    const int before = authlib().harness_stats().at("assertions").get<int>();
    // Each request signs a new assertion: Authlib refuses a jti it has seen.
    for (int i = 0; i < 3; ++i) {
        // Each token served a call before it was dropped (else the rejection guard keeps
        // the second one dropped in a row).
        const auto served = tokens.get();
        tokens.note_accepted(*served);
        tokens.invalidate(served.get());
        CHECK(starts_with(tokens.get()->access_token.reveal(), "jb.user-42."));
    }
    CHECK(authlib().harness_stats().at("assertions").get<int>() == before + 3);

    // The endpoint found by discovery, whose metadata lists the grant.
    client_config found = jwt_bearer(svc_assertions("svc"));
    found.token_endpoint.clear();
    found.issuer = authlib().info().at("issuer").get<std::string>();
    CHECK(starts_with(oauth2cc::request_token(found).access_token.reveal(), "jb.svc."));
}

TEST_CASE("JWT bearer grant: a platform's assertion file, rotated to another subject") {
    oauth2cc_test::temp_dir dir;
    const std::string path = dir / "assertion.jwt";
    { std::ofstream(path) << svc_assertions("job-1")() << "\n"; }
    token_manager tokens(jwt_bearer(oauth2cc::assertion_from_file(path)));
    CHECK(starts_with(tokens.get()->access_token.reveal(), "jb.job-1."));
    { std::ofstream(dir / "next") << svc_assertions("job-2")(); }
    std::filesystem::rename(dir / "next", path);
    CHECK(starts_with(tokens.get()->access_token.reveal(), "jb.job-2."));
    CHECK(tokens.entries() == 3);
}

TEST_CASE("JWT bearer grant: Authlib's errors are oauth errors that never quote the assertion") {
    std::string sent;
    const auto source = svc_assertions("nobody");
    auto e =
        thrown_by([&] { oauth2cc::request_token(jwt_bearer([&] { return sent = source(); })); });
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "invalid_grant");
    CHECK(std::string(e.what()).find(sent) == std::string::npos);

    client_config scoped = jwt_bearer(svc_assertions("user-42"));
    scoped.scopes = {"admin"};
    e = thrown_by([&] { oauth2cc::request_token(scoped); });
    CHECK(e.oauth_error() == "invalid_scope");

    // An assertion for another audience.
    client_config elsewhere = jwt_bearer(oauth2cc::jwt_bearer_assertion(
        svc_key(), "svc", "user-42", "https://elsewhere.example/token"));
    CHECK(thrown_by([&] { oauth2cc::request_token(elsewhere); }).oauth_error() == "invalid_grant");
}

}  // TEST_SUITE("integration")
