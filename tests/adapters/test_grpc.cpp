// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_grpc.cpp: oauth2cc/grpc.hpp against real parts: a C++ gRPC server (the Dates service
// of dates.proto) that checks each RPC's token by introspection at oidc-provider, and a
// DPoP proof's signature, htu, ath and key where the token is DPoP-bound; over TLS, over
// local credentials on a UNIX socket, and refused on an insecure channel.
// SPDX-License-Identifier: MIT

#include "../support/peer_process.hpp"
#include "../../examples/grpc_server/dates_service.hpp"

#include <oauth2cc/grpc.hpp>
#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using oauth2cc::token_manager;
using oauth2cc_test::peer_process;

namespace {

peer_process& authorization_server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "3600"});
    return *peer;
}

oauth2cc::client_config client(const peer_process& at, const std::string& id,
                               const std::string& secret) {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = at.info().at("token_endpoint").get<std::string>();
    cfg.client_id = id;
    cfg.client_secret = oauth2cc::secret{secret};
    cfg.scopes = {"read_date"};
    return cfg;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The service on three listeners: TLS (the test PKI's server certificate), local
// credentials on a UNIX socket, and an insecure port.
struct dates_server {
    explicit dates_server(const peer_process& at)
        : service(at.info().at("introspection_endpoint").get<std::string>(),
                  client(at, "resource-server", "resource-server-secret")) {
        const auto& certs = oauth2cc_test::test_certificates();
        grpc::SslServerCredentialsOptions tls;
        tls.pem_key_cert_pairs.push_back(
            {read_file(certs.server_key), read_file(certs.server_cert)});
        socket_path = "/tmp/oauth2cc-grpc-" + std::to_string(::getpid()) + "-" +
                      std::to_string(++instances()) + ".sock";
        ::unlink(socket_path.c_str());
        grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &tls_port);
        builder.AddListeningPort("unix:" + socket_path, grpc::experimental::LocalServerCredentials(
                                                            grpc_local_connect_type::UDS));
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &insecure_port);
        builder.RegisterService(&service);
        server = builder.BuildAndStart();
        REQUIRE(server);
        service.expect_origin("https://127.0.0.1:" + std::to_string(tls_port));
        service.expect_origin("https://localhost");
    }
    ~dates_server() {
        server->Shutdown();
        ::unlink(socket_path.c_str());
    }
    dates_server(const dates_server&) = delete;
    dates_server& operator=(const dates_server&) = delete;

    static int& instances() {
        static int n = 0;
        return n;
    }

    // A TLS channel with the call credentials; salt keeps channels apart (no shared
    // subchannel).
    std::shared_ptr<grpc::Channel> tls_channel(std::shared_ptr<grpc::CallCredentials> creds,
                                               int salt = 0) const {
        grpc::SslCredentialsOptions tls;
        tls.pem_root_certs = read_file(oauth2cc_test::test_certificates().ca_cert);
        grpc::ChannelArguments args;
        args.SetInt("oauth2cc.test.channel", salt);
        return grpc::CreateCustomChannel(
            "127.0.0.1:" + std::to_string(tls_port),
            grpc::CompositeChannelCredentials(grpc::SslCredentials(tls), std::move(creds)), args);
    }

    std::shared_ptr<grpc::Channel> local_channel(
        std::shared_ptr<grpc::CallCredentials> creds) const {
        return grpc::CreateChannel(
            "unix:" + socket_path,
            grpc::CompositeChannelCredentials(
                grpc::experimental::LocalCredentials(grpc_local_connect_type::UDS),
                std::move(creds)));
    }

    oauth2cc_examples::dates_service service;
    std::unique_ptr<grpc::Server> server;
    int tls_port = 0, insecure_port = 0;
    std::string socket_path;
};

grpc::Status today(const std::shared_ptr<grpc::Channel>& channel,
                   oauth2cc::example::TodayReply* reply = nullptr,
                   std::chrono::seconds deadline = 30s) {
    auto stub = oauth2cc::example::Dates::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    oauth2cc::example::TodayReply ignored;
    return stub->Today(&context, oauth2cc::example::TodayRequest(), reply ? reply : &ignored);
}

}  // namespace

TEST_SUITE("adapters") {

TEST_CASE("grpc: 1,000 RPCs over 8 TLS channels and 4 threads make one token request") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    dates_server server(peer);
    auto tokens = std::make_shared<token_manager>(client(peer, "read-client", "read-secret"));
    const auto creds = oauth2cc::grpc_call_credentials(tokens);
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < 8; ++i) channels.push_back(server.tls_channel(creds, i));
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 250; ++i) {
                (today(channels[static_cast<std::size_t>((t + i) % 8)]).ok() ? ok : failed)++;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(ok == 1000);
    CHECK(failed == 0);
    CHECK(tokens->stats().fetches == 1);
    CHECK(server.service.ok() == 1000);
    CHECK(server.service.introspections() == 1);
    oauth2cc::example::TodayReply reply;
    REQUIRE(today(channels[0], &reply).ok());
    CHECK(reply.client_id() == "read-client");
}

