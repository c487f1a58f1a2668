// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// common/metrics_endpoint.hpp: a `/metrics` endpoint on 127.0.0.1 for a Prometheus
// scraper: one thread serving up to 16 connections at once, one short request each
// (Connection: close), nothing but `GET /metrics`, each whole exchange bounded to 2 s, so
// that a client that dawdles delays no scrape. Only loopback: put a proxy in front to
// expose it further.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oauth2cc_examples {

/// @brief Serves body() with content_type at GET /metrics on 127.0.0.1:port (0: a free
/// port, see port()) until destroyed.
class metrics_endpoint {
public:
    /// @param exchange_limit how long one connection may take, head and answer together
    metrics_endpoint(int port, std::string content_type, std::function<std::string()> body,
                     std::chrono::milliseconds exchange_limit = std::chrono::milliseconds(2000))
        : content_type_(std::move(content_type)),
          body_(std::move(body)),
          exchange_limit_(exchange_limit) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("metrics endpoint: no socket");
        const int on = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<unsigned short>(port));
        socklen_t len = sizeof addr;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            ::close(fd_);
            throw std::runtime_error("metrics endpoint: cannot listen on 127.0.0.1:" +
                                     std::to_string(port));
        }
        port_ = ntohs(addr.sin_port);
        if (::pipe2(wake_, O_CLOEXEC) != 0) {
            ::close(fd_);
            throw std::runtime_error("metrics endpoint: no pipe");
        }
        thread_ = std::thread([this] { serve(); });
    }
    metrics_endpoint(const metrics_endpoint&) = delete;
    metrics_endpoint& operator=(const metrics_endpoint&) = delete;
    ~metrics_endpoint() {
        const char stop = 's';
        (void)!::write(wake_[1], &stop, 1);
        thread_.join();
        ::close(fd_);
        ::close(wake_[0]);
        ::close(wake_[1]);
    }

    int port() const noexcept { return port_; }

private:
    using clock = std::chrono::steady_clock;
    /// Connections served at once; a further one waits in the listen queue.
    static constexpr std::size_t max_connections = 16;

    struct connection {
        int fd;
        clock::time_point deadline;
        std::string in;   // the request head so far
        std::string out;  // the answer, once the head is in
        std::size_t sent = 0;
    };

    // One thread serves every connection through poll(): a client that dawdles holds
    // only its own connection, and only until its deadline.
    void serve() {
        std::vector<connection> open;
        for (;;) {
            std::vector<pollfd> p;
            p.push_back({wake_[0], POLLIN, 0});
            p.push_back({fd_, static_cast<short>(open.size() < max_connections ? POLLIN : 0), 0});
            int wait_ms = -1;
            const auto now = clock::now();
            for (const connection& c : open) {
                p.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
                const auto left =
                    std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
                const int ms = static_cast<int>(std::max<long long>(left, 0) + 1);
                wait_ms = wait_ms < 0 ? ms : std::min(wait_ms, ms);
            }
            if (::poll(p.data(), p.size(), wait_ms) < 0) continue;
            if (p[0].revents != 0) break;  // the destructor's word
            for (std::size_t i = 0; i < open.size(); ++i) {
                if (p[i + 2].revents != 0 && !step(open[i])) open[i].deadline = clock::time_point{};
            }
            const auto after = clock::now();
            for (auto it = open.begin(); it != open.end();) {
                if (after >= it->deadline) {
                    ::close(it->fd);
                    it = open.erase(it);
                } else {
                    ++it;
                }
            }
            if ((p[1].revents & POLLIN) != 0) {
                const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (client >= 0) open.push_back({client, after + exchange_limit_, {}, {}, 0});
            }
        }
        for (const connection& c : open) ::close(c.fd);
    }

    // Moves one connection on: reads what came, answers a whole head, writes what the
    // socket takes. @returns false when the connection is done (answered, or gone).
    bool step(connection& c) {
        if (c.out.empty()) {
            char buf[1024];
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
            c.in.append(buf, static_cast<std::size_t>(n));
            if (c.in.find("\r\n\r\n") == std::string::npos) return c.in.size() < 8192;
            c.out = answer(c.in);
        }
        const std::string_view left = std::string_view(c.out).substr(c.sent);
        const ssize_t n = ::send(c.fd, left.data(), left.size(), MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EINTR;
        c.sent += static_cast<std::size_t>(n);
        return c.sent < c.out.size();
    }

    // The answer to a request head: the metrics for GET /metrics, 404 for anything else.
    std::string answer(const std::string& head) const {
        const bool wanted =
            head.rfind("GET /metrics ", 0) == 0 || head.rfind("GET /metrics?", 0) == 0;
        const std::string body = wanted ? body_() : "not found: GET /metrics\n";
        return std::string(wanted ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n") +
               "Content-Type: " + (wanted ? content_type_ : "text/plain") + "\r\n" +
               "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
               body;
    }

    std::string content_type_;
    std::function<std::string()> body_;
    std::chrono::milliseconds exchange_limit_;
    int fd_ = -1;
    int port_ = 0;
    int wake_[2] = {-1, -1};
    std::thread thread_;
};

}  // namespace oauth2cc_examples
