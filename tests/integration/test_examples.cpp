// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_examples.cpp: the example programs as a user runs them, against oidc-provider on
// 127.0.0.1: oauth2cc-cli's outputs and exit codes, the resource server's 200/400/401/403
// matrix, the cron job, and the daemon's prompt stop and its survival of an outage of the
// authorization server.
// SPDX-License-Identifier: MIT

#include "../support/local_server.hpp"
#include "../support/assertions.hpp"
#include "../support/jwt_check.hpp"
#include "../support/peer_process.hpp"
#include "../support/prometheus_parse.hpp"
#include "../support/test_helpers.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <chrono>
#include <condition_variable>
#include <iterator>
#include <thread>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <set>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using nlohmann::json;
using oauth2cc_test::peer_process;
using oauth2cc_test::program_result;
using oauth2cc_test::mode_of;
using oauth2cc_test::on_threads;
using oauth2cc_test::read_file;
using oauth2cc_test::run_program;

namespace {

using env_list = std::vector<std::pair<std::string, std::string>>;

// The path of an example program, from the variable the build sets for the tests.
std::string example(const char* variable) {
    const char* path = std::getenv(variable);
    return path != nullptr ? path : "";
}

bool examples_available_or_skip() {
    if (!oauth2cc_test::peers_available_or_skip()) return false;
    if (!example("OAUTH2CC_EXAMPLE_CLI").empty() &&
        !example("OAUTH2CC_EXAMPLE_RESOURCE_SERVER").empty() &&
        !example("OAUTH2CC_EXAMPLE_CRON_JOB").empty() &&
        !example("OAUTH2CC_EXAMPLE_DAEMON").empty()) {
        return true;
    }
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
        FAIL("the example programs are not built (OAUTH2CC_EXAMPLE_* is not set)");
    }
    MESSAGE("skipped: the example programs are not built in this configuration");
    return false;
}

// The server writes its key-based clients' private keys here; it outlives the server.
oauth2cc_test::temp_dir& key_dir() {
    static oauth2cc_test::temp_dir dir;
    return dir;
}

peer_process& authorization_server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "3600", "--key-dir", key_dir().path.string()});
    return *peer;
}

// The private key file of one of the server's key-based clients, e.g. "key-p256".
std::string key_file(const std::string& name) {
    authorization_server();  // it writes the keys
    return key_dir() / (name + ".pem");
}

// The base64 lines of a PEM file: what no message or cache file may contain.
std::vector<std::string> pem_body_lines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.front() != '-') lines.push_back(line);
    }
    return lines;
}

bool holds_any(const std::string& text, const std::vector<std::string>& parts) {
    return std::any_of(parts.begin(), parts.end(),
                       [&text](const std::string& p) { return text.find(p) != std::string::npos; });
}

std::string token_url() {
    return authorization_server().info().at("token_endpoint").get<std::string>();
}

env_list client_env(const std::string& id, const std::string& secret,
                    const std::string& scope = "") {
    env_list env{{"OAUTH2_TOKEN_URL", token_url()},
                 {"OAUTH2_CLIENT_ID", id},
                 {"OAUTH2_CLIENT_SECRET", secret}};
    if (!scope.empty()) env.emplace_back("OAUTH2_SCOPE", scope);
    return env;
}

program_result cli(const std::vector<std::string>& args, const env_list& env) {
    std::vector<std::string> argv{example("OAUTH2CC_EXAMPLE_CLI")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, env);
}

std::unique_ptr<peer_process> start_resource_server() {
    auto& peer = authorization_server();
    return peer_process::start_program(
        {example("OAUTH2CC_EXAMPLE_RESOURCE_SERVER")},
        {{"OAUTH2_INTROSPECTION_URL", peer.info().at("introspection_endpoint").get<std::string>()},
         {"OAUTH2_CLIENT_ID", "resource-server"},
         {"OAUTH2_CLIENT_SECRET", "resource-server-secret"}});
}

// Token requests oidc-provider has answered so far.
int token_requests() {
    return authorization_server().harness_stats().at("token_requests").get<int>();
}

