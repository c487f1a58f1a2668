// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_grants.cpp: the grants beyond client credentials: token exchange (RFC 8693) and the
// JWT bearer grant (RFC 7523 §2.1): their requests with every kind of client
// authentication, their responses (issued_token_type, N_A), their errors, the subject a
// token_manager follows, two hops, and the keys that keep subjects apart.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"
#include "../support/jwt_check.hpp"
#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/detail/manager/manager_core.hpp>
#include <oauth2cc/detail/oauth/cache_key.hpp>
#include <oauth2cc/detail/oauth/metadata.hpp>
#include <oauth2cc/detail/oauth/token_request.hpp>
#include <oauth2cc/file_token_store.hpp>
#include <oauth2cc/prometheus.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc::grant_type;
using oauth2cc::signing_key;
using oauth2cc::token_manager;
namespace token_types = oauth2cc::token_types;
using oauth2cc_test::fake_transport;
using oauth2cc_test::thrown_by;
using oauth2cc_test::form_field;

namespace {

const char* exchange_grant = "urn:ietf:params:oauth:grant-type:token-exchange";
const char* jwt_grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const char* subject_a = "SUBJECT-token-aaaa-0123456789";
const char* subject_b = "SUBJECT-token-bbbb-9876543210";

// The names of a request body's fields, in order.
std::vector<std::string> names(const std::string& body) {
    std::vector<std::string> out;
    if (const auto form = oauth2cc::detail::parse_form(body)) {
        for (const auto& kv : *form) out.push_back(kv.first);
    }
    return out;
}

// A subject source whose value a test changes, counting its calls.
struct subject_source {
    std::mutex mutex;
    std::string value = subject_a;
    int calls = 0;
    std::function<std::string()> fn() {
        return [this] {
            const std::lock_guard<std::mutex> lock(mutex);
            ++calls;
            return value;
        };
    }
    void set(std::string v) {
        const std::lock_guard<std::mutex> lock(mutex);
        value = std::move(v);
    }
};

client_config exchange_config(std::function<std::string()> subject) {
    client_config cfg = oauth2cc_test::secret_client("gateway", "S3CRET-grants-7", {"orders"});
    cfg.grant = grant_type::token_exchange;
    cfg.subject_token = std::move(subject);
    return cfg;
}

// A token endpoint that answers an exchange with "ex-<n>" and issued_token_type access
// token, and keeps every request.
struct exchange_endpoint : oauth2cc::transport {
    std::mutex mutex;
    std::vector<oauth2cc::http_request> requests;
    std::string extra = R"(,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token")";
    std::string type = "Bearer";

    oauth2cc::http_response send(const oauth2cc::http_request& req) override {
        const std::lock_guard<std::mutex> lock(mutex);
        requests.push_back(req);
        return {200,
                {{"Content-Type", "application/json"}},
                R"({"access_token":"ex-)" + std::to_string(requests.size()) +
                    R"(","token_type":")" + type + R"(","expires_in":3600)" + extra + "}"};
    }
    std::size_t count() {
        const std::lock_guard<std::mutex> lock(mutex);
        return requests.size();
    }
    oauth2cc::http_request last() {
        const std::lock_guard<std::mutex> lock(mutex);
        return requests.back();
    }
};

// The caller a thread serves, for a subject source that passes the caller's token on.
thread_local std::string caller;

template <class T>
std::shared_ptr<oauth2cc::transport> borrowed(T& t) {
    return std::shared_ptr<oauth2cc::transport>(&t, [](oauth2cc::transport*) {});
}

}  // namespace

TEST_CASE("token exchange: the request of RFC 8693 §2.1, and its response") {
    exchange_endpoint server;
    client_config cfg = exchange_config([] { return std::string(subject_a); });
    cfg.audience = "https://orders.example.com";
    cfg.resources = {"https://orders.example.com/api"};
    const auto tok = oauth2cc::request_token(cfg, server);
    REQUIRE(server.requests.size() == 1);
    const std::string& body = server.requests[0].body;
    CHECK(form_field(body, "grant_type") == exchange_grant);
    CHECK(form_field(body, "subject_token") == subject_a);
    CHECK(form_field(body, "subject_token_type") == token_types::access_token);
    CHECK(form_field(body, "scope") == "orders");
    CHECK(form_field(body, "audience") == "https://orders.example.com");
    CHECK(form_field(body, "resource") == "https://orders.example.com/api");
    for (const char* absent : {"actor_token", "actor_token_type", "requested_token_type"}) {
        CHECK(form_field(body, absent).empty());
    }
    CHECK(oauth2cc_test::header_of(server.requests[0], "Authorization").rfind("Basic ", 0) == 0);
    CHECK(tok.access_token.reveal() == "ex-1");
    CHECK(tok.issued_token_type == token_types::access_token);
    CHECK(tok.token_type == "Bearer");

    // An actor, a requested type, and the client in the body.
    cfg.actor_token = [] { return std::string("ACTOR-token-5555"); };
    cfg.actor_token_type = token_types::jwt;
    cfg.subject_token_type = token_types::id_token;
    cfg.requested_token_type = token_types::access_token;
    cfg.auth = auth_method::client_secret_post;
    oauth2cc::request_token(cfg, server);
    const std::string& second = server.requests[1].body;
    CHECK(form_field(second, "actor_token") == "ACTOR-token-5555");
    CHECK(form_field(second, "actor_token_type") == token_types::jwt);
    CHECK(form_field(second, "subject_token_type") == token_types::id_token);
    CHECK(form_field(second, "requested_token_type") == token_types::access_token);
    CHECK(form_field(second, "client_id") == "gateway");
    CHECK(form_field(second, "client_secret") == "S3CRET-grants-7");
    CHECK(oauth2cc_test::header_of(server.requests[1], "Authorization").empty());

    // auth_method::none: client_id alone.
    cfg.auth = auth_method::none;
    oauth2cc::request_token(cfg, server);
    CHECK(form_field(server.requests[2].body, "client_id") == "gateway");
    CHECK(form_field(server.requests[2].body, "client_secret").empty());
    CHECK(oauth2cc_test::header_of(server.requests[2], "Authorization").empty());
}

