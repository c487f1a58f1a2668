// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// oauth2cc_unit.cpp: bench/run-peers compiles this to measure what including oauth2cc
// costs, built against include/ and against single_include/. With -DUSE_IT it also
// makes a token_manager and an Authorization header, so that the code is instantiated.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#ifdef USE_IT
std::string header_for(const std::string& endpoint) {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = endpoint;
    cfg.client_id = "client";
    cfg.client_secret = oauth2cc::secret{"secret"};
    oauth2cc::token_manager tokens{cfg};
    return tokens.authorization_header();
}
#endif

int main() { return 0; }