// The store key of read-client with scope read_date at the test server, as the CLI and
// the cron job configure it.
std::string reader_key() {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = token_url();
    cfg.client_id = "read-client";
    cfg.client_secret = oauth2cc::secret{"read-secret"};
    cfg.scopes = {"read_date"};
    return oauth2cc::store_key(oauth2cc::token_manager(cfg).cache_key());
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("oauth2cc-cli token: prints the token response, by every way of configuring it") {
    if (!examples_available_or_skip()) return;
    SUBCASE("from the environment, Basic") {
        const auto r = cli({"token"}, client_env("basic-client", "basic-secret", "read_date"));
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
        const json body = json::parse(r.out);
        CHECK(body.at("access_token").get<std::string>().size() >= 20);
        CHECK(body.at("token_type") == "Bearer");
        CHECK(body.at("expires_in") == 3600);
        CHECK(body.at("scope") == "read_date");
    }
    SUBCASE("from flags, post, with the secret in a file") {
        const std::string file = oauth2cc_test::test_certificates().dir + "/post-secret.txt";
        std::ofstream(file) << "post-secret\n";
        const auto r =
            cli({"--token-url", token_url(), "--client-id", "post-client", "--client-secret-file",
                 file, "--auth", "post", "--scope", "read_date post_echo", "token"},
                {});
        CHECK(r.exit_code == 0);
        CHECK(json::parse(r.out).at("scope") == "read_date post_echo");
    }
    SUBCASE("--client-secret works and warns that the process list shows it") {
        const auto r = cli({"--token-url", token_url(), "--client-id", "weird:id+1",
                            "--client-secret", "se:cr+et% x", "token"},
                           {});
        CHECK(r.exit_code == 0);
        CHECK(r.err.find("process list") != std::string::npos);
    }
}

TEST_CASE("oauth2cc-cli: keys and assertions instead of a secret, from flags or OAUTH2_* names") {
    if (!examples_available_or_skip()) return;
    const std::string issuer = authorization_server().info().at("issuer").get<std::string>();
    SUBCASE("private_key_jwt from flags: the key implies the method; PS256 chosen") {
        const auto r = cli({"--token-url", token_url(), "--client-id", "key-rsa-client",
                            "--client-key", key_file("key-rsa"), "--client-key-id", "key-rsa",
                            "--client-key-alg", "PS256", "--scope", "read_date", "token"},
                           {});
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
        CHECK(json::parse(r.out).at("scope") == "read_date");
    }
    SUBCASE("private_key_jwt from the environment, the token endpoint found from the issuer") {
        const auto r = cli({"token"}, {{"OAUTH2_ISSUER", issuer},
                                       {"OAUTH2_CLIENT_ID", "key-ed25519-client"},
                                       {"OAUTH2_AUTH_METHOD", "private_key_jwt"},
                                       {"OAUTH2_CLIENT_KEY_FILE", key_file("key-ed25519")},
                                       {"OAUTH2_CLIENT_KEY_ID", "key-ed25519"},
                                       {"OAUTH2_CLIENT_KEY_ALG", "EdDSA"},
                                       {"OAUTH2_ASSERTION_AUDIENCE", issuer},
                                       // A secret in the environment is not sent, and
                                       // is no error: the method needs none.
                                       {"OAUTH2_CLIENT_SECRET", "unused-secret"},
                                       {"OAUTH2_SCOPE", "read_date"}});
        CHECK(r.exit_code == 0);
        CAPTURE(r.err);
        CHECK(json::parse(r.out).at("token_type") == "Bearer");
    }
    SUBCASE("client_secret_jwt, the secret in a file") {
        oauth2cc_test::temp_dir tmp;
        std::ofstream(tmp / "secret") << "secret-jwt-fixture-0123456789abcdef\n";
        const auto r = cli(
            {"--issuer", issuer, "--client-id", "secret-jwt-client", "--auth", "client_secret_jwt",
             "--client-secret-file", tmp / "secret", "--scope", "read_date", "token"},
            {});
        CHECK(r.exit_code == 0);
        CAPTURE(r.err);
    }
    SUBCASE("client_assertion: the platform's file, read afresh for each run") {
        oauth2cc_test::temp_dir tmp;
        const std::string file = tmp / "token";
        const auto rotate = [&] {
            std::ofstream(file, std::ios::trunc) << oauth2cc_test::workload_assertion(
                key_dir().path.string(), "workload-client", token_url(), oauth2cc_test::unix_now(),
                oauth2cc_test::unix_now() + 300);
        };
        const env_list env{{"OAUTH2_TOKEN_URL", token_url()},
                           {"OAUTH2_CLIENT_ID", "workload-client"},
                           {"OAUTH2_CLIENT_ASSERTION_FILE", file}};
        rotate();
        CHECK(cli({"token"}, env).exit_code == 0);
        // The same assertion again is a replay the server refuses; the rotated one works.
        const auto replay = cli({"token"}, env);
        CHECK(replay.exit_code == 3);
        CHECK(replay.err.find("invalid_client") != std::string::npos);
        CHECK(replay.err.find(read_file(file)) == std::string::npos);
        rotate();
        CHECK(cli({"--client-assertion-file", file, "--auth", "client_assertion", "token"}, env)
                  .exit_code == 0);
    }
    SUBCASE("call: the resource server takes a private_key_jwt client's token") {
        auto api = start_resource_server();
        const auto r = cli({"--client-key", key_file("key-p256"), "--client-key-id", "key-p256",
                            "call", api->info().at("url").get<std::string>() + "/api/date"},
                           {{"OAUTH2_TOKEN_URL", token_url()},
                            {"OAUTH2_CLIENT_ID", "key-p256-client"},
                            {"OAUTH2_SCOPE", "read_date"}});
        CHECK(r.exit_code == 0);
        CHECK(json::parse(r.out).at("date").get<std::string>().size() == 10);
    }
}

TEST_CASE("oauth2cc-cli: DPoP-bound tokens with --dpop, or --dpop-key for a key that lasts") {
    if (!examples_available_or_skip()) return;
    const auto env = client_env("dpop-client", "dpop-secret", "read_date");
    const auto fresh = cli({"--dpop", "token"}, env);
    CHECK(fresh.exit_code == 0);
    CHECK(json::parse(fresh.out).at("token_type") == "DPoP");
    // The server's dpop-client gets no token without a proof.
    CHECK(cli({"token"}, env).exit_code == 3);

    oauth2cc_test::temp_dir tmp;
    const auto cached = [&] {
        return cli({"--dpop-key", key_file("key-p256"), "--cache", tmp / "cache", "token"}, env);
    };
    const auto first = cached();
    REQUIRE(first.exit_code == 0);
    CHECK(json::parse(first.out).at("token_type") == "DPoP");
    const auto again = cached();
    CHECK(json::parse(again.out).at("access_token") == json::parse(first.out).at("access_token"));
    // A stored DPoP-bound token is not taken under another key.
    const auto other =
        cli({"--dpop-key", key_file("key-p384"), "--cache", tmp / "cache", "token"}, env);
    CHECK(json::parse(other.out).at("access_token") != json::parse(first.out).at("access_token"));
    CHECK(cli({"--dpop", "--dpop-key", key_file("key-p256"), "token"}, env).exit_code == 2);
}

TEST_CASE("oauth2cc-cli: token exchange from flags or OAUTH2_* names; N_A printed, never sent") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    // A workload's token, as its platform writes it: signed by the platform's key.
    const std::string subject = oauth2cc::jwt_bearer_assertion(
        oauth2cc::signing_key::from_pem_file(key_file("workload"), "workload"),
        "https://platform.example", "system:serviceaccount:ns:job", "https://sts.example",
        std::chrono::seconds(600))();
    { std::ofstream(tmp / "token") << subject << "\n"; }
    const auto exchanged = cli(
        {"--grant", "token_exchange", "--subject-token-file", tmp / "token", "--subject-token-type",
         "jwt", "--resource", "https://api-2.example.com/", "--scope", "read_date", "token"},
        client_env("exchange-client", "exchange-secret"));
    REQUIRE(exchanged.exit_code == 0);
    const json out = json::parse(exchanged.out);
    CHECK(out.at("issued_token_type") == "urn:ietf:params:oauth:token-type:access_token");
    CHECK(oauth2cc_test::split_jwt(out.at("access_token")).claims.at("sub") ==
          "system:serviceaccount:ns:job");
    CHECK(exchanged.out.find(subject) == std::string::npos);

    // From the environment: the file implies the grant; an id token is N_A.
    env_list env = client_env("exchange-client", "exchange-secret");
    env.emplace_back("OAUTH2_SUBJECT_TOKEN_FILE", tmp / "token");
    env.emplace_back("OAUTH2_SUBJECT_TOKEN_TYPE", "jwt");
    env.emplace_back("OAUTH2_REQUESTED_TOKEN_TYPE", "id_token");
    const auto id_token = cli({"token"}, env);
    REQUIRE(id_token.exit_code == 0);
    CHECK(json::parse(id_token.out).at("token_type") == "N_A");
    const auto call = cli({"call", "https://api.example.com/"}, env);
    CHECK(call.exit_code == 2);
    CHECK(call.err.find("N_A") != std::string::npos);
    // The libcurl example attaches through the manager too: an N_A token is never sent.
    // (Built where libcurl is; a leg that builds only some targets may leave it out.)
    if (std::filesystem::exists(example("OAUTH2CC_EXAMPLE_CURL_BEARER"))) {
        const auto api = start_resource_server();
        const std::string url = api->info().at("url").get<std::string>() + "/api/date";
        const auto curl = run_program({example("OAUTH2CC_EXAMPLE_CURL_BEARER"), url}, env);
        CHECK(curl.exit_code == 2);
        CHECK(curl.err.find("N_A") != std::string::npos);
        CHECK(curl.out.empty());  // no call was made, so no body came back
    }

    // Settings that cannot work: exit 2, and no token quoted.
    const env_list basic = client_env("exchange-client", "exchange-secret");
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--grant", "token_exchange", "token"},
             {"--subject-token-file", tmp / "token", "--actor-token-type", "jwt", "token"},
             {"--grant", "client_credentials", "--subject-token-file", tmp / "token", "token"},
             {"--grant", "jwt_bearer", "token"},
             {"--subject-token-file", tmp / "missing", "token"},
             {"--subject-token-file", tmp / "token", "--subject-token-type", "bogus", "token"}}) {
        const auto r = cli(args, basic);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(subject) == std::string::npos);
    }
    const auto missing = cli({"--subject-token-file", tmp / "missing", "token"}, basic);
    CHECK(missing.err.find(tmp / "missing") != std::string::npos);
}

TEST_CASE("oauth2cc-cli: the JWT bearer grant against Authlib, by a grant key or a file") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir keys;
    const auto peer = oauth2cc_test::start_authlib(keys.path.string());
    const std::string endpoint = peer->info().at("token_endpoint").get<std::string>();
    const auto signed_by_key = cli({"--token-url", endpoint, "--client-id", "svc", "--auth", "none",
                                    "--grant-key", keys / "svc.pem", "--grant-key-id", "svc-key",
                                    "--assertion-subject", "user-42", "--scope", "orders", "token"},
                                   {});
    REQUIRE(signed_by_key.exit_code == 0);
    CHECK(json::parse(signed_by_key.out)
              .at("access_token")
              .get<std::string>()
              .rfind("jb.user-42.", 0) == 0);

    // A platform's assertion, from OAUTH2_ASSERTION_FILE (the grant implied).
    const std::string assertion = oauth2cc::jwt_bearer_assertion(
        oauth2cc::signing_key::from_pem_file(keys / "svc.pem", "svc-key"), "svc", "job-1",
        endpoint)();
    oauth2cc_test::temp_dir tmp;
    { std::ofstream(tmp / "assertion") << assertion; }
    const auto from_file = cli({"token"}, {{"OAUTH2_TOKEN_URL", endpoint},
                                           {"OAUTH2_CLIENT_ID", "svc"},
                                           {"OAUTH2_AUTH_METHOD", "none"},
                                           {"OAUTH2_ASSERTION_FILE", tmp / "assertion"}});
    REQUIRE(from_file.exit_code == 0);
    CHECK(json::parse(from_file.out).at("access_token").get<std::string>().rfind("jb.job-1.", 0) ==
          0);
    // The same assertion again is a replay: an OAuth error, exit 3, the assertion unquoted.
    const auto replay = cli({"--token-url", endpoint, "--client-id", "svc", "--auth", "none",
                             "--assertion-file", tmp / "assertion", "token"},
                            {});
    CHECK(replay.exit_code == 3);
    CHECK(replay.err.find("invalid_grant") != std::string::npos);
    CHECK(replay.err.find(assertion) == std::string::npos);
}