TEST_CASE("token exchange: with private_key_jwt, DPoP and a client certificate") {
    exchange_endpoint server;
    client_config cfg = exchange_config([] { return std::string(subject_a); });
    cfg.auth = auth_method::private_key_jwt;
    cfg.client_key = signing_key::generate();
    cfg.dpop_key = signing_key::generate();
    server.type = "DPoP";
    const auto tok = oauth2cc::request_token(cfg, server);
    const auto& req = server.requests.at(0);
    CHECK(form_field(req.body, "grant_type") == exchange_grant);
    CHECK(form_field(req.body, "subject_token") == subject_a);
    CHECK(form_field(req.body, "client_assertion_type") ==
          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    const auto assertion = oauth2cc_test::split_jwt(form_field(req.body, "client_assertion"));
    CHECK(assertion.claims.at("sub") == "gateway");
    const auto proof = oauth2cc_test::split_jwt(oauth2cc_test::header_of(req, "DPoP"));
    CHECK(proof.header.at("typ") == "dpop+jwt");
    CHECK(tok.token_type == "DPoP");

    // tls_client_auth: client_id in the body, the certificate in the key.
    client_config mtls = exchange_config([] { return std::string(subject_a); });
    mtls.auth = auth_method::tls_client_auth;
    mtls.tls.client_cert_file = "client.pem";
    mtls.tls.client_key_file = "client.key";
    oauth2cc::detail::prepared_token_request prepared(mtls);
    CHECK(form_field(prepared.request.body, "client_id") == "gateway");
    CHECK(oauth2cc::detail::cache_key(mtls).find("client_cert=") != std::string::npos);
}

TEST_CASE("token exchange: issued_token_type is required, and N_A only for a non-access token") {
    exchange_endpoint server;
    client_config cfg = exchange_config([] { return std::string(subject_a); });
    server.extra = "";
    auto e = thrown_by([&] { oauth2cc::request_token(cfg, server); });
    CHECK(e.kind() == error_kind::bad_response);
    CHECK(std::string(e.what()).find("issued_token_type") != std::string::npos);

    server.extra = R"(,"issued_token_type":"urn:ietf:params:oauth:token-type:id_token")";
    server.type = "N_A";
    e = thrown_by([&] { oauth2cc::request_token(cfg, server); });
    CHECK(e.kind() == error_kind::bad_response);
    CHECK(std::string(e.what()).find("N_A") != std::string::npos);
    cfg.requested_token_type = token_types::access_token;
    CHECK(thrown_by([&] { oauth2cc::request_token(cfg, server); }).kind() ==
          error_kind::bad_response);

    cfg.requested_token_type = token_types::id_token;
    const auto tok = oauth2cc::request_token(cfg, server);
    CHECK(tok.token_type == "N_A");
    CHECK(tok.issued_token_type == token_types::id_token);

    // Never attached to a request.
    token_manager tokens(cfg, {}, borrowed(server));
    CHECK(tokens.get()->token_type == "N_A");
    CHECK(thrown_by([&] { tokens.authorization_header(); }).kind() == error_kind::config);
    CHECK(thrown_by([&] { tokens.request_headers("GET", "https://api.example.com/x"); }).kind() ==
          error_kind::config);
    auto api_calls = fake_transport::answering(200, "{}");
    oauth2cc::authorized_client api("https://api.example.com", tokens, {}, borrowed(api_calls));
    CHECK(thrown_by([&] { api.get("/x"); }).kind() == error_kind::config);
    CHECK(api_calls.requests.empty());

    // A client-credentials client takes no N_A either.
    client_config plain = oauth2cc_test::secret_client("svc", "S3CRET-grants-7");
    auto na = fake_transport::answering(
        200, R"({"access_token":"x","token_type":"N_A","issued_token_type":"urn:x"})");
    CHECK(thrown_by([&] { oauth2cc::request_token(plain, na); }).kind() ==
          error_kind::bad_response);
    // ...but keeps an issued_token_type a server sends.
    auto typed = fake_transport::answering(
        200, R"({"access_token":"x","token_type":"Bearer","issued_token_type":"urn:x"})");
    CHECK(oauth2cc::request_token(plain, typed).issued_token_type == "urn:x");
}

TEST_CASE("token exchange: the errors of RFC 8693 §2.2.2 are oauth errors, and hide the tokens") {
    client_config cfg = exchange_config([] { return std::string(subject_a); });
    cfg.actor_token = [] { return std::string("ACTOR-token-5555"); };
    cfg.actor_token_type = token_types::access_token;
    for (const char* code : {"invalid_request", "invalid_target", "invalid_grant"}) {
        CAPTURE(code);
        auto server = fake_transport::answering(
            400, std::string(R"({"error":")") + code +
                     R"(","error_description":"bad subject SUBJECT-token-aaaa-0123456789 )"
                     R"(and actor ACTOR-token-5555"})");
        const auto e = thrown_by([&] { oauth2cc::request_token(cfg, server); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == code);
        CHECK(e.http_status() == 400);
        const std::string all = std::string(e.what()) + e.error_description();
        CHECK(all.find(subject_a) == std::string::npos);
        CHECK(all.find("ACTOR-token-5555") == std::string::npos);
    }
}

TEST_CASE("token exchange and JWT bearer: what each needs, refused before anything is sent") {
    const auto refused = [](const client_config& cfg, const char* words) {
        const auto e = oauth2cc_test::refused_before_sending(cfg);
        CHECK(e.kind() == error_kind::config);
        CHECK_MESSAGE(std::string(e.what()).find(words) != std::string::npos, e.what());
    };
    client_config cfg = exchange_config(nullptr);
    refused(cfg, "subject_token");
    cfg.subject_token = [] { return std::string(subject_a); };
    cfg.actor_token = [] { return std::string("ACTOR"); };
    refused(cfg, "actor_token_type");
    cfg.actor_token = nullptr;
    cfg.actor_token_type = token_types::jwt;
    refused(cfg, "actor_token");
    cfg.actor_token_type.clear();
    cfg.subject_token_type.clear();
    refused(cfg, "subject_token_type");
    cfg.subject_token_type = "urn:with space";
    refused(cfg, "subject_token_type");
    cfg.subject_token_type = token_types::access_token;
    cfg.extra_params = {{"subject_token", "x"}};
    refused(cfg, "reserved");
    cfg.extra_params = {{"assertion", "x"}};
    refused(cfg, "reserved");
    cfg.extra_params.clear();
    cfg.grant_assertion = [] { return std::string("a.b.c"); };
    refused(cfg, "grant_assertion");

    client_config plain = oauth2cc_test::secret_client("svc", "S3CRET-grants-7");
    plain.subject_token = [] { return std::string(subject_a); };
    refused(plain, "token_exchange");
    plain.subject_token = nullptr;
    plain.requested_token_type = token_types::jwt;
    refused(plain, "token_exchange");

    client_config jwt = oauth2cc_test::secret_client("svc", "S3CRET-grants-7");
    jwt.grant = grant_type::jwt_bearer;
    refused(jwt, "grant_assertion");
}

TEST_CASE("token exchange: a source that fails, returns nothing or no token sends nothing") {
    const std::vector<std::pair<std::function<std::string()>, std::string>> sources = {
        {[]() -> std::string { throw std::runtime_error("cannot read SUBJECT-secret-x"); },
         "threw"},
        {[]() -> std::string { throw oauth2cc::error(error_kind::config, "named file"); },
         "named file"},
        {[] { return std::string(); }, "nothing"},
        {[] { return std::string("SUBJECT-secret-x with space"); }, "spaces"},
    };
    for (const auto& row : sources) {
        const auto& source = row.first;
        const std::string& words = row.second;
        CAPTURE(words);
        const auto e = oauth2cc_test::refused_before_sending(exchange_config(source));
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find(words) != std::string::npos);
        CHECK(std::string(e.what()).find("SUBJECT-secret-x") == std::string::npos);
        // A manager's get() says the same, and sends nothing either.
        exchange_endpoint server;
        token_manager tokens(exchange_config(source), {}, borrowed(server));
        CHECK(thrown_by([&] { tokens.get(); }).kind() == error_kind::config);
        CHECK(server.count() == 0);
    }
    // The actor's source too.
    client_config cfg = exchange_config([] { return std::string(subject_a); });
    cfg.actor_token = [] { return std::string(); };
    cfg.actor_token_type = token_types::jwt;
    CHECK(std::string(oauth2cc_test::refused_before_sending(cfg).what()).find("actor_token") !=
          std::string::npos);
}

