// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/httplib_glue.hpp: cpp-httplib clients, pooled per origin, with oauth2cc's rules.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../connection_options.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "connection_check.hpp"
#include "deadline_watchdog.hpp"
#include "headers.hpp"
#include "httplib_support.hpp"
#include "../text/file_version.hpp"
#include "../text/limits.hpp"
#include "proxy.hpp"
#include "../text/text.hpp"
#include "url.hpp"
#include "../text/wipe.hpp"

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Sends requests through cpp-httplib clients kept alive per origin. Thread-safe:
/// a client is used by one request at a time and goes back to the idle list after it.
class httplib_sender {
public:
    /// @throws error `config` as check_connection() says, or for TLS files that cannot
    ///         be loaded
    explicit httplib_sender(connection_options options) : options_(std::move(options)) {
        check_connection(options_);
        check_tls_files(options_.tls);
        if (!options_.proxy.empty()) proxy_ = parse_proxy(options_.proxy);
    }

    const connection_options& options() const noexcept { return options_; }

    http_response send(const http_request& request) {
        const auto url = parse_url(request.url);
        if (!url) {
            throw error(error_kind::config,
                        "the request URL is not an absolute http:// or https:// URL with a "
                        "host, no user info, no fragment, no spaces or controls");
        }
        httplib::Request out;
        // The copy handed to cpp-httplib holds the request's credentials: wiped once sent,
        // or once refused.
        const wipe_at_exit out_wiper{[&out] {
            for (auto& header : out.headers) wipe(header.second);
            wipe(out.body);
        }};
        fill(out, request, *url);
        const std::string origin = origin_of(*url);
        bool over_cap = false;
        http_response result;
        cap_response(out, result, over_cap);

        std::unique_ptr<pooled_client> client = acquire(origin, *url);
        httplib::Response in;
        httplib::Error failure = httplib::Error::Success;
        const auto deadline =
            deadline_watchdog::clock::now() + options_.connect_timeout + options_.read_timeout;
        socket_handle* socket = client->socket.get();
        const auto ticket = watchdog_.arm(deadline, [socket] { socket->shut_down(); });
        client->verify->checked = false;
        const auto started = deadline_watchdog::clock::now();
        const bool sent = client->http->send(out, in, failure);
        const bool timed_out = watchdog_.disarm(ticket);
        if (!client->http->is_socket_open()) client->socket->release();

        if (!sent) {
            result.body.clear();
            const bool quick = deadline_watchdog::clock::now() - started < options_.read_timeout;
            throw failure_of(failure, over_cap, timed_out, in.status > 0 ? in.status : 0, origin,
                             *url, *client->verify, quick);
        }
        result.status = in.status;
        result.headers.reserve(in.headers.size());
        for (const auto& [name, value] : in.headers) result.headers.emplace_back(name, value);
        // A connection whose exchange met the deadline may have been shut down under it.
        if (!timed_out) release(origin, std::move(client));
        return result;
    }

private:
    /// @brief Fills out, cpp-httplib's request, from request: the method, the target as it
    /// goes on the wire, the headers (each checked), the body.
    /// @throws error `config` for a malformed method or header
    static void fill(httplib::Request& out, const http_request& request, const url_parts& url) {
        if (request.method.empty() || has_control(request.method) ||
            request.method.find(' ') != std::string::npos) {
            throw error(error_kind::config, "the request method is empty or malformed");
        }
        out.method = request.method;
        out.path = wire_target(url.path);
        for (const auto& [name, value] : request.headers) {
            if (name.empty() || has_control(name) || name.find(':') != std::string::npos ||
                name.find(' ') != std::string::npos) {
                throw error(error_kind::config, "a request header name is empty or malformed: \"" +
                                                    excerpt(name, 60) + "\"");
            }
            if (is_framing_header(name)) {
                throw error(error_kind::config,
                            "the request header \"" + excerpt(name, 60) +
                                "\" frames the message or steers the connection; the "
                                "transport writes it, never the caller");
            }
            // The value is not echoed: it may be a credential.
            if (has_control(value)) {
                throw error(error_kind::config, "the value of request header \"" +
                                                    excerpt(name, 60) +
                                                    "\" contains control characters");
            }
            out.headers.emplace(name, value);
        }
        out.body = request.body;
    }