TEST_CASE("oauth2cc-cli: key settings that cannot work are refused, and no key is quoted") {
    if (!examples_available_or_skip()) return;
    const env_list env{{"OAUTH2_TOKEN_URL", token_url()}, {"OAUTH2_CLIENT_ID", "key-rsa-client"}};
    const auto refused = [&](const std::vector<std::string>& args, const std::string& says) {
        const auto r = cli(args, env);
        CAPTURE(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(says) != std::string::npos);
        CHECK_FALSE(holds_any(r.err, pem_body_lines(key_file("key-rsa"))));
    };
    const std::string rsa = key_file("key-rsa");
    refused({"--auth", "basic", "--client-key", rsa, "token"},
            "for the private_key_jwt method only");
    refused({"--auth", "private_key_jwt", "token"}, "needs a client key file");
    refused({"--client-key", rsa, "--client-secret", "s3cret-value", "token"},
            "sends no client secret");
    refused({"--client-key", rsa, "--client-key-alg", "ES256", "token"}, rsa);
    refused({"--client-key", rsa, "--client-key-alg", "HS999", "token"}, "--client-key-alg");
    refused({"--client-key", "/nonexistent/oauth2cc/key.pem", "token"},
            "/nonexistent/oauth2cc/key.pem");
    refused({"--auth", "post", "--client-assertion-file", rsa, "token"},
            "client_assertion method only");
    refused({"--auth", "client_assertion", "--client-assertion-file",
             "/nonexistent/oauth2cc/assertion", "token"},
            "/nonexistent/oauth2cc/assertion");
    refused({"--auth", "client_secret_jwt", "--client-secret", "short-secret", "token"},
            "32 bytes");
    {
        const auto r = cli({"--client-id", "x", "--client-key", rsa, "token"}, {});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("--issuer") != std::string::npos);
    }
    {
        // A file that looks like a key but is not one: refused without quoting it.
        oauth2cc_test::temp_dir tmp;
        std::ofstream(tmp / "bad.pem") << "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LWF0LWFsbA==\n"
                                          "-----END PRIVATE KEY-----\n";
        const auto r = cli({"--client-key", tmp / "bad.pem", "token"}, env);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("bm90LWEta2V5") == std::string::npos);
    }
    {
        // Another key than the one the client registered: the server says invalid_client.
        const auto r = cli({"--client-key", key_file("key-p256"), "token"}, env);
        CHECK(r.exit_code == 3);
        CHECK(r.err.find("invalid_client") != std::string::npos);
        CHECK_FALSE(holds_any(r.err, pem_body_lines(key_file("key-p256"))));
    }
}

TEST_CASE("oauth2cc-cli: resources, Basic encoding, CA file and the plain-http rule") {
    if (!examples_available_or_skip()) return;
    const auto env = client_env("basic-client", "basic-secret");
    CHECK(cli({"--resource", "urn:oauth2cc:test-api", "--scope", "post_echo", "token"}, env)
              .exit_code == 0);
    const auto unknown = cli({"--resource", "urn:oauth2cc:unknown", "token"}, env);
    CHECK(unknown.exit_code == 3);
    CHECK(unknown.err.find("invalid_target") != std::string::npos);
    // Raw Basic cannot carry this client's reserved characters to a server that decodes.
    const auto weird = client_env("weird:id+1", "se:cr+et% x");
    CHECK(cli({"token"}, weird).exit_code == 0);
    CHECK(cli({"--basic-encoding", "raw", "token"}, weird).exit_code == 3);
    // Plain http to a host that is not loopback is refused unless allowed. 0.0.0.0 is not
    // a loopback name, yet a connection to it stays on this machine (a closed port here).
    const std::string not_loopback =
        "http://0.0.0.0:" + std::to_string(oauth2cc_test::closed_port()) + "/token";
    CHECK(cli({"--token-url", not_loopback, "token"}, env).exit_code == 2);
    CHECK(cli({"--token-url", not_loopback, "--allow-insecure-http", "token"}, env).exit_code == 4);
    // HTTPS with the harness CA.
    const auto& certs = oauth2cc_test::test_certificates();
    auto https = oauth2cc_test::start_oidc_provider(
        {"--https", "--cert", certs.server_cert, "--key", certs.server_key});
    const std::string https_url = https->info().at("token_endpoint").get<std::string>();
    CHECK(cli({"--token-url", https_url, "--ca-file", certs.ca_cert, "token"}, env).exit_code == 0);
    CHECK(cli({"--token-url", https_url, "token"}, env).exit_code == 4);
}

TEST_CASE("oauth2cc-cli: options before and after the command, as shell users type them") {
    if (!examples_available_or_skip()) return;
    SUBCASE("token, every option after it") {
        const auto r = cli({"token", "--client-id", "basic-client", "--client-secret",
                            "basic-secret", "--scope", "read_date", "--token-url", token_url()},
                           {});
        CAPTURE(r.err);
        CHECK(r.exit_code == 0);
        CHECK(json::parse(r.out).at("scope") == "read_date");
    }
    SUBCASE("call, options of the program and of the call mixed after it") {
        // The token comes; the API at a closed port does not answer: exit 4, not a
        // usage error.
        const std::string api =
            "http://127.0.0.1:" + std::to_string(oauth2cc_test::closed_port()) + "/x";
        const auto r = cli({"call", "--token-url", token_url(), api, "-H", "X-A: 1", "--client-id",
                            "basic-client", "--client-secret", "basic-secret"},
                           {});
        CAPTURE(r.err);
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("no response from http://127.0.0.1") != std::string::npos);
    }
}

TEST_CASE("oauth2cc-cli: proxies from the environment, as curl reads them") {
    if (!examples_available_or_skip()) return;
    std::mutex m;
    std::vector<std::string> seen;
    oauth2cc_test::raw_server proxy([&](int fd, const oauth2cc_test::raw_server&) {
        const std::string request = oauth2cc_test::raw_server::read_request(fd);
        {
            std::lock_guard<std::mutex> lock(m);
            seen.push_back(request.substr(0, request.find("\r\n")));
        }
        const std::string body = R"({"access_token":"from-the-proxy","token_type":"Bearer"})";
        oauth2cc_test::raw_server::write_all(
            fd,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    });
    // Nothing listens at the token URL itself: only the proxy can answer.
    const std::string token_at =
        "http://127.0.0.1:" + std::to_string(oauth2cc_test::closed_port()) + "/token";
    const env_list client{
        {"OAUTH2_TOKEN_URL", token_at}, {"OAUTH2_CLIENT_ID", "c"}, {"OAUTH2_CLIENT_SECRET", "s"}};
    const auto with = [&](env_list extra) {
        env_list all = client;
        all.insert(all.end(), extra.begin(), extra.end());
        return cli({"token"}, all);
    };
    const auto through = with({{"http_proxy", proxy.url()}});
    CAPTURE(through.err);
    CHECK(through.exit_code == 0);
    CHECK(through.out.find("from-the-proxy") != std::string::npos);
    {
        std::lock_guard<std::mutex> lock(m);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0] == "POST " + token_at + " HTTP/1.1");
    }
    // Upper-case HTTP_PROXY is not read (httpoxy); NO_PROXY sends the request directly.
    CHECK(with({{"HTTP_PROXY", proxy.url()}}).exit_code == 4);
    CHECK(with({{"http_proxy", proxy.url()}, {"NO_PROXY", "localhost,127.0.0.0/8"}}).exit_code ==
          4);
    CHECK(cli({"--proxy", proxy.url(), "token"}, client).exit_code == 0);
    std::lock_guard<std::mutex> lock(m);
    CHECK(seen.size() == 2);
}

TEST_CASE("oauth2cc-cli: every exit code, and no secret on stderr") {
    if (!examples_available_or_skip()) return;
    SUBCASE("2: usage and configuration") {
        CHECK(cli({"token"}, {}).exit_code == 2);
        CHECK(cli({"--frobnicate", "token"}, client_env("a", "b")).exit_code == 2);
        CHECK(cli({"call"}, client_env("a", "b")).exit_code == 2);
        CHECK(cli({"--scope", "bad\"scope", "token"}, client_env("a", "b")).exit_code == 2);
        const auto help = cli({"--help"}, {});
        CHECK(help.exit_code == 0);
        CHECK(help.out.find("Exit codes") != std::string::npos);
    }
    SUBCASE("3: an OAuth error, named with its code") {
        const auto r = cli({"token"}, client_env("basic-client", "not-the-secret-123"));
        CHECK(r.exit_code == 3);
        CHECK(r.err.find("invalid_client") != std::string::npos);
        CHECK(r.err.find("not-the-secret-123") == std::string::npos);
        CHECK(r.out.empty());
    }
    SUBCASE("4: no response") {
        const auto r =
            cli({"--token-url",
                 "http://127.0.0.1:" + std::to_string(oauth2cc_test::closed_port()) + "/token",
                 "token"},
                client_env("basic-client", "basic-secret"));
        CHECK(r.exit_code == 4);
    }
    SUBCASE("5: a response that is not a token response") {
        oauth2cc_test::local_server html;
        html.server().Post("/token", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("<html>hello</html>", "text/html");
        });
        html.start();
        const auto r = cli({"--token-url", html.url() + "/token", "token"},
                           client_env("basic-client", "basic-secret"));
        CHECK(r.exit_code == 5);
    }
}