TEST_CASE("token_manager: token exchange follows the subject; each subject its own token") {
    exchange_endpoint server;
    subject_source subject;
    token_manager tokens(exchange_config(subject.fn()), {}, borrowed(server));
    const auto first = tokens.get();
    CHECK(first->access_token.reveal() == "ex-1");
    CHECK(tokens.get() == first);  // cached: no new request
    CHECK(server.count() == 1);
    CHECK(subject.calls == 2);  // every get() asks the source, once

    subject.set(subject_b);  // a rotated subject: a new exchange
    CHECK(tokens.get()->access_token.reveal() == "ex-2");
    CHECK(form_field(server.last().body, "subject_token") == subject_b);
    CHECK(tokens.get()->access_token.reveal() == "ex-2");
    subject.set(subject_a);  // the first subject's token is still its own
    CHECK(tokens.get()->access_token.reveal() == "ex-1");
    CHECK(server.count() == 2);
    CHECK(tokens.entries() == 3);  // the config's own, which holds none, and two subjects
    CHECK(tokens.authorization_header() == "Bearer ex-1");

    // invalidate() drops the current subject's token only.
    tokens.invalidate();
    CHECK(tokens.get()->access_token.reveal() == "ex-3");
    CHECK(form_field(server.last().body, "subject_token") == subject_a);
    subject.set(subject_b);
    CHECK(tokens.get()->access_token.reveal() == "ex-2");

    // Keyed reads follow the subject too.
    auto p = oauth2cc::params_of(tokens.config());
    p.audience = "https://billing.example.com";
    CHECK(tokens.get(p)->access_token.reveal() == "ex-4");
    CHECK(form_field(server.last().body, "audience") == "https://billing.example.com");
    CHECK(form_field(server.last().body, "subject_token") == subject_b);
    CHECK(tokens.try_get(p)->access_token.reveal() == "ex-4");
    subject.set(subject_a);
    CHECK(tokens.get(p)->access_token.reveal() == "ex-5");
    CHECK(server.count() == 5);

    // No subject token in the keys; different subjects, different keys.
    CHECK(tokens.cache_key().find(subject_a) == std::string::npos);
    CHECK(tokens.cache_key().find("grant=token_exchange") != std::string::npos);
}

