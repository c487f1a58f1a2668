// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fake_transport.hpp: a transport that records requests and answers from a script.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

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

}  // namespace oauth2cc_test