    /// @brief Makes out read the response body into result.body, up to max_response_bytes:
    /// a larger announced length, or more bytes than that, stop the exchange and set
    /// over_cap. result and over_cap must outlive the exchange.
    void cap_response(httplib::Request& out, http_response& result, bool& over_cap) const {
        const std::size_t cap = options_.max_response_bytes;
        out.response_handler = [&result, &over_cap, cap](const httplib::Response& head) {
            const std::string length = head.get_header_value("Content-Length");
            if (!length.empty() && length.size() < 20) {
                std::uint64_t announced = 0;
                for (char c : length) {
                    if (c < '0' || c > '9') return true;  // httplib judges the framing
                    announced = announced * 10 + static_cast<std::uint64_t>(c - '0');
                }
                if (announced > cap) {
                    over_cap = true;
                    return false;
                }
                // Room for the whole body at once: it is not copied as it grows.
                result.body.reserve(static_cast<std::size_t>(announced));
            } else if (length.size() >= 20) {
                over_cap = true;
                return false;
            }
            return true;
        };
        out.content_receiver = [&result, &over_cap, cap](const char* data, std::size_t size,
                                                         std::uint64_t, std::uint64_t) {
            if (size > cap - result.body.size()) {
                over_cap = true;
                return false;
            }
            append_wiping(result.body, data, size);
            return true;
        };
    }

    /// @brief The error of an exchange that brought no whole response: an over-long
    /// response, the deadline, a Content-Encoding not asked for, TLS, or the transport.
    error failure_of(httplib::Error failure, bool over_cap, bool timed_out, int status,
                     const std::string& origin, const url_parts& url, const verify_outcome& verify,
                     bool quick) const {
        if (over_cap) {
            // A response arrived, and it is not one the protocol allows.
            return error(error_kind::bad_response,
                         "the response from " + origin + " is over max_response_bytes (" +
                             std::to_string(options_.max_response_bytes) + ")",
                         error_details{{}, {}, {}, status, {}});
        }
        if (timed_out) {
            return error(
                error_kind::transport,
                "no complete response from " + origin + " within " +
                    std::to_string((options_.connect_timeout + options_.read_timeout).count()) +
                    " ms (connect_timeout + read_timeout)");
        }
        const std::string what = httplib::to_string(failure);
        // Newer cpp-httplib releases refuse a Content-Encoding they were built without
        // (0.11 passed the body on undecoded): a response came, and not one that was
        // asked for.
        if (what == "Unsupported Content-Encoding" || what == "UnsupportedContentEncoding") {
            return error(error_kind::bad_response,
                         "the response from " + origin +
                             " uses a Content-Encoding that was not asked for and that "
                             "this build of cpp-httplib cannot decode",
                         error_details{{}, {}, {}, status, {}});
        }
        if (what.rfind("SSL", 0) == 0) {
            return error(error_kind::tls, tls_failure(origin, url.host, verify));
        }
        return error(error_kind::transport, "no response from " + origin + ": " +
                                                describe(failure, options_, url.https, quick));
    }

    /// @brief One kept-alive connection and the handle its deadline acts on.
    struct pooled_client {
        std::shared_ptr<socket_handle> socket = std::make_shared<socket_handle>();
        /// The certificate check of its handshakes; its SSL_CTX writes here.
        std::unique_ptr<verify_outcome> verify = std::make_unique<verify_outcome>();
        std::unique_ptr<httplib::ClientImpl> http;
        std::uint64_t generation = 0;  ///< of the client certificate's files it presents
    };