TEST_CASE("token_manager: a new actor is a new exchange; requests send the entry's subject") {
    exchange_endpoint server;
    subject_source subject;
    subject_source actor;
    actor.set("ACTOR-1");
    client_config cfg = exchange_config(subject.fn());
    cfg.actor_token = actor.fn();
    cfg.actor_token_type = token_types::access_token;
    oauth2cc::refresh_policy policy;
    policy.early = 0s;
    policy.early_fraction = 0;
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    token_manager tokens(cfg, policy, borrowed(server), clock);
    CHECK(tokens.get()->access_token.reveal() == "ex-1");
    actor.set("ACTOR-2");
    CHECK(tokens.get()->access_token.reveal() == "ex-2");
    CHECK(form_field(server.last().body, "actor_token") == "ACTOR-2");
    CHECK(server.count() == 2);

    // A refresh after expiry sends the subject its entry was made for, whatever the
    // source says meanwhile on other threads.
    clock->advance(3601s);
    std::thread([&] { subject.set(subject_b); }).join();
    subject.set(subject_a);
    CHECK(tokens.get()->access_token.reveal() == "ex-3");
    CHECK(form_field(server.last().body, "subject_token") == subject_a);
    CHECK(form_field(server.last().body, "actor_token") == "ACTOR-2");
}

TEST_CASE("token_manager: threads with their own subjects (delegation) never share a token") {
    exchange_endpoint server;
    // Each thread's caller: the subject is the thread's own, as a gateway passes the
    // caller's token on.
    token_manager tokens(exchange_config([] { return caller; }), {}, borrowed(server));
    std::mutex seen_mutex;
    std::set<std::string> seen;
    oauth2cc_test::on_threads(4, [&](int i) {
        caller = "CALLER-" + std::to_string(i % 2) + "-token";
        for (int round = 0; round < 200; ++round) {
            const auto tok = tokens.get();
            // The request that made this token sent this thread's subject.
            const std::lock_guard<std::mutex> lock(server.mutex);
            const std::size_t n = std::stoul(tok->access_token.reveal().substr(3));
            REQUIRE(n <= server.requests.size());
            CHECK(form_field(server.requests[n - 1].body, "subject_token") == caller);
            if (round == 0) {
                const std::lock_guard<std::mutex> again(seen_mutex);
                seen.insert(tok->access_token.reveal());
            }
        }
    });
    CHECK(server.count() == 2);  // one exchange per subject
    CHECK(seen.size() == 2);
}

