// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// resource_server.hpp: the API of the test scenario on 127.0.0.1. Every request is
// checked by RFC 7662 introspection at the authorization server, with no caching, so a
// revocation takes effect at once. GET /api/date needs scope read_date; POST /api/echo
// needs post_echo and echoes a JSON {title, body}.
// SPDX-License-Identifier: MIT
#pragma once

#include "local_server.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <ctime>
#include <mutex>
#include <set>
#include <string>

namespace oauth2cc_test {

class resource_server {
public:
    /// @param introspection_endpoint the authorization server's RFC 7662 endpoint
    /// @param self the resource server's own client credentials there
    resource_server(std::string introspection_endpoint, oauth2cc::client_config self)
        : endpoint_(std::move(introspection_endpoint)), self_(std::move(self)),
          introspection_(self_) {
        auto& s = server_.server();
        s.Get("/api/date", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorize(req, res, "read_date")) return;
            const std::time_t now = std::time(nullptr);
            char day[32];
            std::strftime(day, sizeof day, "%Y-%m-%d", std::gmtime(&now));
            res.set_content(nlohmann::json{{"date", day}}.dump(), "application/json");
        });
        s.Post("/api/echo", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorize(req, res, "post_echo")) return;
            const auto body = nlohmann::json::parse(req.body, nullptr, false);
            if (body.is_discarded() || !body.is_object() || !body.contains("title") ||
                !body.contains("body") || !body["title"].is_string() || !body["body"].is_string()) {
                res.status = 400;
                res.set_content(R"({"error":"a JSON object with string title and body is needed"})",
                                "application/json");
                return;
            }
            res.set_content(nlohmann::json{{"title", body["title"]}, {"body", body["body"]}}.dump(),
                            "application/json");
        });
        server_.start();
    }

    ~resource_server() { server_.stop(); }  // before the members its handlers use
    resource_server(const resource_server&) = delete;
    resource_server& operator=(const resource_server&) = delete;

    std::string url() const { return server_.url(); }
    int port() const { return server_.port(); }

    /// @brief Answers every request 401 from now on, whatever its token.
    void always_unauthorized(bool on) { always_401_ = on; }
    int requests() const { return requests_.load(); }
    int refused() const { return refused_.load(); }
    /// @brief How many distinct tokens the API has accepted.
    std::size_t tokens_accepted() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return accepted_.size();
    }

private:
    bool authorize(const httplib::Request& req, httplib::Response& res, const char* scope) {
        ++requests_;
        const std::string header = req.get_header_value("Authorization");
        const auto refuse = [&](int status, const std::string& challenge) {
            ++refused_;
            res.status = status;
            res.set_header("WWW-Authenticate", challenge);
            res.set_content(R"({"error":"unauthorized"})", "application/json");
            return false;
        };
        if (always_401_) return refuse(401, R"(Bearer realm="oauth2cc-test")");
        if (header.rfind("Bearer ", 0) != 0) return refuse(401, R"(Bearer realm="oauth2cc-test")");
        const std::string token = header.substr(7);
        oauth2cc::introspection_result info;
        try {
            info = oauth2cc::introspect(self_, endpoint_, token, introspection_);
        } catch (const oauth2cc::error&) {
            res.status = 503;
            return false;
        }
        if (!info.active) {
            return refuse(401, R"(Bearer realm="oauth2cc-test", error="invalid_token", )"
                               R"(error_description="the token is not active")");
        }
        if (!info.has_scope(scope)) {
            return refuse(403, std::string(R"(Bearer realm="oauth2cc-test", error="insufficient_scope", scope=")") +
                                   scope + "\"");
        }
        std::lock_guard<std::mutex> lock(mutex_);
        accepted_.insert(token);
        return true;
    }

    std::string endpoint_;
    oauth2cc::client_config self_;
    oauth2cc::httplib_transport introspection_;
    local_server server_;
    std::atomic<bool> always_401_{false};
    std::atomic<int> requests_{0};
    std::atomic<int> refused_{0};
    mutable std::mutex mutex_;
    std::set<std::string> accepted_;
};

}  // namespace oauth2cc_test