TEST_CASE("grpc: DPoP-bound tokens with a proof per RPC, over TLS and local credentials") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    dates_server server(peer);
    auto cfg = client(peer, "dpop-client", "dpop-secret");
    cfg.dpop_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
    auto tokens = std::make_shared<token_manager>(cfg);
    const auto creds = oauth2cc::grpc_call_credentials(tokens);
    for (const auto& channel : {server.tls_channel(creds), server.local_channel(creds)}) {
        for (int i = 0; i < 10; ++i) {
            const auto status = today(channel);
            CHECK_MESSAGE(status.ok(), status.error_message());
        }
    }
    CHECK(tokens->get()->token_type == "DPoP");
    CHECK(server.service.proofs_checked() == 20);  // each RPC's proof, none replayed
    CHECK(tokens->stats().fetches == 1);
}

TEST_CASE("grpc: an insecure channel sends no token: gRPC refuses it") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    dates_server server(peer);
    auto tokens = std::make_shared<token_manager>(client(peer, "read-client", "read-secret"));
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.insecure_port),
                                       grpc::InsecureChannelCredentials());
    auto stub = oauth2cc::example::Dates::NewStub(channel);
    grpc::ClientContext context;
    context.set_credentials(oauth2cc::grpc_call_credentials(tokens));
    context.set_deadline(std::chrono::system_clock::now() + 30s);
    oauth2cc::example::TodayReply reply;
    const auto status = stub->Today(&context, oauth2cc::example::TodayRequest(), &reply);
    CHECK_FALSE(status.ok());
    CHECK(server.service.tokens_seen() == 0);
}

TEST_CASE("grpc: after expiry the next RPC carries a new token") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    dates_server server(peer);
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    auto tokens = std::make_shared<token_manager>(client(peer, "read-client", "read-secret"),
                                                  oauth2cc::refresh_policy{}, nullptr, clock);
    // Credentials made while a token is cached: the cold start after expiry still has
    // gRPC's pool for plugins that block.
    const std::string first = tokens->get()->access_token.reveal();
    const auto channel = server.tls_channel(oauth2cc::grpc_call_credentials(tokens));
    REQUIRE(today(channel).ok());
    clock->advance(2h);  // the token's hour is over
    REQUIRE(today(channel).ok());
    CHECK(tokens->get()->access_token.reveal() != first);
    CHECK(tokens->stats().fetches == 2);
    CHECK(server.service.tokens_seen() == 2);
}

TEST_CASE("grpc: UNAUTHENTICATED is repeated once, with a new token, by the helper") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& peer = authorization_server();
    dates_server server(peer);
    auto tokens = std::make_shared<token_manager>(client(peer, "read-client", "read-secret"));
    auto stub = oauth2cc::example::Dates::NewStub(
        server.tls_channel(oauth2cc::grpc_call_credentials(tokens)));
    int calls = 0;
    const auto rpc = [&] {
        ++calls;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + 30s);
        oauth2cc::example::TodayReply reply;
        return stub->Today(&context, oauth2cc::example::TodayRequest(), &reply);
    };
    REQUIRE(oauth2cc::grpc_retry_unauthenticated(*tokens, rpc).ok());
    CHECK(calls == 1);
    REQUIRE(oauth2cc_test::revoke_token(peer, tokens->get()->access_token.reveal()));
    server.service.forget();
    calls = 0;
    const auto status = oauth2cc::grpc_retry_unauthenticated(*tokens, rpc);
    CHECK_MESSAGE(status.ok(), status.error_message());
    CHECK(calls == 2);
    CHECK(tokens->stats().fetches == 2);
    CHECK(server.service.refused() == 1);
}

TEST_CASE("grpc: the authorization server down: a cached token goes on, none fails promptly") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto peer = oauth2cc_test::start_oidc_provider({"--ttl", "3600"});
    dates_server server(*peer);
    auto tokens = std::make_shared<token_manager>(client(*peer, "read-client", "read-secret"));
    const auto channel = server.tls_channel(oauth2cc::grpc_call_credentials(tokens));
    REQUIRE(today(channel).ok());
    peer->stop();
    auto cold = std::make_shared<token_manager>(client(*peer, "basic-client", "basic-secret"));
    const auto cold_channel = server.tls_channel(oauth2cc::grpc_call_credentials(cold), 1);

    int ok = 0;
    for (int i = 0; i < 50; ++i) ok += today(channel).ok() ? 1 : 0;
    CHECK(ok == 50);
    CHECK(tokens->stats().fetches == 1);

    // No token to be had: the RPC fails with the library's message long before its
    // deadline, and says nothing of the secret.
    const auto status = today(cold_channel, nullptr, 600s);
    CHECK_FALSE(status.ok());
    MESSAGE("gRPC 1.51 answers: ", status.error_code(), " ", status.error_message());
    CHECK(status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED);
    CHECK(status.error_message().find("oauth2cc: transport error") != std::string::npos);
    CHECK(status.error_message().find("basic-secret") == std::string::npos);
    CHECK(server.service.tokens_seen() == 1);
}

}  // TEST_SUITE("adapters")
