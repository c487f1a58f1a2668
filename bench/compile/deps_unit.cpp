// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// deps_unit.cpp: the baseline of bench/run-peers' compile cost: only the two headers
// oauth2cc builds on. With -DUSE_IT it makes the token request a hand-written client
// makes with them: an httplib::Client POST with Basic credentials, the JSON read.
// SPDX-License-Identifier: MIT

#include <httplib.h>
#include <nlohmann/json.hpp>

#ifdef USE_IT
std::string header_for(const std::string& host, int port) {
    httplib::Client client(host, port);
    client.set_basic_auth("client", "secret");
    auto res =
        client.Post("/token", "grant_type=client_credentials", "application/x-www-form-urlencoded");
    if (!res || res->status != 200) return {};
    auto doc = nlohmann::json::parse(res->body);
    return "Bearer " + doc.at("access_token").get<std::string>();
}
#endif

int main() { return 0; }
