// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// consumer.cpp: an outside program that takes oauth2cc the way users do.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <string>

// Usage: consumer EXPECTED_VERSION
// Exits 0 when the headers found are that version and cpp-httplib links and runs.
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
    // A real call into cpp-httplib (a refused connection on a closed loopback port) proves
    // that its code is linked and that this unit shares its class layout.
    httplib::Client closed("http://127.0.0.1:1");
    closed.set_connection_timeout(std::chrono::seconds(2));
    const auto res = closed.Get("/");
    if (res || res.error() != httplib::Error::Connection) {
        std::fprintf(stderr, "consumer: cpp-httplib did not behave as linked code should\n");
        return 1;
    }
    std::printf("consumer: oauth2cc %s, cpp-httplib linked\n",
                std::string(oauth2cc::version_string).c_str());
    return 0;
}