TEST_CASE("subject_token_of: two hops, and a new first token means a new exchange") {
    oauth2cc_test::token_endpoint_fake first_server;  // tok-1, tok-2, ...
    token_manager first(oauth2cc_test::secret_client("workload", "S3CRET-grants-7"), {},
                        borrowed(first_server));
    exchange_endpoint second_server;
    client_config cfg = exchange_config(oauth2cc::subject_token_of(first));
    token_manager second(cfg, {}, borrowed(second_server));
    CHECK(second.get()->access_token.reveal() == "ex-1");
    CHECK(form_field(second_server.last().body, "subject_token") == "tok-1");
    CHECK(second.get()->access_token.reveal() == "ex-1");
    CHECK(second_server.count() == 1);

    first.invalidate();                                    // the first hop's token changes...
    CHECK(second.get()->access_token.reveal() == "ex-2");  // ...so the second exchanges anew
    CHECK(form_field(second_server.last().body, "subject_token") == "tok-2");
    CHECK(first_server.requests() == 2);

    // Of a keyed token of the first manager.
    auto p = oauth2cc::params_of(first.config());
    p.audience = "https://sts.example.com";
    token_manager third(exchange_config(oauth2cc::subject_token_of(first, p)), {},
                        borrowed(second_server));
    CHECK(third.get()->access_token.reveal() == "ex-3");
    CHECK(form_field(second_server.last().body, "subject_token") == "tok-3");
}

TEST_CASE("a credential source that asks another manager never needs a second worker") {
    // Each outer fetch runs on a shared worker and asks another manager for its client
    // assertion; with every worker so waiting, the inner fetches ran on no one. More
    // callers than the workers that can exist at once (whatever earlier tests started).
    constexpr int callers = 40;
    exchange_endpoint platform, server;
    std::vector<std::unique_ptr<token_manager>> inner, outer;
    for (int i = 0; i < callers; ++i) {
        inner.push_back(std::make_unique<token_manager>(
            oauth2cc_test::secret_client("platform-" + std::to_string(i), "S3CRET-grants-7"),
            oauth2cc::refresh_policy{}, borrowed(platform)));
        client_config cfg = oauth2cc_test::secret_client("svc-" + std::to_string(i), "");
        cfg.auth = auth_method::client_assertion;
        // A bound on the wait, so that a run without the fix fails rather than hangs.
        cfg.client_assertion = [m = inner.back().get()] {
            return m->get(std::chrono::seconds(20))->access_token.reveal();
        };
        outer.push_back(
            std::make_unique<token_manager>(cfg, oauth2cc::refresh_policy{}, borrowed(server)));
    }
    std::atomic<int> served{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < callers; ++i) {
        threads.emplace_back([&, i] {
            try {
                if (!outer[static_cast<std::size_t>(i)]->get()->access_token.empty()) ++served;
            } catch (const oauth2cc::error&) {}
        });
    }
    for (auto& t : threads) t.join();
    CHECK(served == callers);
    CHECK(platform.count() == callers);
    CHECK(server.count() == callers);
}

TEST_CASE("jwt_bearer_assertion: the claims of RFC 7523 §3, a new jti each time") {
    const auto key = signing_key::generate(oauth2cc::jws_alg::es256);
    const auto make = oauth2cc::jwt_bearer_assertion(key, "svc@project.example", "user-42",
                                                     "https://auth.example.com/token", 120s,
                                                     {{"scope", "orders"}, {"nbf", 1}});
    std::set<std::string> jtis;
    for (int i = 0; i < 2; ++i) {
        const auto jwt = oauth2cc_test::split_jwt(make());
        CHECK(jwt.header.at("alg") == "ES256");
        CHECK(jwt.header.at("typ") == "JWT");
        CHECK(jwt.header.at("kid") == key.kid());
        CHECK(jwt.claims.at("iss") == "svc@project.example");
        CHECK(jwt.claims.at("sub") == "user-42");
        CHECK(jwt.claims.at("aud") == "https://auth.example.com/token");
        CHECK(jwt.claims.at("scope") == "orders");
        CHECK(jwt.claims.at("exp").get<std::int64_t>() ==
              jwt.claims.at("iat").get<std::int64_t>() + 120);
        CHECK(oauth2cc_test::base64url_decode(jwt.claims.at("jti")).size() >= 16);
        jtis.insert(jwt.claims.at("jti"));
        CHECK(oauth2cc_test::verifies(key.public_jwk(), "ES256", jwt.signing_input, jwt.signature));
    }
    CHECK(jtis.size() == 2);

    const auto refused = [&](auto call) { CHECK(thrown_by(call).kind() == error_kind::config); };
    refused([&] { oauth2cc::jwt_bearer_assertion(key, "", "s", "a"); });
    refused([&] { oauth2cc::jwt_bearer_assertion(key, "i", "", "a"); });
    refused([&] { oauth2cc::jwt_bearer_assertion(key, "i", "s", ""); });
    refused([&] { oauth2cc::jwt_bearer_assertion(key, "i", "s", "a", 0s); });
    refused([&] { oauth2cc::jwt_bearer_assertion(key, "i", "s", "a", 2h); });
    refused([&] { oauth2cc::jwt_bearer_assertion(key, "i", "s", "a", 60s, {{"sub", "x"}}); });
    refused([&] { oauth2cc::jwt_bearer_assertion(key, "i", "s", "a", 60s, nlohmann::json(3)); });
}