TEST_CASE("oauth2cc-cli call and the resource server: the scenario end to end") {
    if (!examples_available_or_skip()) return;
    auto api = start_resource_server();
    const std::string base = api->info().at("url").get<std::string>();

    const auto date =
        cli({"call", base + "/api/date"}, client_env("read-client", "read-secret", "read_date"));
    CHECK(date.exit_code == 0);
    CHECK(json::parse(date.out).at("date").get<std::string>().size() == 10);

    const auto refused = cli({"call", "-d", R"({"title":"t","body":"b"})", base + "/api/echo"},
                             client_env("read-client", "read-secret", "read_date"));
    CHECK(refused.exit_code == 6);
    CHECK(refused.err.find("HTTP 403") != std::string::npos);
    CHECK(refused.err.find("insufficient_scope") != std::string::npos);

    const auto echoed = cli({"call", "-X", "POST", "-H", "X-Request-Id: 7", "-d",
                             R"({"title":"hello","body":"world"})", base + "/api/echo"},
                            client_env("write-client", "write-secret", "read_date post_echo"));
    CHECK(echoed.exit_code == 0);
    CHECK(json::parse(echoed.out) == json{{"title", "hello"}, {"body", "world"}});
}

TEST_CASE("resource server example: 200, 400, 401 and 403, and a clean stop") {
    if (!examples_available_or_skip()) return;
    auto api = start_resource_server();
    httplib::Client c("127.0.0.1", api->port());
    c.set_connection_timeout(5s);
    c.set_read_timeout(10s);
    const auto token_for = [](const std::string& id, const std::string& secret,
                              std::vector<std::string> scopes) {
        oauth2cc::client_config cfg;
        cfg.token_endpoint = token_url();
        cfg.client_id = id;
        cfg.client_secret = oauth2cc::secret{secret};
        cfg.scopes = std::move(scopes);
        return httplib::Headers{
            {"Authorization", "Bearer " + oauth2cc::request_token(cfg).access_token.reveal()}};
    };
    const auto reader = token_for("read-client", "read-secret", {"read_date"});
    const auto writer = token_for("write-client", "write-secret", {"post_echo"});

    CHECK(c.Get("/api/date", reader)->status == 200);
    CHECK(c.Post("/api/echo", writer, R"({"title":"a","body":"b"})", "application/json")->status ==
          200);
    CHECK(c.Post("/api/echo", writer, R"({"title":"a"})", "application/json")->status == 400);
    CHECK(c.Post("/api/echo", writer, "not json", "application/json")->status == 400);

    const auto missing = c.Get("/api/date");
    CHECK(missing->status == 401);
    CHECK(missing->get_header_value("WWW-Authenticate").rfind("Bearer", 0) == 0);
    const auto bogus =
        c.Get("/api/date", httplib::Headers{{"Authorization", "Bearer not-a-real-token"}});
    CHECK(bogus->status == 401);
    CHECK(bogus->get_header_value("WWW-Authenticate").find("invalid_token") != std::string::npos);

    const auto wrong_scope =
        c.Post("/api/echo", reader, R"({"title":"a","body":"b"})", "application/json");
    CHECK(wrong_scope->status == 403);
    CHECK(wrong_scope->get_header_value("WWW-Authenticate").find("insufficient_scope") !=
          std::string::npos);
    CHECK(c.Get("/api/date", writer)->status == 403);  // post_echo only

    const int status = api->stop();  // SIGTERM
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("cron job example: one call, or exit 1 with one clear line") {
    if (!examples_available_or_skip()) return;
    auto api = start_resource_server();
    const std::string date_url = api->info().at("url").get<std::string>() + "/api/date";
    // Each run keeps its token in a cache of its own, so that no run reuses another's.
    const auto cached = [](env_list env, const oauth2cc_test::temp_dir& cache) {
        env.emplace_back("OAUTH2_CACHE_DIR", cache / "oauth2cc");
        return env;
    };
    oauth2cc_test::temp_dir first, second, third;
    const auto ok =
        run_program({example("OAUTH2CC_EXAMPLE_CRON_JOB"), date_url},
                    cached(client_env("read-client", "read-secret", "read_date"), first));
    CHECK(ok.exit_code == 0);
    CHECK(json::parse(ok.out).contains("date"));

    auto env = cached(client_env("read-client", "wrong-secret-456", "read_date"), second);
    env.emplace_back("OAUTH2CC_API_URL", date_url);
    const auto bad = run_program({example("OAUTH2CC_EXAMPLE_CRON_JOB")}, env);
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("invalid_client") != std::string::npos);
    CHECK(bad.err.find("wrong-secret-456") == std::string::npos);

    const auto refused =
        run_program({example("OAUTH2CC_EXAMPLE_CRON_JOB"), date_url},
                    cached(client_env("write-client", "write-secret", "post_echo"), third));
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("HTTP 403") != std::string::npos);

    // A key instead of a secret, from the same OAUTH2_* names as the CLI's.
    oauth2cc_test::temp_dir fourth;
    const auto keyed = run_program(
        {example("OAUTH2CC_EXAMPLE_CRON_JOB"), date_url},
        cached({{"OAUTH2_ISSUER", authorization_server().info().at("issuer").get<std::string>()},
                {"OAUTH2_CLIENT_ID", "key-p384-client"},
                {"OAUTH2_CLIENT_KEY_FILE", key_file("key-p384")},
                {"OAUTH2_CLIENT_KEY_ID", "key-p384"},
                {"OAUTH2_SCOPE", "read_date"}},
               fourth));
    CAPTURE(keyed.err);
    CHECK(keyed.exit_code == 0);
    CHECK(json::parse(keyed.out).contains("date"));
    const auto unkeyed = run_program({example("OAUTH2CC_EXAMPLE_CRON_JOB"), date_url},
                                     cached({{"OAUTH2_TOKEN_URL", token_url()},
                                             {"OAUTH2_CLIENT_ID", "key-p384-client"},
                                             {"OAUTH2_AUTH_METHOD", "private_key_jwt"}},
                                            fourth));
    CHECK(unkeyed.exit_code == 1);
    CHECK(unkeyed.err.find("needs a client key file") != std::string::npos);
}

// An API that accepts any Bearer token and remembers which ones it saw, so that calls
// go on while the authorization server is away.
struct accepting_api {
    oauth2cc_test::local_server server;
    std::mutex m;
    std::vector<std::string> tokens;
    accepting_api() {
        server.server().Get("/poll", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard<std::mutex> lock(m);
            tokens.push_back(req.get_header_value("Authorization"));
            res.set_content("ok", "text/plain");
        });
        server.start();
    }
    // The server's threads stop before the members its handler writes go away.
    ~accepting_api() { server.stop(); }
    accepting_api(const accepting_api&) = delete;
    accepting_api& operator=(const accepting_api&) = delete;
    std::size_t calls() {
        std::lock_guard<std::mutex> lock(m);
        return tokens.size();
    }
};

// A token endpoint that holds every request until the test lets it go.
struct held_token_endpoint {
    oauth2cc_test::local_server server;
    std::mutex m;
    std::condition_variable changed;
    int arrived = 0;
    bool released = false;
    held_token_endpoint() {
        server.server().Post("/token", [this](const httplib::Request&, httplib::Response& res) {
            std::unique_lock<std::mutex> lock(m);
            ++arrived;
            changed.notify_all();
            changed.wait_for(lock, 60s, [this] { return released; });
            res.set_content(
                R"({"access_token":"held-token","token_type":"Bearer","expires_in":3600})",
                "application/json");
        });
        server.start();
    }
    ~held_token_endpoint() {
        release();
        server.stop();
    }
    held_token_endpoint(const held_token_endpoint&) = delete;
    held_token_endpoint& operator=(const held_token_endpoint&) = delete;
    bool wait_for_request(std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(m);
        return changed.wait_for(lock, timeout, [this] { return arrived > 0; });
    }
    void release() {
        std::lock_guard<std::mutex> lock(m);
        released = true;
        changed.notify_all();
    }
};

