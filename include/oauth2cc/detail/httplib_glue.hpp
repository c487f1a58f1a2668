// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/httplib_glue.hpp: cpp-httplib clients, pooled per origin, with oauth2cc's rules.
// SPDX-License-Identifier: MIT
#pragma once

#include "../client_config.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "deadline_watchdog.hpp"
#include "form.hpp"
#include "headers.hpp"
#include "limits.hpp"
#include "proxy.hpp"
#include "text.hpp"
#include "url.hpp"
#include "wipe.hpp"

#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Says in words what a cpp-httplib error means for the caller.
inline std::string describe(httplib::Error failure) {
    switch (failure) {
        case httplib::Error::Connection:
            return "could not connect (refused, unreachable, or connect_timeout passed)";
        case httplib::Error::Read:
            return "the connection failed or timed out while reading the response";
        case httplib::Error::Write:
            return "the connection failed or timed out while sending the request";
        default:
            return httplib::to_string(failure);
    }
}

/// @brief Refuses trust anchors or a client certificate that OpenSSL cannot load, so that
/// the mistake shows as a clear `config` error and not as a failed handshake later.
inline void check_tls_files(const tls_options& tls) {
    const auto fail = [](const std::string& why) {
        ERR_clear_error();
        throw error(error_kind::config, why);
    };
    std::error_code ec;
    if (!tls.ca_dir.empty() && !std::filesystem::is_directory(tls.ca_dir, ec)) {
        fail("tls.ca_dir \"" + excerpt(tls.ca_dir, 200) + "\" is not a directory");
    }
    if (!tls.ca_file.empty()) {
        X509_STORE* store = X509_STORE_new();
        if (store == nullptr) fail("OpenSSL could not allocate a certificate store");
        const int loaded = X509_STORE_load_locations(store, tls.ca_file.c_str(), nullptr);
        X509_STORE_free(store);
        if (loaded != 1) {
            fail("tls.ca_file \"" + excerpt(tls.ca_file, 200) +
                 "\" could not be read as PEM certificates");
        }
    }
    if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
        fail("tls.client_cert_file and tls.client_key_file go together");
    }
    if (!tls.client_cert_file.empty()) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == nullptr) fail("OpenSSL could not create a TLS context");
        const bool cert_ok =
            SSL_CTX_use_certificate_chain_file(ctx, tls.client_cert_file.c_str()) == 1;
        // Readable as a key on its own: a refusal below then means a mismatch.
        bool key_readable = false;
        if (BIO* in = BIO_new_file(tls.client_key_file.c_str(), "r")) {
            EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
            key_readable = key != nullptr;
            EVP_PKEY_free(key);
            BIO_free(in);
        }
        const bool pair_ok =
            cert_ok && key_readable &&
            SSL_CTX_use_PrivateKey_file(ctx, tls.client_key_file.c_str(), SSL_FILETYPE_PEM) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1;
        SSL_CTX_free(ctx);
        if (!cert_ok) {
            fail("tls.client_cert_file \"" + excerpt(tls.client_cert_file, 200) +
                 "\" could not be read as a PEM certificate");
        }
        if (!key_readable) {
            fail("tls.client_key_file \"" + excerpt(tls.client_key_file, 200) +
                 "\" could not be read as an unencrypted PEM private key");
        }
        if (!pair_ok) fail("tls.client_key_file does not match tls.client_cert_file");
    }
    ERR_clear_error();
}