TEST_CASE("JWT bearer grant: the request of RFC 7523 §2.1, keyed by the assertion's subject") {
    exchange_endpoint server;
    server.extra = "";
    const auto key = signing_key::generate();
    client_config cfg = oauth2cc_test::secret_client("svc", "S3CRET-grants-7", {"orders"});
    cfg.auth = auth_method::none;
    cfg.grant = grant_type::jwt_bearer;
    cfg.grant_assertion =
        oauth2cc::jwt_bearer_assertion(key, "svc", "user-42", "https://auth.example.com/token");
    token_manager tokens(cfg, {}, borrowed(server));
    CHECK(tokens.get()->access_token.reveal() == "ex-1");
    CHECK(tokens.get()->access_token.reveal() == "ex-1");
    REQUIRE(server.count() == 1);
    const std::string body = server.last().body;
    CHECK(form_field(body, "grant_type") == jwt_grant);
    CHECK(oauth2cc_test::split_jwt(form_field(body, "assertion")).claims.at("sub") == "user-42");
    CHECK(form_field(body, "scope") == "orders");
    CHECK(form_field(body, "client_id") == "svc");
    CHECK(names(body) == std::vector<std::string>{"grant_type", "scope", "client_id", "assertion"});
    CHECK(tokens.entries() == 1);  // the signer's subject is known: the own entry serves
    CHECK(tokens.cache_key().find("assertion_sub=user-42") != std::string::npos);

    client_config other = cfg;
    other.grant_assertion =
        oauth2cc::jwt_bearer_assertion(key, "svc", "user-43", "https://auth.example.com/token");
    CHECK(token_manager(other, {}, borrowed(server)).cache_key() != tokens.cache_key());

    // Every lasting claim and the key are in the key: assertions that would get other
    // tokens never share one (through a shared store, one was served the other's).
    const auto key_of = [&](std::function<std::string()> assertion) {
        client_config c = cfg;
        c.grant_assertion = std::move(assertion);
        return oauth2cc::detail::cache_key(c);
    };
    const std::string aud = "https://auth.example.com/token";
    const std::string plain = key_of(oauth2cc::jwt_bearer_assertion(key, "svc", "user-42", aud));
    CHECK(plain == key_of(oauth2cc::jwt_bearer_assertion(key, "svc", "user-42", aud, 30s)));
    const std::set<std::string> keys = {
        plain,
        key_of(
            oauth2cc::jwt_bearer_assertion(key, "svc", "user-42", aud, 60s, {{"scope", "admin"}})),
        key_of(
            oauth2cc::jwt_bearer_assertion(key, "svc", "user-42", aud, 60s, {{"scope", "read"}})),
        key_of(oauth2cc::jwt_bearer_assertion(key, "svc", "user-42", "https://other/token")),
        key_of(oauth2cc::jwt_bearer_assertion(signing_key::generate(), "svc", "user-42", aud)),
    };
    CHECK(keys.size() == 5);

    // With client authentication as well (RFC 7523 §3.1 allows both).
    cfg.auth = auth_method::client_secret_basic;
    oauth2cc::request_token(cfg, server);
    CHECK(oauth2cc_test::header_of(server.last(), "Authorization").rfind("Basic ", 0) == 0);
    CHECK(form_field(server.last().body, "client_id").empty());
}

TEST_CASE("JWT bearer grant: an assertion made elsewhere is keyed by its lasting claims") {
    using oauth2cc::detail::assertion_subject_key;
    const auto key = signing_key::generate(oauth2cc::jws_alg::es256);
    const auto make = [&](nlohmann::json extra, const signing_key& by) {
        return oauth2cc::jwt_bearer_assertion(by, "platform", "job-1", "https://auth", 60s,
                                              std::move(extra))();
    };
    // A new assertion (new iat, exp, jti) of the same claims: the same key.
    CHECK(assertion_subject_key(make({}, key)) == assertion_subject_key(make({}, key)));
    const std::set<std::string> keys = {
        assertion_subject_key(make({}, key)),
        assertion_subject_key(make({{"scope", "admin"}}, key)),
        assertion_subject_key(make({{"nbf_hint", 1}}, key)),
        // Another signer, as its JWS header names it (alg, kid).
        assertion_subject_key(make({}, signing_key::generate(oauth2cc::jws_alg::rs256))),
    };
    CHECK(keys.size() == 4);
    // nbf is one of the claims that change with each assertion.
    CHECK(assertion_subject_key(make({{"nbf", 1}}, key)) ==
          assertion_subject_key(make({{"nbf", 2}}, key)));
}