    std::unique_ptr<pooled_client> acquire(const std::string& origin, const url_parts& url) {
        // A client certificate replaced on disk: the kept-alive connections present the
        // old one, so they go (and those in use go when released); the next connection
        // reads the new files (make_client).
        const tls_options& tls = options_.tls;
        const bool rotated = !tls.client_cert_file.empty() &&
                             client_files_.changed(tls.client_cert_file, tls.client_key_file);
        std::uint64_t generation = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (rotated) {
                ++generation_;
                idle_.clear();
            }
            generation = generation_;
            const auto it = idle_.find(origin);
            if (it != idle_.end() && !it->second.empty()) {
                auto client = std::move(it->second.back());
                it->second.pop_back();
                return client;
            }
        }
        auto made = make_client(origin, url);
        made->generation = generation;
        return made;
    }

    void release(const std::string& origin, std::unique_ptr<pooled_client> client) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (client->generation != generation_) return;  // it presents a replaced certificate
        auto& list = idle_[origin];
        if (list.size() < options_.max_idle_connections) list.push_back(std::move(client));
    }

    std::unique_ptr<pooled_client> make_client(const std::string& origin,
                                               const url_parts& url) const {
        const tls_options& tls = options_.tls;
        auto made = std::make_unique<pooled_client>();
        // Host and port as they are: cpp-httplib's own URL parser reads an IPv6 literal
        // with hex letters or dots ([::ffff:7f00:1]) as a host name.
        if (url.https) {
            // The client certificate's files are read here, for each new connection, by
            // use_client_files rather than by cpp-httplib, whose reads would prompt for
            // the passphrase of a key file since replaced by an encrypted one.
            auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
            if (!ssl->is_valid()) {
                ERR_clear_error();
                throw error(error_kind::tls,
                            "cpp-httplib could not set up a TLS client for " + origin);
            }
            if (!tls.client_cert_file.empty()) {
                const std::string problem = use_client_files(
                    ssl_context_of(*ssl, 0), tls.client_cert_file, tls.client_key_file);
                if (!problem.empty()) throw error(error_kind::tls, problem);
            }
            if (!tls.client_cert_pem.empty()) {
                const std::string problem = use_client_pem(
                    ssl_context_of(*ssl, 0), tls.client_cert_pem, tls.client_key_pem.reveal());
                if (!problem.empty()) throw error(error_kind::tls, problem);
            }
            if (tls.verify) {
                require_identity(ssl_context_of(*ssl, 0), url.host);
                SSL_CTX_set_cert_verify_callback(ssl_context_of(*ssl, 0), record_verification,
                                                 made->verify.get());
            }
            configure_trust(*ssl);
            made->http = std::move(ssl);
        } else {
            made->http = std::make_unique<httplib::ClientImpl>(url.host, url.port);
        }
        httplib::ClientImpl* client = made->http.get();
        std::shared_ptr<socket_handle> socket = made->socket;
        client->set_socket_options([socket](auto fd) { socket->adopt(static_cast<int>(fd)); });
        send_target_as_is(*client, 0);
        if (proxy_) {
            client->set_proxy(proxy_->host, proxy_->port);
            if (!proxy_->user.empty()) {
                client->set_proxy_basic_auth(proxy_->user, proxy_->password);
            }
        }
        const auto split = [](std::chrono::milliseconds ms) {
            return std::pair<time_t, time_t>(static_cast<time_t>(ms.count() / 1000),
                                             static_cast<time_t>(ms.count() % 1000 * 1000));
        };
        const auto connect = split(options_.connect_timeout);
        const auto read = split(options_.read_timeout);
        client->set_connection_timeout(connect.first, connect.second);
        client->set_read_timeout(read.first, read.second);
        client->set_write_timeout(read.first, read.second);
        client->set_keep_alive(true);
        client->set_follow_location(false);
        // cpp-httplib writes the headers and the body of a request separately; without
        // TCP_NODELAY the body waits for the server's delayed ACK (about 40 ms on Linux).
        client->set_tcp_nodelay(true);
        return made;
    }

    /// @brief Trust anchors: the system store unless tls.ca_file or tls.ca_dir say
    /// otherwise (cpp-httplib 0.47 and later no longer add the system store to a custom
    /// CA either; both releases behave the same here).
    void configure_trust(httplib::SSLClient& client) const {
        const tls_options& tls = options_.tls;
        client.enable_server_certificate_verification(tls.verify);
        if (!tls.ca_file.empty() && !tls.ca_dir.empty()) {
            // cpp-httplib loads one of the two; a store that looks up the directory,
            // with the file added to it on first use, trusts both.
            X509_STORE* store = X509_STORE_new();
            if (store == nullptr ||
                X509_STORE_load_locations(store, nullptr, tls.ca_dir.c_str()) != 1) {
                if (store != nullptr) X509_STORE_free(store);
                ERR_clear_error();
                throw error(error_kind::config, "tls.ca_dir could not be loaded");
            }
            client.set_ca_cert_store(store);
            client.set_ca_cert_path(tls.ca_file);
        } else if (!tls.ca_file.empty() || !tls.ca_dir.empty()) {
            client.set_ca_cert_path(tls.ca_file, tls.ca_dir);
        }
    }

    connection_options options_;
    std::optional<proxy_parts> proxy_;
    std::mutex mutex_;
    std::map<std::string, std::vector<std::unique_ptr<pooled_client>>> idle_;
    file_watch client_files_;       ///< tls.client_cert_file and client_key_file
    std::uint64_t generation_ = 0;  ///< one more for each change of those files
    // The process's one watchdog; every exchange disarms its deadline before it returns.
    deadline_watchdog& watchdog_ = deadline_watchdog::shared();
};

}  // namespace oauth2cc::detail
