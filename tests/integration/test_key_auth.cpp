// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_key_auth.cpp: client_secret_jwt, private_key_jwt and workload assertions against
// oidc-provider, which checks each assertion's signature, claims, lifetime and jti.
// SPDX-License-Identifier: MIT

#include "../support/assertions.hpp"
#include "../support/peer_process.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>

using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc::jws_alg;
using oauth2cc::signing_key;
using oauth2cc_test::peer_process;
using oauth2cc_test::thrown_by;
using oauth2cc_test::unix_now;

namespace {

// The server writes its clients' private keys here; it outlives the server.
oauth2cc_test::temp_dir& key_dir() {
    static oauth2cc_test::temp_dir dir;
    return dir;
}

peer_process& server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "300", "--key-dir", key_dir().path.string()});
    return *peer;
}

client_config config_for(const std::string& client_id, auth_method how) {
    client_config cfg;
    cfg.token_endpoint = server().info().at("token_endpoint").get<std::string>();
    cfg.client_id = client_id;
    cfg.auth = how;
    cfg.scopes = {"read_date"};
    return cfg;
}

// An assertion as a workload identity platform issues it: signed by its own key.
std::string workload_assertion(const std::string& client_id, std::int64_t iat, std::int64_t exp) {
    return oauth2cc_test::workload_assertion(
        key_dir().path.string(), client_id, server().info().at("token_endpoint").get<std::string>(),
        iat, exp);
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("private_key_jwt: oidc-provider takes a token request signed by each key type") {
    struct row {
        const char* key;
        jws_alg alg;
    };
    for (const row r : {row{"key-rsa", jws_alg::rs256}, row{"key-rsa", jws_alg::ps256},
                        row{"key-p256", jws_alg::es256}, row{"key-p384", jws_alg::es384},
                        row{"key-ed25519", jws_alg::eddsa}}) {
        CAPTURE(std::string(oauth2cc::to_string(r.alg)));
        client_config cfg =
            config_for(std::string(r.key) + "-client", auth_method::private_key_jwt);
        cfg.client_key =
            signing_key::from_pem_file(key_dir() / (std::string(r.key) + ".pem"), r.key, r.alg);
        const oauth2cc::token t = oauth2cc::request_token(cfg);
        CHECK(t.access_token.reveal().size() >= 20);
        CHECK(t.scope == "read_date");
        // Servers that want their issuer as the audience get it.
        cfg.assertion_audience = server().info().at("issuer").get<std::string>();
        CHECK_FALSE(oauth2cc::request_token(cfg).access_token.empty());
    }
}

TEST_CASE("private_key_jwt: a token_manager refreshes with a new assertion each time") {
    client_config cfg = config_for("key-p256-client", auth_method::private_key_jwt);
    cfg.client_key = signing_key::from_pem_file(key_dir() / "key-p256.pem", "key-p256");
    oauth2cc::token_manager tokens(cfg);
    const auto first = tokens.get();
    tokens.invalidate(first.get());
    // The second request would be refused as a replay if its jti were the first's.
    const auto second = tokens.get();
    CHECK(second->access_token.reveal() != first->access_token.reveal());
    CHECK(tokens.stats().fetches == 2);
}

TEST_CASE("private_key_jwt: a key file rotated while the provider restarts is taken up") {
    // The provider of this test alone: it comes back on its port with new keys.
    oauth2cc_test::temp_dir keys_before, keys_after, files;
    auto before = oauth2cc_test::start_oidc_provider(
        {"--ttl", "300", "--key-dir", keys_before.path.string()});
    const std::string key_file = files / "key.pem";
    std::filesystem::copy_file(keys_before / "key-p256.pem", key_file);
    client_config cfg;
    cfg.token_endpoint = before->info().at("token_endpoint").get<std::string>();
    cfg.client_id = "key-p256-client";
    cfg.auth = auth_method::private_key_jwt;
    cfg.client_key = signing_key::from_pem_file(key_file, "key-p256");
    oauth2cc::token_client client(cfg);
    CHECK_FALSE(client.fetch().access_token.empty());

    // The provider knows only the new key now, and holds its refusal of the old one
    // while the key file is replaced (by rename, as a secret manager does).
    const std::string port = std::to_string(before->port());
    before->stop();
    auto after = oauth2cc_test::start_oidc_provider(
        {"--ttl", "300", "--port", port, "--key-dir", keys_after.path.string(), "--hold-refusals"});
    auto fetched = std::async(std::launch::async, [&client] { return client.fetch(); });
    bool held = false;
    for (int i = 0; i < 600 && !held; ++i) {  // a bounded wait on the server's count
        held = after->harness_stats().at("held").get<int>() == 1;
        if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(held);
    std::filesystem::copy_file(keys_after / "key-p256.pem", key_file + ".new");
    std::filesystem::rename(key_file + ".new", key_file);
    after->release_held_refusals();
    // The refusal read the key file again, and the request was signed anew, once.
    CHECK_FALSE(fetched.get().access_token.empty());
    CHECK(client.credential_rotations() == 1);
    const auto stats = after->harness_stats();
    CHECK(stats.at("token_errors") == 1);
    CHECK(stats.at("token_success") == 1);
}

TEST_CASE("client_secret_jwt: oidc-provider takes an HS256 assertion") {
    client_config cfg = config_for("secret-jwt-client", auth_method::client_secret_jwt);
    cfg.client_secret = oauth2cc::secret{"secret-jwt-fixture-0123456789abcdef"};
    CHECK_FALSE(oauth2cc::request_token(cfg).access_token.empty());
    cfg.client_secret = oauth2cc::secret{"secret-jwt-fixture-0123456789abcdeX"};
    const auto e = thrown_by([&] { oauth2cc::request_token(cfg); });
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "invalid_client");
}

TEST_CASE(
    "client_assertion: a workload's assertion file, read afresh as the platform "
    "rotates it") {
    oauth2cc_test::temp_dir dir;
    const std::string file = dir / "token";
    const auto write = [&file](const std::string& jwt) { std::ofstream(file) << jwt << "\n"; };
    client_config cfg = config_for("workload-client", auth_method::client_assertion);
    cfg.client_assertion = oauth2cc::assertion_from_file(file);
    write(workload_assertion("workload-client", unix_now(), unix_now() + 300));
    CHECK_FALSE(oauth2cc::request_token(cfg).access_token.empty());
    // The platform rotates the file; the next request sends the new assertion (the old
    // one's jti is spent).
    write(workload_assertion("workload-client", unix_now(), unix_now() + 300));
    CHECK_FALSE(oauth2cc::request_token(cfg).access_token.empty());
}

TEST_CASE("key-based authentication: what the server refuses") {
    SUBCASE("a key the client did not register") {
        client_config cfg = config_for("key-p256-client", auth_method::private_key_jwt);
        cfg.client_key = signing_key::generate(jws_alg::es256);
        const auto e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "invalid_client");
    }
    SUBCASE("an expired assertion") {
        client_config cfg = config_for("workload-client", auth_method::client_assertion);
        const std::string old =
            workload_assertion("workload-client", unix_now() - 900, unix_now() - 600);
        cfg.client_assertion = [old] { return old; };
        const auto e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(std::string(e.what()).find(old) == std::string::npos);
    }
    SUBCASE("an assertion sent twice: the second is a replay") {
        client_config cfg = config_for("workload-client", auth_method::client_assertion);
        const std::string once =
            workload_assertion("workload-client", unix_now(), unix_now() + 300);
        cfg.client_assertion = [once] { return once; };
        CHECK_FALSE(oauth2cc::request_token(cfg).access_token.empty());
        const auto e = thrown_by([&] { oauth2cc::request_token(cfg); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(std::string(e.what()).find(once) == std::string::npos);
    }
}

TEST_CASE("discovery: oidc-provider's metadata names the token endpoint; no endpoint configured") {
    client_config cfg = config_for("key-p384-client", auth_method::private_key_jwt);
    cfg.token_endpoint.clear();
    cfg.issuer = server().info().at("issuer").get<std::string>();
    cfg.client_key = signing_key::from_pem_file(key_dir() / "key-p384.pem", "key-p384");

    const oauth2cc::authorization_server_metadata m = oauth2cc::discover(cfg);
    CHECK(m.issuer == cfg.issuer);
    CHECK(m.token_endpoint == server().info().at("token_endpoint").get<std::string>());
    CHECK(m.introspection_endpoint ==
          server().info().at("introspection_endpoint").get<std::string>());
    CHECK(std::find(m.token_endpoint_auth_methods_supported.begin(),
                    m.token_endpoint_auth_methods_supported.end(),
                    "private_key_jwt") != m.token_endpoint_auth_methods_supported.end());

    CHECK_FALSE(oauth2cc::request_token(cfg).access_token.empty());
    oauth2cc::token_manager tokens(cfg);
    CHECK(tokens.get()->scope == "read_date");

    // The same server under another name is not the configured issuer.
    client_config other = cfg;
    other.issuer = "http://localhost:" + std::to_string(server().info().at("port").get<int>());
    const auto e = thrown_by([&] { oauth2cc::request_token(other); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("issuer") != std::string::npos);
}

}  // TEST_SUITE("integration")