TEST_CASE("JWT bearer grant: an assertion from a file is keyed by its iss and sub") {
    oauth2cc_test::temp_dir dir;
    const std::string path = dir / "assertion.jwt";
    const auto key = signing_key::generate();
    const auto sign_for = [&](const std::string& sub) {
        return oauth2cc::jwt_bearer_assertion(key, "platform", sub, "https://auth")();
    };
    { std::ofstream(path) << sign_for("job-1") << "\n"; }
    exchange_endpoint server;
    server.extra = "";
    client_config cfg = oauth2cc_test::secret_client("svc", "S3CRET-grants-7");
    cfg.grant = grant_type::jwt_bearer;
    cfg.grant_assertion = oauth2cc::assertion_from_file(path);
    token_manager tokens(cfg, {}, borrowed(server));
    CHECK(tokens.get()->access_token.reveal() == "ex-1");
    // A new assertion for the same subject (the platform rotated it): the same token.
    { std::ofstream(path) << sign_for("job-1") << "  \n"; }
    CHECK(tokens.get()->access_token.reveal() == "ex-1");
    CHECK(server.count() == 1);
    // Another subject: another token.
    const std::string job2 = dir / "job2.jwt";
    { std::ofstream(job2) << sign_for("job-2"); }
    std::filesystem::rename(job2, path);
    CHECK(tokens.get()->access_token.reveal() == "ex-2");
    CHECK(oauth2cc_test::split_jwt(form_field(server.last().body, "assertion")).claims.at("sub") ==
          "job-2");
    // Not a JWT: a config error, nothing sent.
    { std::ofstream(path) << "not-a-jwt"; }
    CHECK(thrown_by([&] { tokens.get(); }).kind() == error_kind::config);
    CHECK(server.count() == 2);
}

TEST_CASE("assertion_from_file: re-read only when the file changed, rotation by rename") {
    oauth2cc_test::temp_dir dir;
    const std::string path = dir / "token";
    { std::ofstream(path) << "first-token\n"; }
    const auto source = oauth2cc::assertion_from_file(path);
    CHECK(source() == "first-token");
    CHECK(source() == "first-token");
    const std::string next = dir / "next";
    { std::ofstream(next) << "second-token"; }
    std::filesystem::rename(next, path);
    CHECK(source() == "second-token");
    // Rewritten in place with the same size: its times changed.
    { std::ofstream(path) << "third--token"; }
    CHECK(source() == "third--token");
    std::filesystem::remove(path);
    const auto e = thrown_by([&] { source(); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(std::string(e.what()).find("third") == std::string::npos);
}

TEST_CASE("token exchange: the stored file is keyed per subject and holds no subject token") {
    oauth2cc_test::temp_dir dir;
    exchange_endpoint server;
    subject_source subject;
    auto store = std::make_shared<oauth2cc::file_token_store>(dir / "store");
    token_manager tokens(exchange_config(subject.fn()), {}, borrowed(server));
    tokens.set_store(store);
    tokens.get();
    subject.set(subject_b);
    tokens.get();
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "store")) {
        if (entry.path().extension() != ".json") continue;
        ++files;
        const std::string text = oauth2cc_test::read_file(entry.path().string());
        CHECK(text.find("SUBJECT-token") == std::string::npos);
    }
    CHECK(files == 2);

    // Another process with the same subject takes the stored token, and its type.
    exchange_endpoint other_server;
    token_manager again(exchange_config(subject.fn()), {}, borrowed(other_server));
    again.set_store(store);
    CHECK(again.get()->access_token.reveal() == "ex-2");
    CHECK(again.get()->issued_token_type == token_types::access_token);
    CHECK(other_server.count() == 0);

    // A stored N_A token is taken back by a config that asked for one, only.
    exchange_endpoint id_server;
    id_server.type = "N_A";
    id_server.extra = R"(,"issued_token_type":"urn:ietf:params:oauth:token-type:id_token")";
    client_config ids = exchange_config(subject.fn());
    ids.requested_token_type = token_types::id_token;
    token_manager first_id(ids, {}, borrowed(id_server));
    first_id.set_store(store);
    CHECK(first_id.get()->token_type == "N_A");
    token_manager second_id(ids, {}, borrowed(id_server));
    second_id.set_store(store);
    const auto loaded = second_id.get();
    CHECK(loaded->token_type == "N_A");
    CHECK(loaded->issued_token_type == token_types::id_token);
    CHECK(id_server.count() == 1);
}

TEST_CASE("discovery: a grant the server does not list is a note naming those it does") {
    nlohmann::json doc = {{"issuer", "https://login.example.com"},
                          {"token_endpoint", "https://login.example.com/token"},
                          {"token_endpoint_auth_methods_supported", {"client_secret_basic"}},
                          {"grant_types_supported", {"client_credentials"}}};
    oauth2cc::authorization_server_metadata m;
    m.token_endpoint = doc["token_endpoint"];
    m.token_endpoint_auth_methods_supported = {"client_secret_basic"};
    m.grant_types_supported = {"client_credentials"};
    client_config cfg = exchange_config([] { return std::string(subject_a); });
    // Advisory (servers under-list it): a note for the log, never a refusal.
    const std::string note = oauth2cc::detail::check_server_takes(m, cfg);
    CHECK(note.find(exchange_grant) != std::string::npos);
    CHECK(note.find("client_credentials") != std::string::npos);
    m.grant_types_supported.push_back(exchange_grant);
    CHECK(oauth2cc::detail::check_server_takes(m, cfg).empty());
    m.grant_types_supported.clear();  // a server that lists none is not checked
    CHECK(oauth2cc::detail::check_server_takes(m, cfg).empty());
    cfg.grant = grant_type::client_credentials;
    cfg.subject_token = nullptr;
    m.grant_types_supported = {exchange_grant};
    CHECK(oauth2cc::detail::check_server_takes(m, cfg).find("client_credentials") !=
          std::string::npos);
}

