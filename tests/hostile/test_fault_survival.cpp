// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_fault_survival.cpp: a token_manager holding a valid token while its authorization
// server refuses connections, accepts and never answers, or answers 503, for two token
// lifetimes: callers see no error while the token is valid, the server sees a bounded
// number of requests, and service resumes within one backoff step of recovery. Requests
// go over real sockets through httplib_transport; time runs on a manual clock.
// SPDX-License-Identifier: MIT

#include "../support/local_server.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <poll.h>

using namespace std::chrono_literals;
using oauth2cc_test::local_server;
using oauth2cc_test::raw_server;

namespace {

enum class fault { none, refuse, silent, unavailable };

std::string name_of(fault f) {
    switch (f) {
        case fault::none:
            return "none";
        case fault::refuse:
            return "connections refused";
        case fault::silent:
            return "accepts, never answers";
        case fault::unavailable:
            return "503 Service Unavailable";
    }
    return "?";
}

/// Sends each request where the current fault says, over a real httplib_transport, and
/// counts the requests made under each fault.
class fault_injector : public oauth2cc::transport {
public:
    fault_injector(std::map<fault, std::string> targets)
        : targets_(std::move(targets)), inner_(options()) {}

    void set(fault f) {
        std::lock_guard<std::mutex> lock(m_);
        current_ = f;
    }
    int attempts(fault f) const {
        std::lock_guard<std::mutex> lock(m_);
        const auto it = attempts_.find(f);
        return it == attempts_.end() ? 0 : it->second;
    }