TEST_CASE("asio example: the loop's timer ticks while a slow token server holds the request") {
    const std::string program = example("OAUTH2CC_EXAMPLE_ASIO_LOOP");
    if (program.empty()) {
        const char* ci = std::getenv("CI");
        if (ci != nullptr && std::string(ci) == "true") {
            FAIL("the Asio example is not built (OAUTH2CC_EXAMPLE_ASIO_LOOP is not set)");
        }
        MESSAGE("skipped: the Asio example is not built (no asio.hpp)");
        return;
    }
    held_token_endpoint token_server;
    accepting_api api;
    oauth2cc_test::running_program loop({program, "--calls", "3", "--interval-ms", "20",
                                         "--tick-ms", "5", api.server.url() + "/poll"},
                                        {{"OAUTH2_TOKEN_URL", token_server.server.url() + "/token"},
                                         {"OAUTH2_CLIENT_ID", "loop-client"},
                                         {"OAUTH2_CLIENT_SECRET", "loop-secret"}});
    REQUIRE(loop.wait_for_line("token request under way", 30s));
    REQUIRE(token_server.wait_for_request(30s));
    // The server holds the request; the loop's timer goes on ticking all the same. Were
    // the loop blocked, no tick would come and this wait would fail.
    REQUIRE(loop.wait_for_line("tick 20 while the token request is under way", 30s));
    CHECK(api.calls() == 0);
    token_server.release();
    REQUIRE(loop.wait_for_line("token: arrived", 30s));
    REQUIRE(loop.wait_for_line("done: 3 calls, 0 failed", 30s));
    // Signal 0 sends nothing: this waits for the program to end by itself.
    std::chrono::milliseconds took{0};
    const int status = loop.stop(0, took);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(loop.output().find("call: HTTP 200") != std::string::npos);
    {
        std::lock_guard<std::mutex> lock(api.m);
        CHECK(api.tokens == std::vector<std::string>(3, "Bearer held-token"));
    }
    {
        std::lock_guard<std::mutex> lock(token_server.m);
        CHECK(token_server.arrived == 1);  // one request, for every call
    }
    CHECK(loop.output().find("loop-secret") == std::string::npos);
    CHECK(loop.output().find("held-token") == std::string::npos);
}

TEST_CASE("daemon example: stops within a second of SIGTERM or SIGINT") {
    if (!examples_available_or_skip()) return;
    accepting_api api;
    for (int signal : {SIGTERM, SIGINT}) {
        CAPTURE(signal);
        oauth2cc_test::running_program daemon(
            {example("OAUTH2CC_EXAMPLE_DAEMON"), "--interval-ms", "100",
             api.server.url() + "/poll"},
            client_env("read-client", "read-secret", "read_date"));
        REQUIRE(daemon.wait_for_line("call: HTTP 200", 30s));
        std::chrono::milliseconds took{0};
        const int status = daemon.stop(signal, took);
        CHECK(took < 1000ms);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(daemon.output().find("stopping on signal") != std::string::npos);
    }
}

TEST_CASE("daemon example: keeps calling with the valid token while the server is away") {
    if (!examples_available_or_skip()) return;
    // Tokens live 6 s and are refreshed 3 s before expiry.
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "6"});
    accepting_api api;
    oauth2cc_test::running_program daemon(
        {example("OAUTH2CC_EXAMPLE_DAEMON"), "--interval-ms", "100", "--status-every-ms", "500",
         api.server.url() + "/poll"},
        {{"OAUTH2_TOKEN_URL", peer->info().at("token_endpoint").get<std::string>()},
         {"OAUTH2_CLIENT_ID", "read-client"},
         {"OAUTH2_CLIENT_SECRET", "read-secret"}});
    REQUIRE(daemon.wait_for_line("call: HTTP 200", 30s));
    const std::size_t before_outage = api.calls();

    peer->stop();  // the authorization server goes away
    // The refresh at the lead point fails, and the daemon says how it backs off.
    REQUIRE(daemon.wait_for_line("next attempt in", 30s));
    REQUIRE(daemon.wait_for_line("backing off", 30s));
    const std::size_t during_outage = api.calls();
    CHECK(during_outage > before_outage);
    {
        std::lock_guard<std::mutex> lock(api.m);
        // Every call so far carried the one token fetched before the outage.
        CHECK(std::set<std::string>(api.tokens.begin(), api.tokens.end()).size() == 1);
    }
    std::chrono::milliseconds took{0};
    const int status = daemon.stop(SIGTERM, took);
    CHECK(took < 1000ms);
    CHECK(WIFEXITED(status));
    CHECK(daemon.output().find("basic-secret") == std::string::npos);
    CHECK(daemon.output().find("read-secret") == std::string::npos);
}

TEST_CASE("daemon example: --audience A URL_A --audience B URL_B, each token to its own API") {
    if (!examples_available_or_skip()) return;
    accepting_api a_api, b_api;
    const int before = token_requests();
    oauth2cc_test::running_program daemon(
        {example("OAUTH2CC_EXAMPLE_DAEMON"), "--interval-ms", "50", "--status-every-ms", "100",
         "--audience", "https://a.example", a_api.server.url() + "/poll", "--audience",
         "https://b.example", b_api.server.url() + "/poll"},
        client_env("read-client", "read-secret", "read_date"));
    REQUIRE(daemon.wait_for_line("call (https://a.example): HTTP 200", 30s));
    REQUIRE(daemon.wait_for_line("call (https://b.example): HTTP 200", 30s));
    REQUIRE(daemon.wait_for_line("tokens held 3", 30s));  // a, b and the config's own
    {
        // Each API saw one token, its audience's, never the other's.
        std::lock_guard<std::mutex> la(a_api.m), lb(b_api.m);
        const std::set<std::string> a(a_api.tokens.begin(), a_api.tokens.end());
        const std::set<std::string> b(b_api.tokens.begin(), b_api.tokens.end());
        CHECK(a.size() == 1);
        CHECK(b.size() == 1);
        CHECK(a != b);
    }
    // One token per audience, and the config's own, which background refresh keeps too.
    CHECK(token_requests() - before == 3);
    std::chrono::milliseconds took{0};
    const int status = daemon.stop(SIGTERM, took);
    CHECK(WIFEXITED(status));
    CHECK(daemon.output().find("read-secret") == std::string::npos);

    // Audiences that share one URL are refused: which token would go there?
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--audience", "https://a.example", "--audience", "https://b.example",
              a_api.server.url() + "/poll"},
             {"--audience", "https://a.example"},
             {a_api.server.url() + "/poll", "--audience", "https://a.example",
              b_api.server.url() + "/poll"}}) {
        std::vector<std::string> argv{example("OAUTH2CC_EXAMPLE_DAEMON")};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto refused = run_program(argv, client_env("read-client", "read-secret"));
        CHECK(refused.exit_code == 2);
        CHECK(refused.err.find("URL") != std::string::npos);
    }
}

TEST_CASE("daemon example: /metrics on loopback counts what the server counts") {
    if (!examples_available_or_skip()) return;
    accepting_api api;
    const int before = token_requests();
    oauth2cc_test::running_program daemon({example("OAUTH2CC_EXAMPLE_DAEMON"), "--interval-ms",
                                           "50", "--metrics-port", "0", api.server.url() + "/poll"},
                                          client_env("read-client", "read-secret", "read_date"));
    REQUIRE(daemon.wait_for_line("/metrics", 30s));
    // Two calls: the second one read the cached token.
    REQUIRE(daemon.wait_for_line("call: HTTP 200", 30s));
    const auto at = daemon.output().find("metrics at http://127.0.0.1:");
    REQUIRE(at != std::string::npos);
    const int port = std::atoi(daemon.output().c_str() + at + 28);
    REQUIRE(port > 0);
    httplib::Client scraper("127.0.0.1", port);
    std::string text;
    for (int tries = 0; tries < 600; ++tries) {  // until a call has read the cached token
        const auto res = scraper.Get("/metrics");
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
        text = res->body;
        if (text.find("oauth2cc_token_cache_hits_total{client_id=\"read-client\"} 0") ==
            std::string::npos) {
            break;
        }
        REQUIRE(daemon.wait_for_line("call: HTTP 200", 30s));
    }
    const auto parsed = oauth2cc_test::parse_prometheus(text);
    const std::string id = "client_id=\"read-client\"";
    CHECK(parsed.value("oauth2cc_token_requests_total{" + id + ",outcome=\"success\"}") ==
          token_requests() - before);
    CHECK(parsed.value("oauth2cc_token_request_duration_seconds_count{" + id + "}") ==
          token_requests() - before);
    CHECK(parsed.value("oauth2cc_token_cache_hits_total{" + id + "}") >= 1);
    CHECK(parsed.value("oauth2cc_token_consecutive_failures{" + id + "}") == 0);
    CHECK(text.find("read-secret") == std::string::npos);
    CHECK(scraper.Get("/other")->status == 404);
    std::chrono::milliseconds took{0};
    const int status = daemon.stop(SIGTERM, took);
    CHECK(WIFEXITED(status));
    CHECK(took < 1000ms);
}