/// @brief The request target as it goes on the wire: the caller's bytes, percent escapes
/// kept as written, and only what may not appear in a target escaped (non-ASCII and the
/// characters RFC 3986 excludes). cpp-httplib's own re-encoding is off: it turned '+' into
/// %2B, so a form-encoded space arrived as a plus sign.
inline std::string wire_target(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
            c == '`' || c == '{' || c == '|' || c == '}') {
            append_percent_escape(out, u);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// cpp-httplib renamed its switches between releases; these pick whichever one exists.
template <class Client>
auto send_target_as_is(Client& client, int) -> decltype(client.set_path_encode(false)) {
    return client.set_path_encode(false);  // 0.20 and later
}
template <class Client>
auto send_target_as_is(Client& client, long) -> decltype(client.set_url_encode(false)) {
    return client.set_url_encode(false);  // before 0.20
}
template <class Client>
auto ssl_context_of(Client& client, int) -> decltype(static_cast<SSL_CTX*>(client.ssl_context())) {
    return client.ssl_context();  // before 0.43
}
template <class Client>
auto ssl_context_of(Client& client, long) -> decltype(static_cast<SSL_CTX*>(client.tls_context())) {
    return static_cast<SSL_CTX*>(client.tls_context());  // 0.43 and later
}

/// @brief Makes OpenSSL's own chain verification check the server's identity: the IP
/// address (RFC 6125 §6.2: an iPAddress SAN of exactly those bytes, never the CN) or the
/// DNS name, for every connection made from ctx. cpp-httplib's post-handshake check of
/// the verification result then fails on a mismatch, whichever release it is.
inline void require_identity(SSL_CTX* ctx, const std::string& host) {
    X509_VERIFY_PARAM* param = ctx != nullptr ? SSL_CTX_get0_param(ctx) : nullptr;
    bool ok = param != nullptr;
    if (ok && X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
        ERR_clear_error();  // not an IP address: a DNS name
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
    }
    if (!ok) {
        ERR_clear_error();
        throw error(error_kind::tls, "OpenSSL could not be told which host to verify");
    }
}

/// @brief A duplicate of the socket an exchange runs on, which the deadline shuts down.
/// shutdown() on it ends any wait on the socket at once, whatever the stage (connect, TLS
/// handshake, request, response), without the cpp-httplib lock that its own stop() needs
/// and that it holds through the handshake. Being a duplicate, it cannot name another
/// socket after cpp-httplib closes its own descriptor.
class socket_handle {
public:
    socket_handle() = default;
    socket_handle(const socket_handle&) = delete;
    socket_handle& operator=(const socket_handle&) = delete;
    ~socket_handle() { reset(-1); }

    /// @brief Called by cpp-httplib with each new socket, before it connects.
    void adopt(int fd) { reset(fd >= 0 ? ::dup(fd) : -1); }

    /// @brief Ends every operation on the socket now.
    void shut_down() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    }

    /// @brief Lets the socket close once cpp-httplib has closed its own descriptor.
    void release() { reset(-1); }

private:
    void reset(int fd) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

    std::mutex mutex_;
    int fd_ = -1;
};

/// @brief What an httplib_sender needs to know; mirrors oauth2cc::transport_options.
struct sender_options {
    std::chrono::milliseconds connect_timeout;
    std::chrono::milliseconds read_timeout;
    std::size_t max_response_bytes;
    tls_options tls;
    std::size_t max_idle_connections;
    std::string proxy;
};

/// @brief Sends requests through cpp-httplib clients kept alive per origin. Thread-safe:
/// a client is used by one request at a time and goes back to the idle list after it.
class httplib_sender {
public:
    explicit httplib_sender(sender_options options) : options_(std::move(options)) {
        if (!timeouts_in_range(options_.connect_timeout, options_.read_timeout)) {
            throw error(error_kind::config,
                        "connect_timeout and read_timeout must be positive and at most a day "
                        "each");
        }
        if (options_.max_response_bytes == 0) {
            throw error(error_kind::config, "max_response_bytes must be positive");
        }
        check_tls_files(options_.tls);
        if (!options_.proxy.empty()) {
            proxy_ = parse_proxy(options_.proxy);
            // The URL is not echoed: it may hold the proxy's password.
            if (!proxy_) {
                throw error(error_kind::config,
                            "the proxy is not an http://[user:password@]host[:port] URL "
                            "(cpp-httplib speaks plain HTTP to a proxy)");
            }
        }
    }