    oauth2cc::http_response send(const oauth2cc::http_request& request) override {
        oauth2cc::http_request redirected = request;
        {
            std::lock_guard<std::mutex> lock(m_);
            ++attempts_[current_];
            redirected.url = targets_.at(current_);
        }
        return inner_.send(redirected);
    }

private:
    static oauth2cc::connection_options options() {
        oauth2cc::connection_options o;
        o.connect_timeout = 200ms;
        o.read_timeout = 150ms;  // a silent server costs 350 ms of real time per attempt
        return o;
    }
    const std::map<fault, std::string> targets_;
    oauth2cc::httplib_transport inner_;
    mutable std::mutex m_;
    fault current_ = fault::none;
    std::map<fault, int> attempts_;
};

/// Counts the manager's log lines: one per finished request.
class line_counter {
public:
    std::function<void(oauth2cc::log_level, std::string_view)> sink() {
        return [this](oauth2cc::log_level, std::string_view) {
            std::lock_guard<std::mutex> lock(m_);
            ++lines_;
            changed_.notify_all();
        };
    }
    int lines() const {
        std::lock_guard<std::mutex> lock(m_);
        return lines_;
    }
    bool wait_for(int n) {
        std::unique_lock<std::mutex> lock(m_);
        return changed_.wait_for(lock, 30s, [&] { return lines_ >= n; });
    }

private:
    mutable std::mutex m_;
    std::condition_variable changed_;
    int lines_ = 0;
};

struct fault_report {
    int errors_while_valid = 0;
    int errors_after_expiry = 0;
    int requests_during_fault = 0;
    std::chrono::seconds recovered_after{-1};
};

constexpr auto lifetime = 100s;
constexpr auto retry_max = 16s;

// One get() at the clock's time; returns once no request is running and every finished
// one has logged its line, so the clock never moves under a request.
bool call(oauth2cc::token_manager& manager, line_counter& log, std::string* token_out) {
    bool ok = true;
    try {
        const auto t = manager.get();
        if (token_out) *token_out = t->access_token.reveal();
    } catch (const oauth2cc::error&) {
        ok = false;
    }
    for (;;) {
        const int lines = log.lines();
        const auto stats = manager.stats();
        if (!stats.in_flight && static_cast<std::uint64_t>(lines) >= stats.fetches) break;
        REQUIRE(log.wait_for(lines + 1));
    }
    return ok;
}

fault_report survive(fault f) {
    // The good server issues 100 s tokens; the others misbehave.
    std::atomic<int> issued{0};
    local_server good;
    good.server().Post("/token", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"access_token":"tok-)" + std::to_string(++issued) +
                            R"(","token_type":"Bearer","expires_in":100})",
                        "application/json");
    });
    good.server().Post("/unavailable", [](const httplib::Request&, httplib::Response& res) {
        res.status = 503;
        res.set_content("down for maintenance", "text/plain");
    });
    good.start();
    raw_server silent([](int fd, const raw_server& self) {
        raw_server::read_request(fd);
        // Say nothing until the client gives up (or the test ends).
        for (int i = 0; i < 200 && !self.stopping(); ++i) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                char c;
                if (::recv(fd, &c, 1, 0) <= 0) return;
            }
        }
    });
    auto injector = std::make_shared<fault_injector>(std::map<fault, std::string>{
        {fault::none, good.url() + "/token"},
        {fault::refuse,
         "http://127.0.0.1:" + std::to_string(oauth2cc_test::closed_port()) + "/token"},
        {fault::silent, silent.url() + "/token"},
        {fault::unavailable, good.url() + "/unavailable"}});

    oauth2cc::client_config cfg;
    cfg.token_endpoint = good.url() + "/token";
    cfg.client_id = "fault-client";
    cfg.client_secret = oauth2cc::secret{"fault-secret"};
    oauth2cc::refresh_policy policy;
    policy.early = 20s;
    policy.early_fraction = 0;  // refresh 20 s before expiry: at 80 s
    policy.retry_initial = 1s;
    policy.retry_max = retry_max;
    policy.jitter_seed = 11;
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    line_counter log;  // before the manager: its worker may log until it is destroyed
    oauth2cc::token_manager manager(cfg, policy, injector, clock);
    manager.set_logger(log.sink());

    fault_report report;
    std::string first, latest;
    REQUIRE(call(manager, log, &first));
    const auto obtained = clock->now();
    injector->set(f);
    // Two token lifetimes of faults, a call every second.
    for (auto t = 1s; t <= 2 * lifetime; t += 1s) {
        clock->advance(1s);
        const bool valid = clock->now() < obtained + lifetime;
        if (!call(manager, log, &latest))
            ++(valid ? report.errors_while_valid : report.errors_after_expiry);
    }
    report.requests_during_fault = injector->attempts(f);
    // Recovery: how long until a call gets a new token.
    injector->set(fault::none);
    for (auto t = 1s; t <= 3 * retry_max; t += 1s) {
        clock->advance(1s);
        std::string now_token;
        if (call(manager, log, &now_token) && now_token != first) {
            report.recovered_after = t;
            break;
        }
    }
    return report;
}

}  // namespace

TEST_SUITE("hostile") {

TEST_CASE("fault survival: no error while the token is valid, bounded requests, prompt recovery") {
    for (const fault f : {fault::refuse, fault::silent, fault::unavailable}) {
        CAPTURE(name_of(f));
        const fault_report r = survive(f);
        MESSAGE("fault \"" << name_of(f) << "\" for 200 s (two 100 s lifetimes): "
                           << r.requests_during_fault << " requests, " << r.errors_while_valid
                           << " errors while the token was valid, " << r.errors_after_expiry
                           << " calls failed after it expired, service back "
                           << r.recovered_after.count() << " s after recovery");
        CHECK(r.errors_while_valid == 0);
        CHECK(r.errors_after_expiry > 0);  // the token did expire during the fault
        // Backoff: about one request per retry_max / 2 once it reaches its ceiling, and
        // never more than one per second of calls.
        CHECK(r.requests_during_fault >= 5);
        CHECK(r.requests_during_fault <= 40);
        CHECK(r.recovered_after.count() >= 0);
        CHECK(r.recovered_after <= retry_max);
    }
}

}  // TEST_SUITE("hostile")
