// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// bench_support.hpp: what the benchmark programs share.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <string>

namespace oauth2cc_bench {

/// @brief Answers every token request at once with a token that lives a day, of type
/// Bearer, or DPoP when asked.
class fixed_token_endpoint final : public oauth2cc::transport {
public:
    explicit fixed_token_endpoint(bool dpop = false) : dpop_(dpop) {}
    oauth2cc::http_response send(const oauth2cc::http_request&) override {
        return {200,
                {{"Content-Type", "application/json"}},
                std::string(R"({"access_token":"bench-token-0123456789abcdef","token_type":")") +
                    (dpop_ ? "DPoP" : "Bearer") +
                    R"(","expires_in":86400,)"
                    R"("issued_token_type":"urn:ietf:params:oauth:token-type:access_token"})"};
    }

private:
    bool dpop_;
};

/// @brief A client configuration for the fixed endpoint.
inline oauth2cc::client_config bench_config() {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/token";
    cfg.client_id = "bench-client";
    cfg.client_secret = oauth2cc::secret{"bench-secret"};
    return cfg;
}

}  // namespace oauth2cc_bench
