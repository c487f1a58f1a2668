// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// asio_loop/main.cpp: an event loop on standalone Asio that makes authorized calls and is
// never blocked by a token request. try_get() answers from the cache at once; when there
// is no valid token, get_async() hands it over from the refreshing thread and the loop
// goes on (its timer keeps ticking) until asio::post brings the token back to it. The
// calls themselves are Asio's own non-blocking sockets (plain HTTP/1.1, one request per
// connection), with the headers from token_manager::request_headers(): Bearer, or DPoP
// with a new proof per call.
//
// Usage: oauth2cc-asio-loop [--calls N] [--interval-ms 200] [--tick-ms 10] http://HOST:PORT/PATH
// It makes N calls (0: until SIGINT or SIGTERM), one every interval, and prints a tick
// line for every timer tick that runs while a token request is under way, then a summary
// with the longest gap between ticks. Configured from the environment as the daemon is:
// OAUTH2_TOKEN_URL (or OAUTH2_ISSUER), OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET_FILE (or
// OAUTH2_CLIENT_SECRET), OAUTH2_SCOPE, OAUTH2_AUTH_METHOD (see oauth2cc::config_from_environment()).
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <asio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One line per event on stdout, flushed; only the loop's thread prints.
void say(const std::string& line) { std::cout << line << std::endl; }

long long ms_between(steady::time_point from, steady::time_point to) {
    return std::chrono::duration_cast<milliseconds>(to - from).count();
}

// http://host:port/path, split; empty host when the URL is not of that form.
struct http_url {
    std::string host, port = "80", target = "/";
};
http_url parse_http_url(const std::string& url) {
    http_url out;
    const std::string scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0) return out;
    const std::size_t path_at = url.find_first_of("/?", scheme.size());
    std::string authority = url.substr(scheme.size(), path_at - scheme.size());
    if (path_at != std::string::npos) out.target = url.substr(path_at);
    if (out.target.front() == '?') out.target.insert(0, "/");
    if (const std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
        out.port = authority.substr(colon + 1);
        authority.resize(colon);
    }
    out.host = authority;
    return out;
}

// One GET on its own connection: resolve, connect, write, read to the end. done gets the
// status code, or 0 and the error's message.
class http_get : public std::enable_shared_from_this<http_get> {
public:
    using callback = std::function<void(int status, const std::string& failure)>;

    http_get(asio::io_context& io, const http_url& url, const oauth2cc::name_value_list& headers,
             callback done)
        : resolver_(io), socket_(io), url_(url), done_(std::move(done)) {
        request_ = "GET " + url_.target + " HTTP/1.1\r\nHost: " + url_.host + ":" + url_.port +
                   "\r\nConnection: close\r\n";
        for (const auto& h : headers) request_ += h.first + ": " + h.second + "\r\n";
        request_ += "\r\n";
    }

    void start() {
        auto self = shared_from_this();
        resolver_.async_resolve(
            url_.host, url_.port,
            [self](const asio::error_code& ec, const asio::ip::tcp::resolver::results_type& at) {
                if (ec) return self->finish(0, ec.message());
                asio::async_connect(
                    self->socket_, at,
                    [self](const asio::error_code& e, const asio::ip::tcp::endpoint&) {
                        if (e) return self->finish(0, e.message());
                        self->write();
                    });
            });
    }

private:
    void write() {
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(request_),
                          [self](const asio::error_code& ec, std::size_t) {
                              // The request held a token: it is not kept past its write.
                              std::fill(self->request_.begin(), self->request_.end(), '\0');
                              if (ec) return self->finish(0, ec.message());
                              self->read();
                          });
    }

    void read() {
        auto self = shared_from_this();
        asio::async_read(socket_, asio::dynamic_buffer(response_, 1 << 20),
                         [self](const asio::error_code& ec, std::size_t) {
                             if (ec && ec != asio::error::eof) return self->finish(0, ec.message());
                             // "HTTP/1.1 200 OK": the code after the first space.
                             const std::size_t sp = self->response_.find(' ');
                             const int status = sp == std::string::npos
                                                    ? 0
                                                    : std::atoi(self->response_.c_str() + sp + 1);
                             self->finish(status, status == 0 ? "not an HTTP response" : "");
                         });
    }

    void finish(int status, const std::string& failure) {
        if (!done_) return;
        auto done = std::move(done_);
        done_ = nullptr;
        done(status, failure);
    }

    asio::ip::tcp::resolver resolver_;
    asio::ip::tcp::socket socket_;
    http_url url_;
    callback done_;
    std::string request_;
    std::string response_;
};

// The loop's state; every member is touched on the loop's thread only.
struct loop_app {
    asio::io_context& io;
    oauth2cc::token_manager& tokens;
    std::string url;
    http_url target;
    long calls_wanted = 0;
    milliseconds interval{200};
    milliseconds tick{10};

    asio::steady_timer ticker{io};
    asio::steady_timer caller{io};
    asio::signal_set signals{io, SIGINT, SIGTERM};
    long calls_made = 0, calls_failed = 0, ticks = 0, ticks_waiting = 0;
    long long longest_gap_ms = 0;
    steady::time_point last_tick = steady::now();
    bool waiting_for_token = false;
    bool stopping = false;

