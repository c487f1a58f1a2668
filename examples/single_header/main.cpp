// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// single_header/main.cpp: a program built with only single_include/ on the include path,
// header-only, or in compiled mode with implementation.cpp beside it.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <cstdio>
#include <sstream>
#include <string>

int main() {
    // Bodies from the library: a secret that streams as ***, and a refused configuration.
    std::ostringstream streamed;
    streamed << oauth2cc::secret{"not-for-logs"};
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "http://auth.example.com/token";  // plain http off loopback
    cfg.client_id = "single-header";
    bool refused = false;
    try {
        oauth2cc::token_client client(cfg);
    } catch (const oauth2cc::error& e) {
        refused = e.kind() == oauth2cc::error_kind::config;
    }
    if (streamed.str() != "***" || !refused) return 1;
    std::printf("oauth2cc %s, from the single header (%s)\n",
                std::string(oauth2cc::version_string).c_str(),
                OAUTH2CC_HEADER_ONLY ? "header-only" : "compiled mode");
    return 0;
}
