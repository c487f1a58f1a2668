// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// agent/http_server.hpp: the agent's HTTP/1.1 server, small on purpose: GET requests
// without bodies, one request per connection (Connection: close), on UNIX sockets (the
// caller's uid from SO_PEERCRED) and loopback TCP. One thread accepts; a fixed pool of
// workers reads each request (8 KiB of head at most, 5 s for the whole exchange) and
// answers it.
// SPDX-License-Identifier: MIT
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "agent_config.hpp"
#include "request_parser.hpp"

namespace oauth2cc_agent {

/// @brief The reason phrase of the statuses the agent answers.
inline const char* reason(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        default:
            return "Error";
    }
}

/// @brief The listeners and workers; handler answers every request that parsed.
class http_server {
public:
    using handler_type = std::function<response(const request&)>;
    static constexpr std::size_t max_head = 8192;
    static constexpr std::chrono::milliseconds exchange_limit{5000};
    static constexpr std::size_t max_queued = 1024;

    /// @throws std::runtime_error naming the listener when one cannot be opened
    http_server(const std::vector<listener_spec>& listeners, handler_type handler,
                std::size_t workers)
        : handler_(std::move(handler)) {
        try {
            for (const auto& l : listeners) open(l);
        } catch (...) {
            close_listeners();
            throw;
        }
        if (::pipe2(wake_, O_CLOEXEC) != 0) {
            close_listeners();
            throw std::runtime_error("no pipe for the listener");
        }
        acceptor_ = std::thread([this] { accept_loop(); });
        for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
    }
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;
    ~http_server() { stop(); }

    /// @brief The addresses listened on, as "unix:PATH" or "HOST:PORT" (the port taken).
    const std::vector<std::string>& addresses() const { return addresses_; }

    /// @brief Stops accepting, answers what was accepted, and returns when all is done.
    void stop() {
        if (stopped_) return;
        stopped_ = true;
        const char c = 's';
        (void)!::write(wake_[1], &c, 1);
        acceptor_.join();
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            draining_ = true;
        }
        ready_.notify_all();
        for (auto& w : workers_) w.join();
        close_listeners();
        ::close(wake_[0]);
        ::close(wake_[1]);
    }