    http_response send(const http_request& request) {
        const auto url = parse_url(request.url);
        if (!url) {
            throw error(error_kind::config,
                        "the request URL is not an absolute http:// or https:// URL with a "
                        "host, no user info, no fragment, no spaces or controls");
        }
        if (request.method.empty() || has_control(request.method) ||
            request.method.find(' ') != std::string::npos) {
            throw error(error_kind::config, "the request method is empty or malformed");
        }
        httplib::Request out;
        // The copy handed to cpp-httplib holds the request's credentials: wiped once sent,
        // or once refused.
        const wipe_at_exit out_wiper{[&out] {
            for (auto& header : out.headers) wipe(header.second);
            wipe(out.body);
        }};
        out.method = request.method;
        out.path = wire_target(url->path);
        for (const auto& [name, value] : request.headers) {
            if (name.empty() || has_control(name) || name.find(':') != std::string::npos ||
                name.find(' ') != std::string::npos) {
                throw error(error_kind::config,
                            "a request header name is empty or malformed: \"" +
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

        const std::string origin = origin_of(*url);
        std::size_t cap = options_.max_response_bytes;
        bool over_cap = false;
        http_response result;
        out.response_handler = [&](const httplib::Response& head) {
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
        out.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
            if (size > cap - result.body.size()) {
                over_cap = true;
                return false;
            }
            append_wiping(result.body, data, size);
            return true;
        };

        std::unique_ptr<pooled_client> client = acquire(origin, *url);
        httplib::Response in;
        httplib::Error failure = httplib::Error::Success;
        const auto deadline = deadline_watchdog::clock::now() + options_.connect_timeout +
                              options_.read_timeout;
        socket_handle* socket = client->socket.get();
        const auto ticket = watchdog_.arm(deadline, [socket] { socket->shut_down(); });
        const bool sent = client->http->send(out, in, failure);
        const bool timed_out = watchdog_.disarm(ticket);
        if (!client->http->is_socket_open()) client->socket->release();

        if (!sent) {
            result.body.clear();
            if (over_cap) {
                // A response arrived, and it is not one the protocol allows.
                throw error(error_kind::bad_response,
                            "the response from " + origin + " is over max_response_bytes (" +
                                std::to_string(options_.max_response_bytes) + ")",
                            error_details{{}, {}, {}, in.status > 0 ? in.status : 0, {}});
            }
            if (timed_out) {
                throw error(error_kind::transport,
                            "no complete response from " + origin + " within " +
                                std::to_string((options_.connect_timeout +
                                                options_.read_timeout)
                                                   .count()) +
                                " ms (connect_timeout + read_timeout)");
            }
            const std::string what = httplib::to_string(failure);
            // Newer cpp-httplib releases refuse a Content-Encoding they were built
            // without (0.11 passed the body on undecoded): a response came, and not one
            // that was asked for.
            if (what == "Unsupported Content-Encoding" || what == "UnsupportedContentEncoding") {
                throw error(error_kind::bad_response,
                            "the response from " + origin +
                                " uses a Content-Encoding that was not asked for and that "
                                "this build of cpp-httplib cannot decode",
                            error_details{{}, {}, {}, in.status > 0 ? in.status : 0, {}});
            }
            if (what.rfind("SSL", 0) == 0) {
                throw error(error_kind::tls, "TLS with " + origin + " failed: " + what +
                                                 " (certificate, host name or handshake)");
            }
            throw error(error_kind::transport,
                        "no response from " + origin + ": " + describe(failure));
        }
        result.status = in.status;
        result.headers.reserve(in.headers.size());
        for (const auto& [name, value] : in.headers) result.headers.emplace_back(name, value);
        // A connection whose exchange met the deadline may have been shut down under it.
        if (!timed_out) release(origin, std::move(client));
        return result;
    }

private:
    /// @brief One kept-alive connection and the handle its deadline acts on.
    struct pooled_client {
        std::shared_ptr<socket_handle> socket = std::make_shared<socket_handle>();
        std::unique_ptr<httplib::ClientImpl> http;
    };

    std::unique_ptr<pooled_client> acquire(const std::string& origin, const url_parts& url) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            const auto it = idle_.find(origin);
            if (it != idle_.end() && !it->second.empty()) {
                auto client = std::move(it->second.back());
                it->second.pop_back();
                return client;
            }
        }
        return make_client(origin, url);
    }

    void release(const std::string& origin, std::unique_ptr<pooled_client> client) {
        std::lock_guard<std::mutex> lock(mutex_);
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
            auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port,
                                                            tls.client_cert_file,
                                                            tls.client_key_file);
            if (!ssl->is_valid()) {
                ERR_clear_error();
                throw error(error_kind::tls, "cpp-httplib could not set up a client for " +
                                                 origin + " with the given TLS files");
            }
            if (tls.verify) require_identity(ssl_context_of(*ssl, 0), url.host);
            configure_trust(*ssl);
            made->http = std::move(ssl);
        } else {
            made->http = std::make_unique<httplib::ClientImpl>(url.host, url.port);
        }
        httplib::ClientImpl* client = made->http.get();
        std::shared_ptr<socket_handle> socket = made->socket;
        client->set_socket_options([socket](auto fd) {
            socket->adopt(static_cast<int>(fd));
        });
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

    sender_options options_;
    std::optional<proxy_parts> proxy_;
    std::mutex mutex_;
    std::map<std::string, std::vector<std::unique_ptr<pooled_client>>> idle_;
    // Declared last so that its thread stops before the clients it may touch go away.
    deadline_watchdog watchdog_;
};

}  // namespace oauth2cc::detail