TEST_CASE("oauth2cc-cli --cache: 20 processes starting together make 1 token request") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    const std::string dir = tmp / "cache";
    const int before = token_requests();
    std::vector<program_result> runs(20);
    on_threads(20, [&](int i) {
        runs[static_cast<std::size_t>(i)] =
            cli({"--cache", dir, "token"}, client_env("read-client", "read-secret", "read_date"));
    });
    CHECK(token_requests() - before == 1);
    std::set<std::string> tokens;
    for (const auto& run : runs) {
        CHECK(run.exit_code == 0);
        CAPTURE(run.err);
        tokens.insert(json::parse(run.out).at("access_token").get<std::string>());
    }
    CHECK(tokens.size() == 1);

    // One private file, holding the token and never the secret.
    const std::string key = reader_key();
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(dir + "/" + key + ".json") == 0600);
    const std::string stored = read_file(dir + "/" + key + ".json");
    CHECK(stored.find(*tokens.begin()) != std::string::npos);
    CHECK(stored.find("read-secret") == std::string::npos);
}

TEST_CASE("oauth2cc-cli --cache: 60 runs in a row within a token's lifetime make 1 request") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    auto env = client_env("read-client", "read-secret", "read_date");
    env.emplace_back("OAUTH2_CACHE_DIR", tmp / "cache");  // the variable works as --cache
    const int before = token_requests();
    std::set<std::string> tokens;
    int failed = 0;
    for (int i = 0; i < 60; ++i) {
        const auto run = cli({"token"}, env);
        if (run.exit_code != 0) ++failed;
        if (run.exit_code == 0)
            tokens.insert(json::parse(run.out).at("access_token").get<std::string>());
    }
    CHECK(failed == 0);
    CHECK(tokens.size() == 1);
    CHECK(token_requests() - before == 1);
}

TEST_CASE("oauth2cc-cli --cache: the key and the assertions' audience key the stored token") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    const std::string dir = tmp / "cache";
    const env_list env{{"OAUTH2_TOKEN_URL", token_url()},
                       {"OAUTH2_CLIENT_ID", "key-p256-client"},
                       {"OAUTH2_SCOPE", "read_date"},
                       {"OAUTH2_CACHE_DIR", dir}};
    const auto token_of = [](const program_result& run) {
        return json::parse(run.out).at("access_token").get<std::string>();
    };
    const int before = token_requests();
    const auto first = cli({"--client-key", key_file("key-p256"), "token"}, env);
    REQUIRE(first.exit_code == 0);
    const auto again = cli({"--client-key", key_file("key-p256"), "token"}, env);
    CHECK(token_of(again) == token_of(first));
    CHECK(token_requests() - before == 1);

    // Another key is another credential: it does not get the stored token, and the
    // server refuses it for this client.
    CHECK(cli({"--client-key", key_file("key-p384"), "token"}, env).exit_code == 3);
    CHECK(token_requests() - before == 2);

    const std::string issuer = authorization_server().info().at("issuer").get<std::string>();
    const auto by_issuer =
        cli({"--client-key", key_file("key-p256"), "--assertion-audience", issuer, "token"}, env);
    REQUIRE(by_issuer.exit_code == 0);
    CHECK(token_of(by_issuer) != token_of(first));
    CHECK(token_requests() - before == 3);

    // The stored files hold tokens, never the key.
    const auto key_lines = pem_body_lines(key_file("key-p256"));
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        ++files;
        CHECK_FALSE(holds_any(read_file(entry.path().string()), key_lines));
    }
    CHECK(files >= 2);
}

TEST_CASE("oauth2cc-cli --cache: corrupt and expired entries are replaced with one request") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    const std::string dir = tmp / "cache";
    const auto env = client_env("read-client", "read-secret", "read_date");
    const std::string path = dir + "/" + reader_key() + ".json";
    const auto token_of = [](const program_result& run) {
        return json::parse(run.out).at("access_token").get<std::string>();
    };
    const auto first = cli({"--cache", dir, "token"}, env);
    REQUIRE(first.exit_code == 0);

    SUBCASE("corrupt") {
        std::ofstream(path, std::ios::trunc) << "{\"format\":\"oauth2cc-token/1\",\"acc";
        const int before = token_requests();
        const auto run = cli({"--cache", dir, "token"}, env);
        CHECK(run.exit_code == 0);
        CHECK(token_requests() - before == 1);
        CHECK(token_of(run) != token_of(first));
        // The file is whole again: the next run makes no request.
        const auto again = cli({"--cache", dir, "token"}, env);
        CHECK(token_of(again) == token_of(run));
        CHECK(token_requests() - before == 1);
    }
    SUBCASE("expired, or within the refresh lead") {
        const auto now = std::chrono::system_clock::now();
        for (const auto left : {-60s, 100s}) {  // an hour's token has a 360 s lead
            oauth2cc::file_token_store store(dir);
            oauth2cc::stored_token old;
            old.access_token = oauth2cc::secret{"stale-token-" + std::to_string(left.count())};
            old.token_type = "Bearer";
            old.issued_at = now + left - 3600s;
            old.expires_at = now + left;
            store.save(reader_key(), old);
            const int before = token_requests();
            const auto run = cli({"--cache", dir, "token"}, env);
            CHECK(run.exit_code == 0);
            CHECK(token_requests() - before == 1);
            CHECK(token_of(run).rfind("stale-token", 0) == std::string::npos);
        }
    }
}

TEST_CASE("oauth2cc-cli --cache: unsafe permissions are refused with a clear error") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    const std::string dir = tmp / "cache";
    const auto env = client_env("read-client", "read-secret", "read_date");
    REQUIRE(cli({"--cache", dir, "token"}, env).exit_code == 0);
    const int before = token_requests();

    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    const auto open_dir = cli({"--cache", dir, "token"}, env);
    CHECK(open_dir.exit_code == 2);
    CHECK(open_dir.err.find(dir) != std::string::npos);
    CHECK(open_dir.err.find("mode 0755") != std::string::npos);
    CHECK(open_dir.err.find("chmod 700") != std::string::npos);
    CHECK(open_dir.out.empty());

    REQUIRE(::chmod(dir.c_str(), 0700) == 0);
    const std::string path = dir + "/" + reader_key() + ".json";
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    const auto open_file = cli({"--cache", dir, "token"}, env);
    CHECK(open_file.exit_code == 2);
    CHECK(open_file.err.find(path) != std::string::npos);
    CHECK(open_file.err.find("chmod 600") != std::string::npos);
    CHECK(open_file.out.empty());
    CHECK(token_requests() == before);  // refused before asking anyone
}

TEST_CASE("oauth2cc-cli --cache call: a revoked stored token is dropped and replaced once") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    const std::string dir = tmp / "cache";
    auto& peer = authorization_server();
    auto api = start_resource_server();
    const std::string date_url = api->info().at("url").get<std::string>() + "/api/date";
    const auto env = client_env("read-client", "read-secret", "read_date");
    oauth2cc::file_token_store store(dir);

    REQUIRE(cli({"--cache", dir, "call", date_url}, env).exit_code == 0);
    const auto stored = store.load(reader_key());
    REQUIRE(stored.has_value());
    const std::string revoked = stored->access_token.reveal();
    REQUIRE(oauth2cc_test::revoke_token(peer, revoked));

    const int before = token_requests();
    const auto run = cli({"--cache", dir, "call", date_url}, env);
    CAPTURE(run.err);
    CHECK(run.exit_code == 0);
    CHECK(json::parse(run.out).contains("date"));
    CHECK(token_requests() - before == 1);  // one new token, after the 401
    const auto replaced = store.load(reader_key());
    REQUIRE(replaced.has_value());
    CHECK(replaced->access_token.reveal() != revoked);

    // The new token is reused by the next run.
    CHECK(cli({"--cache", dir, "call", date_url}, env).exit_code == 0);
    CHECK(token_requests() - before == 1);
}

TEST_CASE("cron job example: 5 runs share one token through the default cache directory") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    auto api = start_resource_server();
    auto env = client_env("read-client", "read-secret", "read_date");
    env.emplace_back("XDG_CACHE_HOME", tmp / "xdg");  // $XDG_CACHE_HOME/oauth2cc
    env.emplace_back("OAUTH2CC_API_URL", api->info().at("url").get<std::string>() + "/api/date");
    const int before = token_requests();
    for (int i = 0; i < 5; ++i) {
        const auto run = run_program({example("OAUTH2CC_EXAMPLE_CRON_JOB")}, env);
        CAPTURE(run.err);
        CHECK(run.exit_code == 0);
    }
    CHECK(token_requests() - before == 1);
    CHECK(mode_of(tmp / "xdg/oauth2cc") == 0700);
    CHECK(mode_of(tmp / ("xdg/oauth2cc/" + reader_key() + ".json")) == 0600);
}

