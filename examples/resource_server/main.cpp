// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// resource_server/main.cpp: the scenario's API as a daemon. Every token is checked by
// introspection at the authorization server, and a sender-constrained one held to its
// binding (DPoP, RFC 9449; a client certificate, RFC 8705); SIGINT or SIGTERM stops it.
//
// Usage: oauth2cc-resource-server [--host 127.0.0.1] [--port 0] [--tls-cert FILE
//        --tls-key FILE [--request-client-cert]] [--dpop-nonce] [--origin URL]
//        [--audience AUD]
// --origin: the scheme://host[:port] clients address it by (default: the bound address);
// DPoP proofs must name it, and requests for another Host get 421. --audience: tokens
// whose introspected aud does not name AUD are refused.
// Configured from the environment: OAUTH2_INTROSPECTION_URL, and the resource server's
// own credentials OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET_FILE (or OAUTH2_CLIENT_SECRET).
// The introspection endpoint's CA comes from the system store (or SSL_CERT_FILE).
// Prints one JSON line, {"url":"http[s]://HOST:PORT","port":PORT}, once it serves.
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"
#include "../common/stop_signals.hpp"
#include "api_server.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <pthread.h>
#include <signal.h>

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    oauth2cc_examples::api_server_options options;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else if (a == "--port" && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else if (a == "--tls-cert" && i + 1 < argc) {
            options.tls_cert_file = argv[++i];
        } else if (a == "--tls-key" && i + 1 < argc) {
            options.tls_key_file = argv[++i];
        } else if (a == "--request-client-cert") {
            options.request_client_certificate = true;
        } else if (a == "--dpop-nonce") {
            options.require_dpop_nonce = true;
        } else if (a == "--origin" && i + 1 < argc) {
            options.origin = argv[++i];
        } else if (a == "--audience" && i + 1 < argc) {
            options.audience = argv[++i];
        } else {
            std::cerr << "usage: oauth2cc-resource-server [--host H] [--port N] [--tls-cert FILE "
                         "--tls-key FILE [--request-client-cert]] [--dpop-nonce] [--origin URL] "
                         "[--audience AUD]\n";
            return 2;
        }
    }
    if (options.tls_cert_file.empty() != options.tls_key_file.empty() ||
        (options.request_client_certificate && options.tls_cert_file.empty())) {
        std::cerr << "oauth2cc-resource-server: --tls-cert and --tls-key go together, and "
                     "--request-client-cert needs them\n";
        return 2;
    }
    oauth2cc::client_config self;
    oauth2cc_examples::read_credentials(self);
    const std::string introspection = oauth2cc_examples::env("OAUTH2_INTROSPECTION_URL");
    if (introspection.empty() || self.client_id.empty()) {
        std::cerr << "oauth2cc-resource-server: set OAUTH2_INTROSPECTION_URL, OAUTH2_CLIENT_ID "
                     "and OAUTH2_CLIENT_SECRET_FILE\n";
        return 2;
    }

    // Signals are taken by sigwait below, not by whichever thread they happen to hit.
    sigset_t stop_signals = oauth2cc_examples::block_stop_signals();

    try {
        oauth2cc_examples::api_server api(introspection, self, options);
        const int bound = api.start(host, port);
        std::cout << R"({"url":")" << (options.tls_cert_file.empty() ? "http" : "https") << "://"
                  << host << ":" << bound << R"(","port":)" << bound << "}" << std::endl;
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        std::cerr << "oauth2cc-resource-server: stopping on signal " << signal_number << "; served "
                  << api.requests() << " requests, refused " << api.refused() << "\n";
        api.stop();
    } catch (const std::exception& e) {
        std::cerr << "oauth2cc-resource-server: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
