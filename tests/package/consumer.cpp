// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// consumer.cpp: an outside program that takes oauth2cc the way users do, header-only or
// (built with OAUTH2CC_COMPILED_LIB by its build's exports) in compiled mode.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#if OAUTH2CC_HEADER_ONLY
#include <httplib.h>
#elif defined(CPPHTTPLIB_VERSION)
#error "in compiled mode, a unit that includes oauth2cc sees nothing of cpp-httplib"
#endif

#include <chrono>
#include <cstdio>
#include <string>

// Usage: consumer EXPECTED_VERSION
// Exits 0 when the headers found are that version and the library links and runs.
int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: consumer EXPECTED_VERSION\n");
        return 2;
    }
    if (std::string(argv[1]) != oauth2cc::version_string) {
        std::fprintf(stderr, "consumer: found oauth2cc %s, expected %s\n",
                     std::string(oauth2cc::version_string).c_str(), argv[1]);
        return 1;
    }
#if OAUTH2CC_HEADER_ONLY
    // A real call into cpp-httplib (a refused connection on a closed loopback port) proves
    // that its code is linked and that this unit shares its class layout.
    httplib::Client closed("http://127.0.0.1:1");
    closed.set_connection_timeout(std::chrono::seconds(2));
    const auto res = closed.Get("/");
    if (res || res.error() != httplib::Error::Connection) {
        std::fprintf(stderr, "consumer: cpp-httplib did not behave as linked code should\n");
        return 1;
    }
#endif
    // A token request through the library to the same closed port: its bodies (and
    // cpp-httplib under them) are linked and run.
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "http://127.0.0.1:1/token";
    cfg.client_id = "consumer";
    cfg.client_secret = oauth2cc::secret{"consumer-secret"};
    cfg.connect_timeout = std::chrono::seconds(2);
    try {
        oauth2cc::request_token(cfg);
        std::fprintf(stderr, "consumer: a token from a closed port\n");
        return 1;
    } catch (const oauth2cc::error& e) {
        if (e.kind() != oauth2cc::error_kind::transport) {
            std::fprintf(stderr, "consumer: unexpected error: %s\n", e.what());
            return 1;
        }
    }
    std::printf("consumer: oauth2cc %s (%s), linked and running\n",
                std::string(oauth2cc::version_string).c_str(),
                OAUTH2CC_HEADER_ONLY ? "header-only" : "compiled mode");
    return 0;
}