// What the test server's introspection says of token: active or not.
bool active_at_server(const std::string& token) {
    oauth2cc::client_config rs;
    rs.client_id = "resource-server";
    rs.client_secret = oauth2cc::secret{"resource-server-secret"};
    return oauth2cc::introspect(
               rs, authorization_server().info().at("introspection_endpoint").get<std::string>(),
               token)
        .active;
}

TEST_CASE(
    "oauth2cc-cli revoke: a token file's, or the stored one, then introspection says inactive") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    auto env = client_env("read-client", "read-secret", "read_date");
    const auto first = cli({"token"}, env);
    REQUIRE(first.exit_code == 0);
    const std::string token = json::parse(first.out).at("access_token").get<std::string>();
    std::ofstream(tmp / "token") << token << "\n";
    CHECK(active_at_server(token));
    // The endpoint from the issuer's metadata; then from OAUTH2_REVOCATION_URL.
    const auto revoked =
        cli({"--issuer", authorization_server().info().at("issuer").get<std::string>(), "revoke",
             "--token-file", tmp / "token"},
            env);
    CAPTURE(revoked.err);
    CHECK(revoked.exit_code == 0);
    CHECK(revoked.err.find(token) == std::string::npos);
    CHECK_FALSE(active_at_server(token));

    env.emplace_back("OAUTH2_REVOCATION_URL",
                     authorization_server().info().at("revocation_endpoint").get<std::string>());
    const std::string dir = tmp / "cache";
    REQUIRE(cli({"--cache", dir, "token"}, env).exit_code == 0);
    oauth2cc::file_token_store store(dir);
    const auto stored = store.load(reader_key());
    REQUIRE(stored.has_value());
    CHECK(active_at_server(stored->access_token.reveal()));
    const auto from_store = cli({"--cache", dir, "revoke"}, env);
    CAPTURE(from_store.err);
    CHECK(from_store.exit_code == 0);
    CHECK_FALSE(active_at_server(stored->access_token.reveal()));
    CHECK_FALSE(store.load(reader_key()).has_value());
    // Nothing stored now: nothing to revoke, and no error.
    const auto again = cli({"--cache", dir, "revoke"}, env);
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("nothing revoked") != std::string::npos);
    // Neither a file nor a store: a usage error.
    CHECK(cli({"revoke"}, env).exit_code == 2);
}

TEST_CASE("cron job example: OAUTH2_REVOKE_AT_EXIT=1 revokes the job's token and keeps none") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    auto api = start_resource_server();
    auto env = client_env("read-client", "read-secret", "read_date");
    env.emplace_back("OAUTH2_CACHE_DIR", tmp / "cache");
    env.emplace_back("OAUTH2_ISSUER",
                     authorization_server().info().at("issuer").get<std::string>());
    env.emplace_back("OAUTH2_REVOKE_AT_EXIT", "1");
    const auto run = run_program({example("OAUTH2CC_EXAMPLE_CRON_JOB"),
                                  api->info().at("url").get<std::string>() + "/api/date"},
                                 env);
    CAPTURE(run.err);
    CHECK(run.exit_code == 0);
    CHECK(json::parse(run.out).contains("date"));
    CHECK(run.err.find("not revoked") == std::string::npos);
    // The token went at exit: no file holds it.
    for (const auto& e : std::filesystem::directory_iterator(tmp / "cache")) {
        CHECK(e.path().extension() != ".json");
    }
}

TEST_CASE("oauth2cc-cli: a mistyped option or a stray argument is never printed back") {
    if (!examples_available_or_skip()) return;
    const std::string typed = "TYPED-s3cret-value";
    const auto refused = [&](const std::vector<std::string>& args, const std::string& says) {
        const auto r = cli(args, client_env("read-client", "read-secret"));
        CAPTURE(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(says) != std::string::npos);
        CHECK(r.err.find(typed) == std::string::npos);
        CHECK(r.err.find("TYPED") == std::string::npos);
        CHECK(r.out.empty());
    };
    refused({"--client-secert", typed, "token"},
            "unknown option --client-secert; did you mean --client-secret?");
    refused({"--clientsecret=" + typed, "token"},
            "unknown option --clientsecret; did you mean --client-secret?");
    refused({"token", typed}, "argument 2 was not expected (token takes no argument");
    refused({"call", "https://api.example/", typed}, "argument 3 was not expected");
    refused({typed}, "argument 1 is not a command: the commands are token, revoke and call");
    refused({"token", "--format", typed}, "--format: not one of the values it takes");
    refused({"token", "--auth", typed}, "--auth: not one of the values it takes");
    // A URL breaks one rule, named under the option and variable the user gave.
    const auto fragment =
        cli({"--token-url", "https://as.example/token#f", "token"}, client_env("a", "b"));
    CHECK(fragment.exit_code == 2);
    CHECK_MESSAGE(
        fragment.err.find("OAUTH2_TOKEN_URL (--token-url): has a fragment") != std::string::npos,
        fragment.err);
    const auto typo = cli({"tokn"}, client_env("read-client", "read-secret"));
    CHECK(typo.exit_code == 2);
    CHECK(typo.err.find("unknown command \"tokn\"; did you mean token?") != std::string::npos);
    const auto none = cli({}, client_env("read-client", "read-secret"));
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("no command") != std::string::npos);
}

TEST_CASE("oauth2cc-cli --config FILE: the client configuration from a JSON file") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    std::ofstream(tmp / "secret") << "read-secret\n";
    {
        std::ofstream(tmp / "client.json") << nlohmann::json{
            {"token_url", token_url()},
            {"client_id", "read-client"},
            {"client_secret_file", tmp / "secret"},
            {"scope", "read_date"}}.dump();
    }
    const auto r = cli({"--config", tmp / "client.json", "token"}, {});
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out).at("scope") == "read_date");
    { std::ofstream(tmp / "broken.json") << "{\n  \"client_id\": read-client\n}"; }
    const auto broken = cli({"--config", tmp / "broken.json", "token"}, {});
    CHECK(broken.exit_code == 2);
    CHECK(broken.err.find("line 2, column 16") != std::string::npos);
}

TEST_CASE("oauth2cc-cli: a token that is not VSCHAR is a bad response, never an abort") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::local_server form;
    form.server().Post("/token", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("access_token=a%FF%FEb&token_type=bearer&expires_in=60",
                        "application/x-www-form-urlencoded");
    });
    form.start();
    for (const char* format : {"json", "kubectl", "raw"}) {
        CAPTURE(format);
        const auto r = cli({"--token-url", form.url() + "/token", "token", "--format", format},
                           client_env("basic-client", "basic-secret"));
        CHECK(r.exit_code == 5);
        CHECK(r.err.find("VSCHAR") != std::string::npos);
        CHECK(r.out.empty());
    }
}

TEST_CASE("oauth2cc-cli: the library's parser reads its settings, and its errors name them") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    std::ofstream(tmp / "secret") << "read-secret\n";
    const auto bad = cli({"token"}, {{"OAUTH2_TOKEN_URL", token_url()},
                                     {"OAUTH2_CLIENT_ID", "read-client"},
                                     {"OAUTH2_CLIENT_SECRET_FILE", tmp / "missing"}});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("OAUTH2_CLIENT_SECRET_FILE") != std::string::npos);
    // The setting may hold the secret itself by mistake: never shown back.
    CHECK(bad.err.find("cannot read the file it names") != std::string::npos);
    CHECK(bad.err.find(tmp / "missing") == std::string::npos);
    const auto no_key = cli({"token", "--dpop-key", tmp / "no-key.pem"},
                            client_env("read-client", "read-secret", "read_date"));
    CHECK(no_key.exit_code == 2);
    CHECK(no_key.err.find("OAUTH2_DPOP_KEY_FILE (--dpop-key): cannot read") != std::string::npos);
    const auto from_file = cli({"token"}, {{"OAUTH2_TOKEN_URL", token_url()},
                                           {"OAUTH2_CLIENT_ID", "read-client"},
                                           {"OAUTH2_CLIENT_SECRET_FILE", tmp / "secret"},
                                           {"OAUTH2_SCOPE", "read_date"}});
    CAPTURE(from_file.err);
    CHECK(from_file.exit_code == 0);
    CHECK(json::parse(from_file.out).at("scope") == "read_date");
}