TEST_CASE("grant_type: names, and the keys of configs that differ only in grant or types") {
    CHECK(oauth2cc::to_string(grant_type::client_credentials) == "client_credentials");
    CHECK(oauth2cc::to_string(grant_type::token_exchange) == "token_exchange");
    CHECK(oauth2cc::to_string(grant_type::jwt_bearer) == "jwt_bearer");
    client_config a = exchange_config([] { return std::string(subject_a); });
    client_config b = a;
    b.requested_token_type = token_types::jwt;
    client_config c = a;
    c.subject_token_type = token_types::jwt;
    std::set<std::string> keys = {oauth2cc::detail::cache_key(a), oauth2cc::detail::cache_key(b),
                                  oauth2cc::detail::cache_key(c)};
    keys.insert(
        oauth2cc::detail::cache_key(oauth2cc_test::secret_client("gateway", "x", {"orders"})));
    CHECK(keys.size() == 4);
}

TEST_CASE("token exchange: no subject, actor or assertion in a log line or a metric") {
    const std::string actor = "ACTOR-token-in-logs-77";
    std::atomic<int> calls{0};
    // The server refuses the first exchange (echoing what it got), then grants.
    fake_transport server([&](const oauth2cc::http_request& req) {
        if (calls++ == 0) {
            return oauth2cc::http_response{400,
                                           {{"Content-Type", "application/json"}},
                                           R"({"error":"invalid_grant","error_description":"bad )" +
                                               form_field(req.body, "subject_token") + " " +
                                               form_field(req.body, "actor_token") + R"("})"};
        }
        return oauth2cc::http_response{
            200,
            {{"Content-Type", "application/json"}},
            R"({"access_token":"ex-ok","token_type":"Bearer","expires_in":3600,)"
            R"("issued_token_type":"urn:ietf:params:oauth:token-type:access_token"})"};
    });
    client_config cfg = exchange_config([] { return std::string(subject_a); });
    cfg.actor_token = [&] { return actor; };
    cfg.actor_token_type = token_types::jwt;
    oauth2cc::refresh_policy policy;
    policy.retry_initial = 1s;
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    token_manager tokens(cfg, policy, borrowed(server), clock);
    oauth2cc_test::log_watch logs;
    tokens.set_logger(logs.sink());
    auto metrics = std::make_shared<oauth2cc::prometheus_exporter>();
    tokens.set_observer(metrics);
    const auto e = thrown_by([&] { tokens.get(); });
    CHECK(e.oauth_error() == "invalid_grant");
    clock->advance(policy.retry_max + 1s);
    CHECK(tokens.get()->access_token.reveal() == "ex-ok");
    REQUIRE(logs.wait_failures(1));
    REQUIRE(logs.wait_successes(1));
    const std::string everything =
        std::string(e.what()) + e.error_description() + metrics->text() + logs.text();
    CHECK(everything.find(subject_a) == std::string::npos);
    CHECK(everything.find(actor) == std::string::npos);
    CHECK(everything.find("gateway") != std::string::npos);  // the client id is named
}

TEST_CASE("JWT bearer grant: with client_secret_jwt and DPoP, each request its own assertions") {
    exchange_endpoint server;
    server.extra = "";
    server.type = "DPoP";
    client_config cfg =
        oauth2cc_test::secret_client("svc", "S3CRET-grants-7-0123456789abcdef-xyz", {"orders"});
    cfg.auth = auth_method::client_secret_jwt;
    cfg.grant = grant_type::jwt_bearer;
    cfg.dpop_key = signing_key::generate();
    cfg.grant_assertion = oauth2cc::jwt_bearer_assertion(signing_key::generate(), "svc", "user-42",
                                                         "https://auth.example.com/token");
    oauth2cc::request_token(cfg, server);
    oauth2cc::request_token(cfg, server);
    REQUIRE(server.requests.size() == 2);
    std::set<std::string> seen;
    for (const auto& req : server.requests) {
        CHECK(form_field(req.body, "grant_type") == jwt_grant);
        seen.insert(oauth2cc_test::split_jwt(form_field(req.body, "assertion")).claims.at("jti"));
        seen.insert(
            oauth2cc_test::split_jwt(form_field(req.body, "client_assertion")).claims.at("jti"));
        CHECK(!oauth2cc_test::header_of(req, "DPoP").empty());
    }
    CHECK(seen.size() == 4);  // a new jti in every assertion of every request
}
