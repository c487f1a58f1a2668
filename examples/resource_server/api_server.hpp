// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// api_server.hpp: a resource server for the scenario's API, on cpp-httplib. Every
// request is checked by RFC 7662 introspection at the authorization server, with the
// resource server's own client credentials and no caching, so a revocation takes effect
// at once. GET /api/date needs scope read_date; POST /api/echo needs post_echo and
// echoes a JSON {title, body}. 401 with WWW-Authenticate for a missing or bad token,
// 403 insufficient_scope for a wrong scope, 400 for a bad body.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <ctime>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace oauth2cc_examples {

class api_server {
public:
    /// @param introspection_endpoint the authorization server's RFC 7662 endpoint
    /// @param self the resource server's own client credentials there
    api_server(std::string introspection_endpoint, oauth2cc::client_config self)
        : endpoint_(std::move(introspection_endpoint)), self_(std::move(self)),
          introspection_(self_) {
        auto& s = server_;
        s.set_tcp_nodelay(true);
        s.Get("/api/date", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorize(req, res, "read_date")) return;
            const std::time_t now = std::time(nullptr);
            std::tm utc{};
            gmtime_r(&now, &utc);  // std::gmtime shares one buffer between threads
            char day[32];
            std::strftime(day, sizeof day, "%Y-%m-%d", &utc);
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
    }

    ~api_server() { stop(); }  // before the members its handlers use
    api_server(const api_server&) = delete;
    api_server& operator=(const api_server&) = delete;

    /// @brief Binds host:port (port 0: a free one) and serves on a thread of its own.
    /// @returns the port
    int start(const std::string& host = "127.0.0.1", int port = 0) {
        port_ = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
        if (port_ <= 0) throw std::runtime_error("api_server: cannot bind " + host);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        return port_;
    }
    /// @brief Stops serving; idempotent.
    void stop() {
        if (thread_.joinable()) {
            server_.stop();
            thread_.join();
        }
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }

    /// @brief Requests received, and those refused with 401 or 403.
    int requests() const { return requests_.load(); }
    int refused() const { return refused_.load(); }
    /// @brief How many distinct tokens the API has accepted (it keeps hashes, not tokens).
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
        if (header.rfind("Bearer ", 0) != 0) return refuse(401, R"(Bearer realm="oauth2cc-example")");
        const std::string token = header.substr(7);
        oauth2cc::introspection_result info;
        try {
            info = oauth2cc::introspect(self_, endpoint_, token, introspection_);
        } catch (const oauth2cc::error& e) {
            // The authorization server cannot say: neither accept nor blame the token.
            res.status = 503;
            res.set_content(nlohmann::json{{"error", "introspection failed"},
                                           {"kind", std::string(oauth2cc::to_string(e.kind()))}}
                                .dump(),
                            "application/json");
            return false;
        }
        if (!info.active) {
            return refuse(401, R"(Bearer realm="oauth2cc-example", error="invalid_token", )"
                               R"(error_description="the token is not active")");
        }
        if (!info.has_scope(scope)) {
            return refuse(403, std::string(R"(Bearer realm="oauth2cc-example", error="insufficient_scope", scope=")") +
                                   scope + "\"");
        }
        std::lock_guard<std::mutex> lock(mutex_);
        accepted_.insert(std::hash<std::string>{}(token));
        return true;
    }

    std::string endpoint_;
    oauth2cc::client_config self_;
    oauth2cc::httplib_transport introspection_;
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    std::atomic<int> requests_{0};
    std::atomic<int> refused_{0};
    mutable std::mutex mutex_;
    std::set<std::size_t> accepted_;
};

}  // namespace oauth2cc_examples
