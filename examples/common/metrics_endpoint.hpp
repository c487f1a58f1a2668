// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// common/metrics_endpoint.hpp: a `/metrics` endpoint on 127.0.0.1 for a Prometheus
// scraper: one thread, one short request per connection (Connection: close), nothing but
// `GET /metrics`. Only loopback: put a proxy in front to expose it further.
// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

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
    metrics_endpoint(int port, std::string content_type, std::function<std::string()> body)
        : content_type_(std::move(content_type)), body_(std::move(body)) {
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
    void serve() {
        for (;;) {
            pollfd p[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
            if (::poll(p, 2, -1) < 0) continue;
            if (p[1].revents != 0) return;  // the destructor's word
            const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            answer(client);
            ::close(client);
        }
    }

    // Reads the request head (8 KiB and 2 s at most) and answers it.
    void answer(int client) {
        std::string head;
        char buf[1024];
        while (head.size() < 8192 && head.find("\r\n\r\n") == std::string::npos) {
            pollfd p{client, POLLIN, 0};
            if (::poll(&p, 1, 2000) <= 0) return;
            const ssize_t n = ::recv(client, buf, sizeof buf, 0);
            if (n <= 0) return;
            head.append(buf, static_cast<std::size_t>(n));
        }
        const bool wanted =
            head.rfind("GET /metrics ", 0) == 0 || head.rfind("GET /metrics?", 0) == 0;
        const std::string body = wanted ? body_() : "not found: GET /metrics\n";
        const std::string response =
            std::string(wanted ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n") +
            "Content-Type: " + (wanted ? content_type_ : "text/plain") + "\r\n" +
            "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
            body;
        std::string_view left = response;
        while (!left.empty()) {
            const ssize_t n = ::send(client, left.data(), left.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            left.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    std::string content_type_;
    std::function<std::string()> body_;
    int fd_ = -1;
    int port_ = 0;
    int wake_[2] = {-1, -1};
    std::thread thread_;
};

}  // namespace oauth2cc_examples
