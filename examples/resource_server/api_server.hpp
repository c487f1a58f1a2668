// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// api_server.hpp: a resource server for the scenario's API, on cpp-httplib. Every
// request is checked by RFC 7662 introspection at the authorization server, with the
// resource server's own client credentials and no caching, so a revocation takes effect
// at once. GET /api/date needs scope read_date; POST /api/echo needs post_echo and
// echoes a JSON {title, body}. 401 with WWW-Authenticate for a missing or bad token,
// 403 insufficient_scope for a wrong scope, 400 for a bad body. A sender-constrained
// token is held to its binding, read from the introspection response's cnf: cnf.jkt
// wants the DPoP scheme and a valid proof by that key (RFC 9449 §7), cnf.x5t#S256 the
// client certificate of that thumbprint on the connection (RFC 8705 §3), which needs
// HTTPS and api_server_options::request_client_certificate. A DPoP proof is checked
// before introspection, its htu against the server's own origin (never the Host header,
// and a request for another Host gets 421); with api_server_options::audience, the
// introspected aud must name it.
// SPDX-License-Identifier: MIT
#pragma once

#include "proof_check.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace oauth2cc_examples {

/// @brief How the API serves.
struct api_server_options {
    /// HTTPS with this PEM certificate and key; both empty: plain HTTP.
    std::string tls_cert_file, tls_key_file;
    /// Ask every HTTPS client for a certificate (any, self-signed too: a certificate-bound
    /// token is checked by the thumbprint, RFC 8705 §3). A client without one is served,
    /// and a certificate-bound token from it refused.
    bool request_client_certificate = false;
    /// Want this server's nonce in every DPoP proof (RFC 9449 §9).
    bool require_dpop_nonce = false;
    /// The server's own origin, scheme://host[:port], as its clients address it. A DPoP
    /// proof's `htu` is checked against this origin and the request's path, never against
    /// the request's Host header (RFC 9449 §11.1: a proof made for one server must not be
    /// accepted by another); a request whose Host is not this origin's gets 421. Empty:
    /// the address start() binds, http(s)://host:port.
    std::string origin;
    /// When set, a token is accepted only when its introspected `aud` (a string or an
    /// array) names this audience (RFC 7662 §2.2, RFC 8707 §2).
    std::string audience;
};

namespace api_detail {

template <typename Server>
auto context_of(Server& s, int) -> decltype(static_cast<SSL_CTX*>(s.ssl_context())) {
    return s.ssl_context();  // cpp-httplib before 0.43
}
template <typename Server>
auto context_of(Server& s, long) -> decltype(static_cast<SSL_CTX*>(s.tls_context())) {
    return static_cast<SSL_CTX*>(s.tls_context());
}

inline std::unique_ptr<httplib::Server> make_server(const api_server_options& o) {
    if (o.tls_cert_file.empty()) return std::make_unique<httplib::Server>();
    auto tls =
        std::make_unique<httplib::SSLServer>(o.tls_cert_file.c_str(), o.tls_key_file.c_str());
    if (!tls->is_valid())
        throw std::runtime_error("api_server: cannot use the TLS certificate and key");
    if (o.request_client_certificate) {
        // Any certificate: the binding is its thumbprint, not a chain to a CA.
        SSL_CTX_set_verify(context_of(*tls, 0), SSL_VERIFY_PEER,
                           [](int, X509_STORE_CTX*) { return 1; });
    }
    return tls;
}

// The certificate the client presented on this request's connection, or null.
inline std::unique_ptr<X509, decltype(&X509_free)> peer_certificate(const httplib::Request& req) {
    // req.ssl is the connection's SSL (const SSL* before cpp-httplib 0.43, const void* after).
    SSL* ssl = static_cast<SSL*>(const_cast<void*>(static_cast<const void*>(req.ssl)));
    return {ssl != nullptr ? SSL_get1_peer_certificate(ssl) : nullptr, X509_free};
}

/// @brief The authority (host[:port], lower case, without the scheme's default port) of
/// an origin "scheme://host[:port]", or of a Host header's value with the origin's scheme.
inline std::string authority_of(std::string_view host_port, bool https) {
    std::string out(host_port);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string default_port = https ? ":443" : ":80";
    if (out.size() > default_port.size() &&
        out.compare(out.size() - default_port.size(), default_port.size(), default_port) == 0) {
        out.resize(out.size() - default_port.size());
    }
    return out;
}

/// @brief Whether an introspected `aud` (a string or an array of them) names audience.
inline bool names_audience(const nlohmann::json& raw, const std::string& audience) {
    const auto aud = raw.find("aud");
    if (aud == raw.end()) return false;
    if (aud->is_string()) return aud->get<std::string>() == audience;
    if (!aud->is_array()) return false;
    for (const auto& one : *aud) {
        if (one.is_string() && one.get<std::string>() == audience) return true;
    }
    return false;
}

inline bool starts_with_scheme(const std::string& header, const char* scheme, std::string& token) {
    const std::size_t n = std::strlen(scheme);
    if (header.size() <= n + 1 || header[n] != ' ') return false;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::tolower(static_cast<unsigned char>(header[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i]))) {
            return false;
        }
    }
    token = header.substr(header.find_first_not_of(' ', n));
    return true;
}

}  // namespace api_detail