private:
    struct listening {
        int fd = -1;
        bool is_unix = false;
        std::string path;
    };
    struct accepted {
        int fd;
        bool is_unix;
        std::optional<uid_t> uid;
    };

    void open(const listener_spec& l) {
        listening out;
        out.is_unix = l.is_unix;
        if (l.is_unix) {
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::memcpy(addr.sun_path, l.path.c_str(), l.path.size() + 1);
            struct stat st {};
            if (::lstat(l.path.c_str(), &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                    throw std::runtime_error(l.text + ": the path exists and is not a socket");
                // A socket left by an agent that is gone is replaced; one that answers is
                // another agent's.
                const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr),
                                                          sizeof addr) == 0;
                if (probe >= 0) ::close(probe);
                if (live) throw std::runtime_error(l.text + ": another agent listens there");
                ::unlink(l.path.c_str());
            }
            out.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (out.fd < 0 || ::bind(out.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
                fail_open(out.fd, l.text);
            // Any local user may connect; who may use it is decided by the caller's uid.
            if (::chmod(l.path.c_str(), 0666) != 0 || ::listen(out.fd, 128) != 0)
                fail_open(out.fd, l.text);
            out.path = l.path;
            addresses_.push_back("unix:" + l.path);
        } else {
            const bool v6 = l.host.find(':') != std::string::npos;
            out.fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (out.fd < 0) fail_open(out.fd, l.text);
            const int on = 1;
            ::setsockopt(out.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
            sockaddr_storage storage{};
            socklen_t len = 0;
            if (v6) {
                auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
                a->sin6_family = AF_INET6;
                a->sin6_port = htons(static_cast<std::uint16_t>(l.port));
                ::inet_pton(AF_INET6, l.host.c_str(), &a->sin6_addr);
                len = sizeof *a;
            } else {
                auto* a = reinterpret_cast<sockaddr_in*>(&storage);
                a->sin_family = AF_INET;
                a->sin_port = htons(static_cast<std::uint16_t>(l.port));
                ::inet_pton(AF_INET, l.host.c_str(), &a->sin_addr);
                len = sizeof *a;
            }
            if (::bind(out.fd, reinterpret_cast<sockaddr*>(&storage), len) != 0 ||
                ::listen(out.fd, 128) != 0 ||
                ::getsockname(out.fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0)
                fail_open(out.fd, l.text);
            const int port = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port)
                                : ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
            addresses_.push_back((v6 ? "[" + l.host + "]" : l.host) + ":" + std::to_string(port));
        }
        listeners_.push_back(out);
    }

    [[noreturn]] static void fail_open(int fd, const std::string& text) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        throw std::runtime_error(text + ": cannot listen: " + std::strerror(err));
    }

    void close_listeners() {
        for (auto& l : listeners_) {
            if (l.fd >= 0) ::close(l.fd);
            l.fd = -1;
            if (l.is_unix && !l.path.empty()) ::unlink(l.path.c_str());
        }
    }

    void accept_loop() {
        std::vector<pollfd> fds;
        for (const auto& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
        fds.push_back({wake_[0], POLLIN, 0});
        for (;;) {
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                return;
            }
            if (fds.back().revents != 0) return;
            for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
                if ((fds[i].revents & POLLIN) == 0) continue;
                const int fd = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) continue;
                accepted a{fd, listeners_[i].is_unix, std::nullopt};
                if (a.is_unix) {
                    ucred cred{};
                    socklen_t len = sizeof cred;
                    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
                        a.uid = cred.uid;
                }
                std::unique_lock<std::mutex> lock(mutex_);
                if (queue_.size() >= max_queued) {
                    lock.unlock();
                    ::close(fd);  // the caller sees the connection end, and may retry
                    continue;
                }
                queue_.push_back(a);
                lock.unlock();
                ready_.notify_one();
            }
        }
    }

    void work() {
        for (;;) {
            std::unique_lock<std::mutex> lock(mutex_);
            ready_.wait(lock, [this] { return draining_ || !queue_.empty(); });
            if (queue_.empty()) return;
            const accepted a = queue_.front();
            queue_.pop_front();
            lock.unlock();
            serve(a);
            ::close(a.fd);
        }
    }

    // Waits at most until deadline for fd to be ready for events; false when it is not.
    static bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd, events, 0};
            const int n = ::poll(&p, 1, static_cast<int>(left.count()));
            if (n > 0) return true;
            if (n < 0 && errno != EINTR) return false;
        }
    }

    void serve(const accepted& a) {
        const auto deadline = std::chrono::steady_clock::now() + exchange_limit;
        std::string data;
        request req;
        req.peer_uid = a.uid;
        req.tcp = !a.is_unix;
        response res;
        for (;;) {
            const auto status = parse_request(data, req);
            if (status == parse_status::complete) {
                res = handler_(req);
                break;
            }
            if (status == parse_status::bad) {
                res =
                    error_answer(400, "bad_request", "not an HTTP/1.1 GET request the agent reads");
                break;
            }
            if (data.size() > max_head) {
                res = error_answer(431, "bad_request", "the request's head is over 8 KiB");
                break;
            }
            if (!wait_for(a.fd, POLLIN, deadline)) return;  // a caller that says nothing
            char buf[2048];
            const ssize_t n = ::recv(a.fd, buf, sizeof buf, 0);
            if (n <= 0) return;
            data.append(buf, static_cast<std::size_t>(n));
        }
        std::string out =
            "HTTP/1.1 " + std::to_string(res.status) + " " + reason(res.status) + "\r\n";
        for (const auto& [name, value] : res.headers) out += name + ": " + value + "\r\n";
        out += "Content-Length: " + std::to_string(res.body.size()) +
               "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
        out += res.body;
        std::size_t sent = 0;
        while (sent < out.size()) {
            if (!wait_for(a.fd, POLLOUT, deadline)) break;
            const ssize_t n = ::send(a.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        // The answer holds a token, the request perhaps the caller's: wipe them.
        const oauth2cc::secret gone(std::move(out));
        const oauth2cc::secret gone_body(std::move(res.body));
        for (auto& h : res.headers) const oauth2cc::secret gone_value(std::move(h.second));
        for (auto& h : req.headers) const oauth2cc::secret gone_value(std::move(h.second));
        const oauth2cc::secret gone_data(std::move(data));
        ::shutdown(a.fd, SHUT_WR);
    }

public:
    /// @brief A JSON error answer, as the agent gives every failure.
    static response error_answer(int status, const std::string& error,
                                 const std::string& description) {
        response r;
        r.status = status;
        r.headers.emplace_back("Content-Type", "application/json");
        r.body = nlohmann::json{{"error", error}, {"error_description", description}}.dump();
        return r;
    }

private:
    handler_type handler_;
    std::vector<listening> listeners_;
    std::vector<std::string> addresses_;
    int wake_[2] = {-1, -1};
    std::thread acceptor_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<accepted> queue_;
    bool draining_ = false;
    bool stopped_ = false;
};

}  // namespace oauth2cc_agent
