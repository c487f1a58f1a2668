// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/httplib_glue.hpp: cpp-httplib clients, pooled per origin, with oauth2cc's rules.
// SPDX-License-Identifier: MIT
#pragma once

#include "../client_config.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "deadline_watchdog.hpp"
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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
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

/// @brief What an httplib_sender needs to know; mirrors oauth2cc::transport_options.
struct sender_options {
    std::chrono::milliseconds connect_timeout;
    std::chrono::milliseconds read_timeout;
    std::size_t max_response_bytes;
    tls_options tls;
    std::size_t max_idle_connections;
};

/// @brief Sends requests through cpp-httplib clients kept alive per origin. Thread-safe:
/// a client is used by one request at a time and goes back to the idle list after it.
class httplib_sender {
public:
    explicit httplib_sender(sender_options options) : options_(std::move(options)) {
        if (options_.connect_timeout.count() <= 0 || options_.read_timeout.count() <= 0) {
            throw error(error_kind::config, "connect_timeout and read_timeout must be positive");
        }
        if (options_.max_response_bytes == 0) {
            throw error(error_kind::config, "max_response_bytes must be positive");
        }
        check_tls_files(options_.tls);
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
        out.method = request.method;
        out.path = url->path;
        for (const auto& [name, value] : request.headers) {
            if (name.empty() || has_control(name) || name.find(':') != std::string::npos ||
                name.find(' ') != std::string::npos) {
                throw error(error_kind::config,
                            "a request header name is empty or malformed: \"" +
                                excerpt(name, 60) + "\"");
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
            result.body.append(data, size);
            return true;
        };

        std::unique_ptr<httplib::Client> client = acquire(origin, *url);
        httplib::Response in;
        httplib::Error failure = httplib::Error::Success;
        const auto deadline = deadline_watchdog::clock::now() + options_.connect_timeout +
                              options_.read_timeout;
        httplib::Client* raw = client.get();
        const auto ticket = watchdog_.arm(deadline, [raw] { raw->stop(); });
        const bool sent = client->send(out, in, failure);
        const bool timed_out = watchdog_.disarm(ticket);
        wipe(out.body);

        if (!sent) {
            result.body.clear();
            if (over_cap) {
                throw error(error_kind::transport,
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
    std::unique_ptr<httplib::Client> acquire(const std::string& origin, const url_parts& url) {
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

    void release(const std::string& origin, std::unique_ptr<httplib::Client> client) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& list = idle_[origin];
        if (list.size() < options_.max_idle_connections) list.push_back(std::move(client));
    }

    std::unique_ptr<httplib::Client> make_client(const std::string& origin,
                                                 const url_parts& url) const {
        const tls_options& tls = options_.tls;
        auto client = std::make_unique<httplib::Client>(origin, tls.client_cert_file,
                                                        tls.client_key_file);
        if (!client->is_valid()) {
            ERR_clear_error();
            throw error(error_kind::tls, "cpp-httplib could not set up a client for " + origin +
                                             " with the given TLS files");
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
        if (url.https) {
            client->enable_server_certificate_verification(tls.verify);
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
                client->set_ca_cert_store(store);
                client->set_ca_cert_path(tls.ca_file);
            } else if (!tls.ca_file.empty() || !tls.ca_dir.empty()) {
                client->set_ca_cert_path(tls.ca_file, tls.ca_dir);
            }
        }
        return client;
    }

    sender_options options_;
    std::mutex mutex_;
    std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_;
    // Declared last so that its thread stops before the clients it may touch go away.
    deadline_watchdog watchdog_;
};

}  // namespace oauth2cc::detail
