// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fake_transport.hpp: a transport that records requests and answers from a script.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <utility>
#include <vector>

namespace oauth2cc_test {

class fake_transport : public oauth2cc::transport {
public:
    using responder = std::function<oauth2cc::http_response(const oauth2cc::http_request&)>;

    explicit fake_transport(responder answer) : answer_(std::move(answer)) {}

    /// @brief Answers every request with this status, body and headers.
    static fake_transport answering(int status, std::string body,
                                    std::vector<std::pair<std::string, std::string>> headers = {
                                        {"Content-Type", "application/json"}}) {
        return fake_transport([=](const oauth2cc::http_request&) {
            return oauth2cc::http_response{status, headers, body};
        });
    }

    oauth2cc::http_response send(const oauth2cc::http_request& request) override {
        requests.push_back(request);
        return answer_(request);
    }

    std::vector<oauth2cc::http_request> requests;

private:
    responder answer_;
};

inline std::string header_of(const oauth2cc::http_request& req, const std::string& name) {
    for (const auto& [k, v] : req.headers) {
        if (k == name) return v;
    }
    return {};
}

/// @brief The error request_token throws for a configuration it refuses before sending
/// anything; fails the test when it sends a request or throws nothing.
inline oauth2cc::error refused_before_sending(const oauth2cc::client_config& cfg) {
    auto fake = fake_transport::answering(
        200, R"({"access_token":"tok-123","token_type":"Bearer","expires_in":3600})");
    try {
        oauth2cc::request_token(cfg, fake);
    } catch (const oauth2cc::error& e) {
        CHECK(fake.requests.empty());
        return e;
    }
    FAIL("the configuration was not refused");
    throw;
}

}  // namespace oauth2cc_test
