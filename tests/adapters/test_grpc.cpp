// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_grpc.cpp: oauth2cc/grpc.hpp against real parts: a C++ gRPC server (the Dates service
// of dates.proto) that checks each RPC's token by introspection at oidc-provider, and a
// DPoP proof's signature, htu, ath and key where the token is DPoP-bound; over TLS, over
// local credentials on a UNIX socket, and refused on an insecure channel.
// SPDX-License-Identifier: MIT

#include "../support/peer_process.hpp"
#include "../../examples/resource_server/proof_check.hpp"

#include "dates.grpc.pb.h"

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

constexpr const char* today_path = "/oauth2cc.test.Dates/Today";

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

std::string metadata(const grpc::ServerContext& context, const std::string& key,
                     std::size_t* count = nullptr) {
    const auto range = context.client_metadata().equal_range(key);
    std::string value;
    std::size_t n = 0;
    for (auto it = range.first; it != range.second; ++it, ++n) {
        value.assign(it->second.data(), it->second.size());
    }
    if (count != nullptr) *count = n;
    return value;
}

// The Dates service, checking tokens as a resource server does: the token by
// introspection (each distinct token once, its answer kept until forget(), so that the
// service goes on while the authorization server is down), a DPoP proof on every RPC.
class dates_service final : public oauth2cc::test::Dates::Service {
public:
    explicit dates_service(const peer_process& at)
        : endpoint_(at.info().at("introspection_endpoint").get<std::string>()),
          self_(client(at, "resource-server", "resource-server-secret")) {}

    // The origin DPoP proofs must name, per listening address.
    void expect_origin(std::string origin) { origins_.insert(std::move(origin)); }

    grpc::Status Today(grpc::ServerContext* context, const oauth2cc::test::TodayRequest*,
                       oauth2cc::test::TodayReply* reply) override {
        ++rpcs_;
        const auto refuse = [&](const std::string& why) {
            ++refused_;
            return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
        };
        const std::string authorization = metadata(*context, "authorization");
        const bool dpop = authorization.rfind("DPoP ", 0) == 0;
        if (!dpop && authorization.rfind("Bearer ", 0) != 0) return refuse("no token");
        const std::string token = authorization.substr(dpop ? 5 : 7);
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            tokens_seen_.insert(token);
        }
        oauth2cc_examples::proof_verdict proof;
        if (dpop) {
            std::size_t proofs = 0;
            const std::string header = metadata(*context, "dpop", &proofs);
            if (proofs != 1) return refuse("a DPoP RPC carries one proof");
            bool good = false;
            for (const auto& origin : origins_) {
                proof = checker_.check(header, "POST", origin + today_path, token);
                if (proof) {
                    good = true;
                    break;
                }
            }
            if (!good) return refuse("bad proof: " + proof.description);
            ++proofs_checked_;
        }
        const auto info = introspected(token);
        if (!info) return {grpc::StatusCode::UNAVAILABLE, "introspection failed"};
        if (!info->active) return refuse("inactive token");
        const auto cnf = info->raw.find("cnf");
        const std::string jkt = cnf != info->raw.end() && cnf->contains("jkt")
                                    ? cnf->at("jkt").get<std::string>()
                                    : std::string();
        if (dpop != !jkt.empty()) return refuse("the token's binding and scheme differ");
        if (dpop && proof.key_thumbprint != jkt) return refuse("the proof's key is another");
        if (!info->has_scope("read_date")) {
            return {grpc::StatusCode::PERMISSION_DENIED, "read_date is needed"};
        }
        reply->set_date("2026-12-07");
        reply->set_client_id(info->client_id);
        ++ok_;
        return grpc::Status::OK;
    }

    // Forgets every introspection answer: the next RPC of each token asks again.
    void forget() {
        const std::lock_guard<std::mutex> lock(mutex_);
        answers_.clear();
    }

    int rpcs() const { return rpcs_; }
    int ok() const { return ok_; }
    int refused() const { return refused_; }
    int introspections() const { return introspections_; }
    int proofs_checked() const { return proofs_checked_; }
    std::size_t tokens_seen() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return tokens_seen_.size();
    }

private:
    std::optional<oauth2cc::introspection_result> introspected(const std::string& token) {
        const std::lock_guard<std::mutex> one_at_a_time(introspecting_);
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            const auto it = answers_.find(token);
            if (it != answers_.end()) return it->second;
        }
        try {
            ++introspections_;
            auto info = oauth2cc::introspect(self_, endpoint_, token);
            const std::lock_guard<std::mutex> lock(mutex_);
            answers_[token] = info;
            return info;
        } catch (const oauth2cc::error&) {
            return std::nullopt;
        }
    }

    std::string endpoint_;
    oauth2cc::client_config self_;
    std::set<std::string> origins_;
    oauth2cc_examples::dpop_proof_checker checker_;
    std::mutex introspecting_;  // one introspection at a time: each token is asked once
    mutable std::mutex mutex_;
    std::map<std::string, oauth2cc::introspection_result> answers_;
    std::set<std::string> tokens_seen_;
    std::atomic<int> rpcs_{0}, ok_{0}, refused_{0}, introspections_{0}, proofs_checked_{0};
};

// The service on three listeners: TLS (the test PKI's server certificate), local
// credentials on a UNIX socket, and an insecure port.
struct dates_server {
    explicit dates_server(const peer_process& at) : service(at) {
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

    dates_service service;
    std::unique_ptr<grpc::Server> server;
    int tls_port = 0, insecure_port = 0;
    std::string socket_path;
};

grpc::Status today(const std::shared_ptr<grpc::Channel>& channel,
                   oauth2cc::test::TodayReply* reply = nullptr,
                   std::chrono::seconds deadline = 30s) {
    auto stub = oauth2cc::test::Dates::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    oauth2cc::test::TodayReply ignored;
    return stub->Today(&context, oauth2cc::test::TodayRequest(), reply ? reply : &ignored);
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
    oauth2cc::test::TodayReply reply;
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
    auto stub = oauth2cc::test::Dates::NewStub(channel);
    grpc::ClientContext context;
    context.set_credentials(oauth2cc::grpc_call_credentials(tokens));
    context.set_deadline(std::chrono::system_clock::now() + 30s);
    oauth2cc::test::TodayReply reply;
    const auto status = stub->Today(&context, oauth2cc::test::TodayRequest(), &reply);
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
    auto stub =
        oauth2cc::test::Dates::NewStub(server.tls_channel(oauth2cc::grpc_call_credentials(tokens)));
    int calls = 0;
    const auto rpc = [&] {
        ++calls;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + 30s);
        oauth2cc::test::TodayReply reply;
        return stub->Today(&context, oauth2cc::test::TodayRequest(), &reply);
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