class api_server {
public:
    /// @param introspection_endpoint the authorization server's RFC 7662 endpoint
    /// @param self the resource server's own client credentials there
    /// @param options HTTPS, client certificates and DPoP nonces
    api_server(std::string introspection_endpoint, oauth2cc::client_config self,
               api_server_options options = {})
        : endpoint_(std::move(introspection_endpoint)),
          self_(std::move(self)),
          options_(std::move(options)),
          introspection_(self_),
          proofs_(options_.require_dpop_nonce),
          server_(api_detail::make_server(options_)) {
        auto& s = *server_;
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
        port_ = port == 0 ? server_->bind_to_any_port(host)
                          : (server_->bind_to_port(host, port) ? port : -1);
        if (port_ <= 0) throw std::runtime_error("api_server: cannot bind " + host);
        if (options_.origin.empty()) {
            const bool v6 = host.find(':') != std::string::npos;
            options_.origin =
                scheme() + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port_);
        }
        const std::string prefix = scheme() + "://";
        if (options_.origin.rfind(prefix, 0) != 0 ||
            options_.origin.find('/', prefix.size()) != std::string::npos) {
            throw std::runtime_error("api_server: the origin must be " + prefix + "host[:port]");
        }
        authority_ = api_detail::authority_of(options_.origin.substr(prefix.size()), https());
        thread_ = std::thread([this] { server_->listen_after_bind(); });
        // Running before start() returns, so that a stop() right after ends it: one made
        // before the thread began running would leave it accepting forever.
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!server_->is_running()) {
            if (std::chrono::steady_clock::now() > give_up) {
                throw std::runtime_error("api_server: the server never ran");
            }
            std::this_thread::yield();
        }
        return port_;
    }
    /// @brief Stops serving; idempotent.
    void stop() {
        if (thread_.joinable()) {
            server_->stop();
            thread_.join();
        }
    }

    std::string url() const { return scheme() + "://127.0.0.1:" + std::to_string(port_); }
    /// @brief The origin that DPoP proofs must name (api_server_options::origin), once
    /// started.
    const std::string& origin() const { return options_.origin; }
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
        std::string token;
        const bool dpop = api_detail::starts_with_scheme(header, "DPoP", token);
        const bool bearer = !dpop && api_detail::starts_with_scheme(header, "Bearer", token);
        // A refusal names the scheme the client used (both when it used none), and the
        // error; a DPoP one carries the server's nonce when it wants one.
        const auto refuse = [&](int status, const std::string& error,
                                const std::string& description) {
            ++refused_;
            res.status = status;
            std::string params;
            if (!error.empty()) {
                params = ", error=\"" + error + "\", error_description=\"" + description + "\"";
                if (error == "insufficient_scope")
                    params += std::string(", scope=\"") + scope + "\"";
            }
            if (!dpop)
                res.set_header("WWW-Authenticate", R"(Bearer realm="oauth2cc-example")" + params);
            if (!bearer) {
                res.set_header(
                    "WWW-Authenticate",
                    R"(DPoP realm="oauth2cc-example", algs="ES256 ES384 ES512 RS256 PS256 EdDSA")" +
                        params);
                if (!proofs_.nonce().empty()) res.set_header("DPoP-Nonce", proofs_.nonce());
            }
            res.set_content(
                nlohmann::json{{"error", error.empty() ? "unauthorized" : error}}.dump(),
                "application/json");
            return false;
        };
        if (!dpop && !bearer) return refuse(401, "", "");
        // A request for another origin (a proof and token replayed here with its Host)
        // is not this server's to answer (RFC 9110 §15.5.20).
        if (api_detail::authority_of(req.get_header_value("Host"), https()) != authority_) {
            ++refused_;
            res.status = 421;
            res.set_content(R"({"error":"misdirected request"})", "application/json");
            return false;
        }
        // The proof is checked first: a request that cannot be this client's costs no
        // introspection. Its key is held to the token's cnf.jkt once that is known.
        proof_verdict proof;
        if (dpop) {
            if (req.get_header_value_count("DPoP") != 1) {
                return refuse(401, "invalid_dpop_proof",
                              "a DPoP request carries exactly one DPoP proof");
            }
            // htu: this server's own origin and the path as it came on the wire.
            const std::string htu = options_.origin + req.target.substr(0, req.target.find('?'));
            proof = proofs_.check(req.get_header_value("DPoP"), req.method, htu, token);
            if (!proof) return refuse(401, proof.error, proof.description);
        }
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
        if (!info.active) return refuse(401, "invalid_token", "the token is not active");
        if (!options_.audience.empty() &&
            !api_detail::names_audience(info.raw, options_.audience)) {
            return refuse(401, "invalid_token", "the token is not for this API");
        }
        const auto cnf = info.raw.find("cnf");
        const auto bound = [&](const char* name) {
            return cnf != info.raw.end() && cnf->is_object() && cnf->contains(name) &&
                           cnf->at(name).is_string()
                       ? cnf->at(name).get<std::string>()
                       : std::string();
        };
        const std::string jkt = bound("jkt");
        if (bearer && !jkt.empty()) {
            // RFC 9449 §7.2: a DPoP-bound token is never good as a bearer token.
            return refuse(401, "invalid_token",
                          "the token is DPoP-bound: send it with the DPoP scheme and a proof");
        }
        if (dpop) {
            if (jkt.empty()) return refuse(401, "invalid_token", "the token is not DPoP-bound");
            if (proof.key_thumbprint != jkt) {
                return refuse(401, "invalid_dpop_proof",
                              "the DPoP proof's key is not the one the token is bound to");
            }
        }
        const std::string x5t = bound("x5t#S256");
        if (!x5t.empty()) {
            const auto cert = api_detail::peer_certificate(req);
            if (!cert)
                return refuse(401, "invalid_token",
                              "the token is certificate-bound and no certificate came");
            if (certificate_thumbprint(cert.get()) != x5t) {
                return refuse(401, "invalid_token", "the token is bound to another certificate");
            }
        }
        if (!info.has_scope(scope))
            return refuse(403, "insufficient_scope", "the token lacks the scope");
        std::lock_guard<std::mutex> lock(mutex_);
        accepted_.insert(std::hash<std::string>{}(token));
        return true;
    }

    std::string scheme() const { return https() ? "https" : "http"; }
    bool https() const { return !options_.tls_cert_file.empty(); }

    std::string endpoint_;
    std::string authority_;  ///< of options_.origin, as Host headers are compared with it
    oauth2cc::client_config self_;
    api_server_options options_;
    oauth2cc::httplib_transport introspection_;
    dpop_proof_checker proofs_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    int port_ = 0;
    std::atomic<int> requests_{0};
    std::atomic<int> refused_{0};
    mutable std::mutex mutex_;
    std::set<std::size_t> accepted_;
};

}  // namespace oauth2cc_examples
