// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// grpc_server/main.cpp: oauth2cc-grpc-server, the Dates service of dates.proto as a small
// daemon on gRPC: each RPC's token checked by introspection at the authorization server,
// and its DPoP proof where the token is DPoP-bound. For the gRPC guide and
// tools/local-servers.
//
// Usage: oauth2cc-grpc-server [--unix PATH] [--tls HOST:PORT --tls-cert FILE --tls-key FILE]
// --unix: local credentials on a UNIX socket (the default: ./oauth2cc-grpc.sock); --tls: a
// TLS listener too (port 0 picks one). Configured from the environment:
// OAUTH2_INTROSPECTION_URL, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET_FILE (the service's own
// client). Prints {"target":"unix:PATH"[,"tls_target":"HOST:PORT"]} once it serves, and
// stops on SIGINT or SIGTERM.
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"
#include "../common/stop_signals.hpp"
#include "dates_service.hpp"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

int main(int argc, char** argv) {
    std::string socket_path = "oauth2cc-grpc.sock", tls_address, tls_cert, tls_key;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--unix" && i + 1 < argc) {
            socket_path = argv[++i];
        } else if (a == "--tls" && i + 1 < argc) {
            tls_address = argv[++i];
        } else if (a == "--tls-cert" && i + 1 < argc) {
            tls_cert = argv[++i];
        } else if (a == "--tls-key" && i + 1 < argc) {
            tls_key = argv[++i];
        } else {
            std::cerr << "usage: oauth2cc-grpc-server [--unix PATH] [--tls HOST:PORT "
                         "--tls-cert FILE --tls-key FILE]\n";
            return 2;
        }
    }
    if (!tls_address.empty() && (tls_cert.empty() || tls_key.empty())) {
        std::cerr << "oauth2cc-grpc-server: --tls needs --tls-cert and --tls-key\n";
        return 2;
    }
    oauth2cc::client_config self;
    oauth2cc_examples::read_credentials(self);
    const std::string introspection = oauth2cc_examples::env("OAUTH2_INTROSPECTION_URL");
    if (introspection.empty() || self.client_id.empty()) {
        std::cerr << "oauth2cc-grpc-server: set OAUTH2_INTROSPECTION_URL, OAUTH2_CLIENT_ID and "
                     "OAUTH2_CLIENT_SECRET_FILE\n";
        return 2;
    }
    sigset_t stop_signals = oauth2cc_examples::block_stop_signals();

    oauth2cc_examples::dates_service service(introspection, self);
    grpc::ServerBuilder builder;
    ::unlink(socket_path.c_str());
    builder.AddListeningPort("unix:" + socket_path, grpc::experimental::LocalServerCredentials(
                                                        grpc_local_connect_type::UDS));
    int tls_port = 0;
    if (!tls_address.empty()) {
        grpc::SslServerCredentialsOptions tls;
        tls.pem_key_cert_pairs.push_back({read_file(tls_key), read_file(tls_cert)});
        builder.AddListeningPort(tls_address, grpc::SslServerCredentials(tls), &tls_port);
    }
    builder.RegisterService(&service);
    const auto server = builder.BuildAndStart();
    if (!server) {
        std::cerr << "oauth2cc-grpc-server: cannot listen on unix:" << socket_path
                  << (tls_address.empty() ? "" : " or " + tls_address) << "\n";
        return 1;
    }
    service.expect_origin("https://localhost");
    std::string tls_target;
    if (!tls_address.empty()) {
        tls_target = tls_address.substr(0, tls_address.rfind(':') + 1) + std::to_string(tls_port);
        service.expect_origin("https://" + tls_target);
    }
    std::cout << R"({"target":"unix:)" << socket_path << '"'
              << (tls_target.empty() ? "" : R"(,"tls_target":")" + tls_target + '"') << "}"
              << std::endl;
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::cerr << "oauth2cc-grpc-server: stopping on signal " << signal_number << "; answered "
              << service.ok() << " RPCs, refused " << service.refused() << "\n";
    server->Shutdown();
    ::unlink(socket_path.c_str());
    return 0;
}
