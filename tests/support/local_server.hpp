// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// local_server.hpp: in-process servers on 127.0.0.1 for tests: a cpp-httplib server, and
// a raw socket server for replies that HTTP libraries refuse to produce.
// SPDX-License-Identifier: MIT
#pragma once

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oauth2cc_test {

/// @brief Runs an httplib::Server (or SSLServer) on 127.0.0.1 and a free port until
/// destroyed. Register handlers on server() before start().
class local_server {
public:
    explicit local_server(
        std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
        : server_(std::move(server)) {
        server_->set_keep_alive_max_count(10000);
        // Headers and body go out in separate writes: without TCP_NODELAY the body would
        // wait for the client's delayed ACK.
        server_->set_tcp_nodelay(true);
    }
    local_server(const local_server&) = delete;
    local_server& operator=(const local_server&) = delete;
    ~local_server() { stop(); }

    httplib::Server& server() { return *server_; }

    /// @brief Binds and starts accepting. The socket listens once this returns, so
    /// clients may connect at once, and the server runs, so that stop() ends it: a
    /// server stopped before its thread began running would otherwise accept forever.
    int start() {
        port_ = server_->bind_to_any_port("127.0.0.1");
        if (port_ <= 0) throw std::runtime_error("local_server: cannot bind 127.0.0.1");
        thread_ = std::thread([this] { server_->listen_after_bind(); });
        // The event is the server's own flag; the bound is a safety net, never reached.
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!server_->is_running()) {
            if (std::chrono::steady_clock::now() > give_up) {
                throw std::runtime_error("local_server: the server never ran");
            }
            std::this_thread::yield();
        }
        return port_;
    }

    void stop() {
        if (thread_.joinable()) {
            server_->stop();
            thread_.join();
        }
    }

    int port() const { return port_; }
    std::string url(bool https = false) const {
        return std::string(https ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
    }

private:
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    int port_ = 0;
};

/// @brief A TCP server on 127.0.0.1 that hands each accepted connection to a script, one
/// connection at a time. Scripts should return once stopping() is true or a write fails.
class raw_server {
public:
    using script = std::function<void(int fd, const raw_server& self)>;

    explicit raw_server(script run) : run_(std::move(run)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (listener_ < 0) throw std::runtime_error("raw_server: socket() failed");
        const int yes = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        socklen_t len = sizeof addr;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_, 16) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            ::close(listener_);
            throw std::runtime_error("raw_server: cannot listen on 127.0.0.1");
        }
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    raw_server(const raw_server&) = delete;
    raw_server& operator=(const raw_server&) = delete;
    ~raw_server() {
        stopping_ = true;
        thread_.join();
        ::close(listener_);
    }

    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    bool stopping() const { return stopping_.load(); }
    int connections() const { return connections_.load(); }

    /// @brief Writes all of text; false once the peer is gone or the server stops.
    static bool write_all(int fd, std::string_view text) {
        while (!text.empty()) {
            const ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            text.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// @brief Reads until the end of the request headers (or the peer goes away).
    static std::string read_head(int fd) {
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) break;
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            head.append(buf, static_cast<std::size_t>(n));
        }
        return head;
    }

    /// @brief Reads the request head and as much body as its Content-Length says, so that
    /// closing the socket afterwards sends FIN, not the RST that unread data causes.
    static std::string read_request(int fd) {
        std::string request = read_head(fd);
        const auto head_end = request.find("\r\n\r\n");
        if (head_end == std::string::npos) return request;
        std::size_t length = 0;
        std::string lower = request.substr(0, head_end);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto at = lower.find("\r\ncontent-length:");
        if (at != std::string::npos) length = std::strtoul(lower.c_str() + at + 17, nullptr, 10);
        char buf[4096];
        while (request.size() < head_end + 4 + length && length < (1u << 20)) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) break;
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            request.append(buf, static_cast<std::size_t>(n));
        }
        return request;
    }

private:
    void serve() {
        while (!stopping_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0) continue;
            ++connections_;
            run_(fd, *this);
            ::close(fd);
        }
    }

    script run_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

}  // namespace oauth2cc_test