    // The timer that proves the loop is free: it counts ticks and the longest gap.
    void schedule_tick() {
        ticker.expires_after(tick);
        ticker.async_wait([this](const asio::error_code& ec) {
            if (ec || stopping) return;
            const auto now = steady::now();
            longest_gap_ms = std::max(longest_gap_ms, ms_between(last_tick, now));
            last_tick = now;
            ++ticks;
            if (waiting_for_token) {
                ++ticks_waiting;
                say("tick " + std::to_string(ticks_waiting) +
                    " while the token request is under way");
            }
            schedule_tick();
        });
    }

    void schedule_call(milliseconds after) {
        caller.expires_after(after);
        caller.async_wait([this](const asio::error_code& ec) {
            if (!ec && !stopping) call();
        });
    }

    // A call: with the cached token at once, or once get_async() has brought one.
    void call() {
        if (std::shared_ptr<const oauth2cc::token> tok = tokens.try_get()) {
            send();
            return;
        }
        if (waiting_for_token) return;
        waiting_for_token = true;
        say("token request under way; the loop goes on");
        // done runs on the refreshing thread: it only posts the result to the loop.
        tokens.get_async([this](oauth2cc::token_result result) {
            asio::post(io, [this, result = std::move(result)] {
                waiting_for_token = false;
                if (!result) {
                    say(std::string("token: failed: ") + result.failure->what());
                    ++calls_failed;
                    after_call();
                    return;
                }
                say("token: arrived after " + std::to_string(ticks_waiting) + " ticks");
                send();
            });
        });
    }

    void send() {
        oauth2cc::name_value_list headers;
        try {
            // Answered from the cache: the token is there (a DPoP proof is signed here).
            headers = tokens.request_headers("GET", url);
        } catch (const oauth2cc::error& e) {
            say(std::string("call: no token: ") + e.what());
            ++calls_failed;
            after_call();
            return;
        }
        std::make_shared<http_get>(io, target, headers,
                                   [this](int status, const std::string& failure) {
                                       if (status == 0) {
                                           say("call: failed: " + failure);
                                           ++calls_failed;
                                       } else {
                                           say("call: HTTP " + std::to_string(status));
                                           if (status / 100 != 2) ++calls_failed;
                                       }
                                       after_call();
                                   })
            ->start();
        // The request holds its own copy: the token and any proof are overwritten here.
        for (auto& header : headers) std::fill(header.second.begin(), header.second.end(), '\0');
    }

    void after_call() {
        ++calls_made;
        if (stopping) return;
        if (calls_wanted > 0 && calls_made >= calls_wanted) {
            stop();
            return;
        }
        schedule_call(interval);
    }

    void start() {
        signals.async_wait([this](const asio::error_code& ec, int signal_number) {
            if (ec) return;
            say("stopping on signal " + std::to_string(signal_number));
            stop();
        });
        schedule_tick();
        schedule_call(milliseconds(0));
    }

    // Ends the timers and the signal wait: io.run() returns once a call in flight ends.
    void stop() {
        if (stopping) return;
        stopping = true;
        ticker.cancel();
        caller.cancel();
        signals.cancel();
        say("done: " + std::to_string(calls_made) + " calls, " + std::to_string(calls_failed) +
            " failed, " + std::to_string(ticks) + " ticks, longest gap between ticks " +
            std::to_string(longest_gap_ms) + " ms");
    }
};

}  // namespace

int main(int argc, char** argv) {
    static constexpr const char* usage =
        "usage: oauth2cc-asio-loop [--calls N] [--interval-ms N] [--tick-ms N] "
        "http://HOST:PORT/PATH\n";
    long calls = 0, interval_ms = 200, tick_ms = 10;
    std::string url;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--calls" && i + 1 < argc) {
            calls = std::atol(argv[++i]);
        } else if (a == "--interval-ms" && i + 1 < argc) {
            interval_ms = std::atol(argv[++i]);
        } else if (a == "--tick-ms" && i + 1 < argc) {
            tick_ms = std::atol(argv[++i]);
        } else if (url.empty() && !a.empty() && a.front() != '-') {
            url = a;
        } else {
            std::cerr << usage;
            return 2;
        }
    }
    const http_url target = parse_http_url(url);
    if (target.host.empty() || calls < 0 || interval_ms <= 0 || tick_ms <= 0) {
        std::cerr << usage << "(this example speaks plain HTTP: an http:// URL)\n";
        return 2;
    }

    try {
        // The loop outlives the manager: a get_async() callback that the manager's
        // destructor hands its result to still posts to a live io_context.
        asio::io_context io;
        oauth2cc::token_manager tokens(oauth2cc::config_from_environment());
        loop_app app{
            io, tokens, url, target, calls, milliseconds(interval_ms), milliseconds(tick_ms)};
        app.start();
        io.run();  // until the calls are made, or a signal stops it
        return app.calls_failed == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "oauth2cc-asio-loop: " << e.what() << '\n';
        return 1;
    }
}