TEST_CASE("daemon example: takes up a rotated client secret from its file, with no restart") {
    if (!examples_available_or_skip()) return;
    oauth2cc_test::temp_dir tmp;
    const std::string secret_file = tmp / "client_secret";
    std::ofstream(secret_file) << "rotating-secret-1\n";
    // Tokens live 8 s and are refreshed 4 s before expiry.
    auto before = oauth2cc_test::start_oidc_provider({"--ttl", "8"});
    const std::string port = std::to_string(before->port());
    accepting_api api;
    oauth2cc_test::running_program daemon(
        {example("OAUTH2CC_EXAMPLE_DAEMON"), "--interval-ms", "100", "--status-every-ms", "500",
         api.server.url() + "/poll"},
        {{"OAUTH2_TOKEN_URL", before->info().at("token_endpoint").get<std::string>()},
         {"OAUTH2_CLIENT_ID", "rotating-client"},
         {"OAUTH2_CLIENT_SECRET_FILE", secret_file}});
    REQUIRE(daemon.wait_for_line("call: HTTP 200", 30s));
    const std::size_t calls_before = api.calls();

    // The server comes back on its port knowing only the new secret, and holds its
    // refusal of the old one while the secret manager replaces the file.
    before->stop();
    auto after =
        oauth2cc_test::start_oidc_provider({"--ttl", "8", "--port", port, "--rotating-secret",
                                            "rotating-secret-2", "--hold-refusals"});
    bool held = false;
    for (int i = 0; i < 600 && !held; ++i) {  // a bounded wait on the server's count
        held = after->harness_stats().at("held").get<int>() == 1;
        if (!held) std::this_thread::sleep_for(50ms);
    }
    REQUIRE(held);
    { std::ofstream(secret_file + ".new") << "rotating-secret-2\n"; }
    REQUIRE(std::rename((secret_file + ".new").c_str(), secret_file.c_str()) == 0);
    after->release_held_refusals();

    // The refusal read the file again and the request was repeated once, with the new
    // secret: one refused request, and the daemon goes on as it was.
    REQUIRE(daemon.wait_for_line("a rotated credential was taken up from client_secret_file", 30s));
    const auto stats = after->harness_stats();
    CHECK(stats.at("token_errors") == 1);
    CHECK(stats.at("token_success") == 1);
    // Its calls go on, soon with the token the new secret got.
    const auto new_token_seen = [&api, calls_before] {
        std::lock_guard<std::mutex> lock(api.m);
        const std::set<std::string> old(
            api.tokens.begin(), api.tokens.begin() + static_cast<std::ptrdiff_t>(calls_before));
        return std::any_of(api.tokens.begin() + static_cast<std::ptrdiff_t>(calls_before),
                           api.tokens.end(),
                           [&old](const std::string& t) { return old.count(t) == 0; });
    };
    for (int i = 0; i < 200 && !new_token_seen(); ++i) {
        REQUIRE(daemon.wait_for_line("call: HTTP 200", 30s));
    }
    CHECK(new_token_seen());
    std::chrono::milliseconds took{0};
    const int status = daemon.stop(SIGTERM, took);
    CHECK(WIFEXITED(status));
    CHECK(daemon.output().find("rotating-secret-") == std::string::npos);
}

// Debian's kubectl (kubernetes-client): where another package owns /usr/bin/kubectl,
// tools/bootstrap unpacks it beside the peers instead of installing it over that one.
std::string debian_kubectl() {
    const std::string unpacked =
        std::string(OAUTH2CC_TEST_PEERS_DIR) + "/kubernetes-client/usr/bin/kubectl";
    if (::access(unpacked.c_str(), X_OK) == 0) return unpacked;
    const auto owner = run_program({"dpkg-query", "-W", "-f=${Status}", "kubernetes-client"}, {});
    if (owner.out.find("install ok installed") != std::string::npos) return "/usr/bin/kubectl";
    return {};
}

TEST_CASE("oauth2cc-cli token --format: raw for curl, header, text, and kubectl's exec plugin") {
    if (!examples_available_or_skip()) return;
    const auto env = client_env("read-client", "read-secret", "read_date");
    const auto raw = cli({"token", "--format", "raw"}, env);
    REQUIRE(raw.exit_code == 0);
    REQUIRE(raw.out.size() > 1);
    const std::string token = raw.out.substr(0, raw.out.size() - 1);
    CHECK(token.find('\n') == std::string::npos);
    CHECK(active_at_server(token));
    const auto header = cli({"token", "--format", "header"}, env);
    CHECK(header.out.rfind("Authorization: Bearer ", 0) == 0);
    const auto text = cli({"token", "--format", "text"}, env);
    CHECK(text.out.find("token_type: Bearer\n") != std::string::npos);
    CHECK(text.out.find("expires_at: 20") != std::string::npos);
    CHECK(cli({"token", "--format", "yaml"}, env).exit_code == 2);

    // `curl --oauth2-bearer "$(oauth2cc-cli token --format raw)"` against the example API.
    auto api = start_resource_server();
    const auto curl = run_program({"/usr/bin/curl", "-sS", "--oauth2-bearer", token,
                                   api->info().at("url").get<std::string>() + "/api/date"},
                                  {});
    CAPTURE(curl.err);
    CHECK(curl.exit_code == 0);
    CHECK(json::parse(curl.out).contains("date"));

    // An ExecCredential, as kubectl asks an exec plugin for one.
    const auto credential = json::parse(cli({"token", "--format", "kubectl"}, env).out);
    CHECK(credential.at("apiVersion") == "client.authentication.k8s.io/v1beta1");
    CHECK(credential.at("kind") == "ExecCredential");
    CHECK(active_at_server(credential.at("status").at("token").get<std::string>()));
    const std::string expiry = credential.at("status").at("expirationTimestamp").get<std::string>();
    CHECK(expiry.size() == 20);
    CHECK(expiry.back() == 'Z');
}

TEST_CASE("oauth2cc-cli as kubectl's exec credential plugin, against a local API server") {
    if (!examples_available_or_skip()) return;
    const std::string kubectl = debian_kubectl();
    if (kubectl.empty()) {
        const char* ci = std::getenv("CI");
        if (ci != nullptr && std::string(ci) == "true") {
            FAIL("Debian's kubectl (kubernetes-client) is missing: run tools/bootstrap");
        }
        MESSAGE("skipped: Debian's kubectl (kubernetes-client) is missing; run tools/bootstrap");
        return;
    }
    // A Kubernetes API server of one path, over TLS (kubectl runs exec plugins for TLS
    // servers only), that answers only a token the authorization server says is active.
    const auto& certs = oauth2cc_test::test_certificates();
    oauth2cc_test::local_server cluster(
        std::make_unique<httplib::SSLServer>(certs.server_cert.c_str(), certs.server_key.c_str()));
    std::mutex m;
    std::vector<std::string> seen;
    cluster.server().Get("/apis/oauth2cc.test/v1/whoami",
                         [&](const httplib::Request& req, httplib::Response& res) {
                             const std::string auth = req.get_header_value("Authorization");
                             {
                                 std::lock_guard<std::mutex> lock(m);
                                 seen.push_back(auth);
                             }
                             const bool bearer = auth.rfind("Bearer ", 0) == 0;
                             if (!bearer || !active_at_server(auth.substr(7))) {
                                 res.status = 401;
                                 return;
                             }
                             res.set_content(R"({"user":"read-client"})", "application/json");
                         });
    cluster.start();
    oauth2cc_test::temp_dir tmp;
    const std::string kubeconfig = tmp / "kubeconfig";
    std::ofstream(kubeconfig)
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n"
        << "    server: https://127.0.0.1:" << cluster.port() << "\n"
        << "    certificate-authority: " << certs.ca_cert << "\n"
        << "contexts:\n- name: local\n  context:\n    cluster: local\n"
        << "    user: oauth2cc\ncurrent-context: local\nusers:\n"
        << "- name: oauth2cc\n  user:\n    exec:\n"
        << "      apiVersion: client.authentication.k8s.io/v1beta1\n"
        << "      command: " << example("OAUTH2CC_EXAMPLE_CLI") << "\n"
        << "      args: [token, --format, kubectl]\n"
        << "      env:\n"
        << "      - {name: OAUTH2_TOKEN_URL, value: \"" << token_url() << "\"}\n"
        << "      - {name: OAUTH2_CLIENT_ID, value: read-client}\n"
        << "      - {name: OAUTH2_CLIENT_SECRET, value: read-secret}\n"
        << "      - {name: OAUTH2_SCOPE, value: read_date}\n";
    const auto run = run_program(
        {kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/apis/oauth2cc.test/v1/whoami"},
        {{"HOME", tmp.path.string()}});
    CAPTURE(run.err);
    CHECK(run.exit_code == 0);
    CHECK(json::parse(run.out).at("user") == "read-client");
    std::lock_guard<std::mutex> lock(m);
    REQUIRE(!seen.empty());
    CHECK(seen.back().rfind("Bearer ", 0) == 0);
    CHECK(run.err.find(seen.back().substr(7)) == std::string::npos);
}

}  // TEST_SUITE("integration")
