// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_metrics.cpp: the metrics observer sees every request, wait and store operation a
// token_manager makes, and nothing on a cached get(); prometheus_exporter's text passes a
// strict parser of the exposition format; try_get() and get_async() never block.
// SPDX-License-Identifier: MIT

#include "../support/prometheus_parse.hpp"
#include "../support/test_helpers.hpp"
#include "../support/recording_observer.hpp"
#include "../support/token_endpoint_fake.hpp"
#include "../../examples/common/metrics_endpoint.hpp"

#include <oauth2cc/prometheus.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using oauth2cc::error_kind;
using oauth2cc::manual_clock;
using oauth2cc::prometheus_exporter;
using oauth2cc::token_manager;
using oauth2cc_test::on_threads;
using oauth2cc_test::parse_prometheus;
using oauth2cc_test::recording_observer;
using oauth2cc_test::token_endpoint_fake;

namespace {

oauth2cc::client_config config(std::string client_id = "metrics-job") {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/token";
    cfg.client_id = std::move(client_id);
    cfg.client_secret = oauth2cc::secret{"S3CRET-metrics-7"};
    return cfg;
}

oauth2cc::refresh_policy seeded() {
    oauth2cc::refresh_policy p;
    p.jitter_seed = 7;
    return p;
}

/// A token store in memory that can be made unreachable.
struct memory_store : oauth2cc::token_store {
    std::mutex m;
    std::map<std::string, oauth2cc::stored_token> entries;
    std::atomic<bool> down{false};
    void check() {
        if (down) throw oauth2cc::error(error_kind::transport, "the store is down");
    }
    std::optional<oauth2cc::stored_token> load(const std::string& key) override {
        check();
        std::lock_guard<std::mutex> lock(m);
        const auto it = entries.find(key);
        if (it == entries.end()) return std::nullopt;
        return it->second;
    }
    void save(const std::string& key, const oauth2cc::stored_token& entry) override {
        check();
        std::lock_guard<std::mutex> lock(m);
        entries[key] = entry;
    }
    void remove(const std::string& key) override {
        check();
        std::lock_guard<std::mutex> lock(m);
        entries.erase(key);
    }
};

}  // namespace

TEST_CASE(
    "metrics observer: 64 callers on a cold manager: one request, 64 waits, no cache hit "
    "events") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto observer = std::make_shared<recording_observer>();
    token_manager m(config(), seeded(), endpoint);
    m.set_observer(observer);
    CHECK(observer->count("attach") == 1);
    endpoint->close_gate();
    std::thread opener([&] {
        endpoint->wait_for_requests(1);
        // Every caller counts as waiting once it is inside get().
        for (int spins = 0; spins < 100000 && m.stats().waits < 64; ++spins) {
            std::this_thread::yield();
        }
        endpoint->open_gate();
    });
    on_threads(64, [&](int) { m.get(); });
    opener.join();
    CHECK(endpoint->requests() == 1);
    CHECK(observer->count("request success") == 1);
    const auto stats = m.stats();
    CHECK(observer->count("wait got") == static_cast<int>(stats.waits));
    for (int i = 0; i < 1000; ++i) m.get();
    // Cached reads are counted by stats(), never told one by one.
    CHECK(observer->lines().size() == 2 + stats.waits);
    CHECK(m.stats().cache_hits >= 1000);
    for (const auto& id : observer->client_ids()) {
        if (!id.empty()) CHECK(id == "metrics-job");
    }
}

TEST_CASE("metrics observer: failures by outcome, status and error; retries flagged") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto clock = std::make_shared<manual_clock>();
    auto observer = std::make_shared<recording_observer>();
    oauth2cc::refresh_policy p = seeded();
    p.retry_initial = 1s;
    p.retry_max = 4s;
    token_manager m(config(), p, endpoint, clock);
    m.set_observer(observer);
    endpoint->answer_with([](int n) {
        if (n == 1) return token_endpoint_fake::error_response(503, "temporarily_unavailable");
        if (n == 2) return oauth2cc::http_response{502, {}, "<html>bad gateway</html>"};
        if (n == 3)
            return oauth2cc::http_response{200, {{"Content-Type", "application/json"}}, "{"};
        return token_endpoint_fake::token_response(n);
    });
    CHECK(oauth2cc_test::thrown_by([&] { m.get(); }).kind() == error_kind::oauth);
    clock->advance(5s);
    CHECK(oauth2cc_test::thrown_by([&] { m.get(); }).kind() == error_kind::http_status);
    clock->advance(5s);
    CHECK(oauth2cc_test::thrown_by([&] { m.get(); }).kind() == error_kind::bad_response);
    // Between attempts callers get the last error at once: no request, no wait.
    CHECK(oauth2cc_test::thrown_by([&] { m.get(); }).kind() == error_kind::bad_response);
    clock->advance(5s);
    CHECK(m.get()->access_token.reveal() == "tok-4");
    CHECK(endpoint->requests() == 4);
    CHECK(observer->count("request oauth 503 temporarily_unavailable") == 1);
    CHECK(observer->count("request http_status 502 retry") == 1);
    CHECK(observer->count("request bad_response 200 retry") == 1);
    CHECK(observer->count("request success retry") == 1);
    CHECK(observer->count("wait failed") == 3);
    CHECK(observer->count("wait got") == 1);
    CHECK(observer->count_prefix("request") == endpoint->requests());

    auto exporter = std::make_shared<prometheus_exporter>();
    m.set_observer(exporter);
    CHECK(observer->count("detach") == 1);
    const auto parsed = parse_prometheus(exporter->text());
    CHECK(parsed.value("oauth2cc_token_fast_failures_total{client_id=\"metrics-job\"}") == 1);
    CHECK(parsed.value("oauth2cc_token_consecutive_failures{client_id=\"metrics-job\"}") == 0);
}

TEST_CASE("metrics observer: store hits, misses, saves, removals and an outage") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto store = std::make_shared<memory_store>();
    auto observer = std::make_shared<recording_observer>();
    {
        token_manager first(config(), seeded(), endpoint);
        first.set_store(store);
        first.set_observer(observer);
        first.get();
        // One look (a miss, under the store's lock), one request, one save.
        CHECK(observer->count("store load miss") == 1);
        CHECK(observer->count("store save ok") == 1);
    }
    CHECK(observer->count("detach") == 1);
    token_manager second(config(), seeded(), endpoint);
    second.set_store(store);
    second.set_observer(observer);
    const auto tok = second.get();
    CHECK(tok->access_token.reveal() == "tok-1");
    CHECK(observer->count("store load hit") == 1);
    second.invalidate(tok.get());
    CHECK(observer->count("store remove ok") == 1);
    store->down = true;
    CHECK(second.get()->access_token.reveal() == "tok-2");
    CHECK(observer->count("store load unavailable") == 1);
    CHECK(observer->count("store save unavailable") == 1);
    CHECK(endpoint->requests() == 2);
    CHECK(observer->count_prefix("request") == 2);
}

TEST_CASE("metrics observer: the authorized_client's 401 retry") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto observer = std::make_shared<recording_observer>();
    token_manager tokens(config(), seeded(), endpoint);
    tokens.set_observer(observer);
    auto api = std::make_shared<token_endpoint_fake>();
    api->answer_with([](int n) {
        return n == 1 ? oauth2cc::http_response{401,
                                                {{"WWW-Authenticate",
                                                  "Bearer error=\"invalid_token\""}},
                                                ""}
                      : oauth2cc::http_response{200, {}, "ok"};
    });
    oauth2cc::authorized_client client("https://api.example.com", tokens, {}, api);
    CHECK(client.get("/x").status == 200);
    CHECK(observer->count("unauthorized") == 1);
    CHECK(observer->count("request success") == 2);
}

TEST_CASE(
    "prometheus_exporter: the text format, label escaping, histogram and counts that "
    "survive their manager") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto exporter = std::make_shared<prometheus_exporter>();
    const std::string odd = "we\"ird\\id";
    {
        token_manager a(config(odd), seeded(), endpoint);
        token_manager b(config(), seeded(), endpoint);
        a.set_observer(exporter);
        b.set_observer(exporter);
        for (int i = 0; i < 5; ++i) a.get();
        b.get();
        b.get();
        const auto parsed = parse_prometheus(exporter->text());
        CHECK(parsed.types.at("oauth2cc_token_request_duration_seconds") == "histogram");
        CHECK(parsed.types.at("oauth2cc_token_consecutive_failures") == "gauge");
        const std::string a_id = "client_id=\"we\\\"ird\\\\id\"";
        CHECK(parsed.value("oauth2cc_token_requests_total{" + a_id + ",outcome=\"success\"}") == 1);
        CHECK(parsed.value("oauth2cc_token_request_duration_seconds_count{" + a_id + "}") == 1);
        CHECK(parsed.value("oauth2cc_token_request_duration_seconds_bucket{" + a_id +
                           ",le=\"+Inf\"}") == 1);
        CHECK(parsed.value("oauth2cc_token_cache_hits_total{" + a_id + "}") == 4);
        CHECK(parsed.value("oauth2cc_token_cache_hits_total{client_id=\"metrics-job\"}") == 1);
        CHECK(parsed.value("oauth2cc_token_waits_total{client_id=\"metrics-job\"}") == 1);
    }
    // Both managers are gone; their counts stay, so that no counter goes down.
    const auto after = parse_prometheus(exporter->text());
    CHECK(after.value("oauth2cc_token_cache_hits_total{client_id=\"metrics-job\"}") == 1);
    CHECK(after.value(
              "oauth2cc_token_requests_total{client_id=\"metrics-job\",outcome=\"success\"}") == 1);
    CHECK(std::string(prometheus_exporter::content_type).find("version=0.0.4") !=
          std::string::npos);
    // No secret and no token in the text.
    const std::string text = exporter->text();
    CHECK(text.find("S3CRET") == std::string::npos);
    CHECK(text.find("tok-") == std::string::npos);
}

TEST_CASE("try_get: never blocks; null while the one request it started is held") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    token_manager m(config(), seeded(), endpoint);
    endpoint->close_gate();
    CHECK(m.try_get() == nullptr);
    REQUIRE(endpoint->wait_for_requests(1));
    for (int i = 0; i < 100; ++i) CHECK(m.try_get() == nullptr);
    CHECK(endpoint->requests() == 1);
    CHECK(m.stats().in_flight);
    endpoint->open_gate();
    // The request ends on its worker; get_async tells when.
    std::promise<oauth2cc::token_result> ready;
    m.get_async([&](oauth2cc::token_result r) { ready.set_value(std::move(r)); });
    REQUIRE(ready.get_future().get());
    const auto tok = m.try_get();
    REQUIRE(tok != nullptr);
    CHECK(tok->access_token.reveal() == "tok-1");
    CHECK(endpoint->requests() == 1);
}

TEST_CASE(
    "get_async: a valid token at once on the caller's thread; otherwise on the "
    "refreshing thread, every callback once, one request") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    token_manager m(config(), seeded(), endpoint);
    endpoint->close_gate();
    std::mutex mu;
    std::vector<std::string> got;
    std::set<std::thread::id> threads;
    std::promise<void> all_done;
    constexpr int callers = 8;
    for (int i = 0; i < callers; ++i) {
        m.get_async([&](oauth2cc::token_result r) {
            std::lock_guard<std::mutex> lock(mu);
            got.push_back(r ? r.tok->access_token.reveal() : "failed");
            threads.insert(std::this_thread::get_id());
            if (static_cast<int>(got.size()) == callers) all_done.set_value();
        });
    }
    REQUIRE(endpoint->wait_for_requests(1));
    {
        std::lock_guard<std::mutex> lock(mu);
        CHECK(got.empty());  // nothing waited on this thread
    }
    endpoint->open_gate();
    all_done.get_future().wait();
    CHECK(got == std::vector<std::string>(callers, "tok-1"));
    CHECK(threads.size() == 1);
    CHECK(threads.count(std::this_thread::get_id()) == 0);
    CHECK(endpoint->requests() == 1);

    std::thread::id ran_on;
    m.get_async([&](oauth2cc::token_result r) {
        CHECK(r);
        ran_on = std::this_thread::get_id();
    });
    CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE(
    "get_async: a failed request's error reaches every callback; while backing off at "
    "once") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto clock = std::make_shared<manual_clock>();
    endpoint->answer_with(
        [](int) { return token_endpoint_fake::error_response(401, "invalid_client"); });
    token_manager m(config(), seeded(), endpoint, clock);
    std::promise<oauth2cc::token_result> first;
    m.get_async([&](oauth2cc::token_result r) { first.set_value(std::move(r)); });
    const auto r = first.get_future().get();
    CHECK_FALSE(r);
    REQUIRE(r.failure);
    CHECK(r.failure->oauth_error() == "invalid_client");
    bool at_once = false;
    m.get_async([&](oauth2cc::token_result again) {
        at_once = !again && again.failure->oauth_error() == "invalid_client";
    });
    CHECK(at_once);
    CHECK(endpoint->requests() == 1);
    CHECK(m.stats().fast_failures == 1);
}

TEST_CASE("get_async: callbacks waiting on the background thread are each called once") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    std::atomic<int> called{0};
    endpoint->close_gate();
    {
        token_manager m(config(), seeded(), endpoint);
        m.start_background_refresh();
        for (int i = 0; i < 3; ++i) m.get_async([&](oauth2cc::token_result) { ++called; });
        REQUIRE(endpoint->wait_for_requests(1));
        endpoint->open_gate();
    }
    CHECK(called == 3);
}

namespace {

// A client socket of the metrics endpoint, connected to 127.0.0.1:port.
struct endpoint_client {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    explicit endpoint_client(int port) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<unsigned short>(port));
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~endpoint_client() { ::close(fd); }
    endpoint_client(const endpoint_client&) = delete;
    endpoint_client& operator=(const endpoint_client&) = delete;
    void send_text(const std::string& text) const {
        REQUIRE(::send(fd, text.data(), text.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(text.size()));
    }
    // Everything until the server closes (a safety bound of a minute, never reached).
    std::string read_to_end() const {
        std::string all;
        char buf[4096];
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 60000) <= 0) return all + "<no end>";
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return all;
            all.append(buf, static_cast<std::size_t>(n));
        }
    }
    // Whether the server has closed it or sent something, at this moment.
    bool readable_now() const {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
    }
};

}  // namespace

TEST_CASE("metrics endpoint: a scrape is served while another client dawdles over its head") {
    oauth2cc_examples::metrics_endpoint endpoint(
        0, "text/plain", [] { return "up 1\n"; }, std::chrono::minutes(10));
    const endpoint_client dawdler(endpoint.port());
    dawdler.send_text("GET /met");  // and nothing more
    for (int i = 0; i < 3; ++i) {
        const endpoint_client scraper(endpoint.port());
        scraper.send_text("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        const std::string answer = scraper.read_to_end();
        CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(answer.find("\r\n\r\nup 1\n") != std::string::npos);
    }
    // The dawdler's connection is still open: the scrapes did not wait for it to end.
    CHECK_FALSE(dawdler.readable_now());
}

TEST_CASE("metrics endpoint: a connection that never finishes its head is closed at its limit") {
    oauth2cc_examples::metrics_endpoint endpoint(
        0, "text/plain", [] { return "up 1\n"; }, std::chrono::milliseconds(50));
    const endpoint_client dawdler(endpoint.port());
    dawdler.send_text("GET /metrics HTTP/1.1\r\n");
    CHECK(dawdler.read_to_end().empty());  // closed, unanswered
    const endpoint_client other(endpoint.port());
    other.send_text("GET /other HTTP/1.1\r\n\r\n");
    CHECK(other.read_to_end().rfind("HTTP/1.1 404", 0) == 0);
}

TEST_CASE("prometheus_exporter: entries and evictions per client, never per parameters") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    oauth2cc::refresh_policy policy;
    policy.max_entries = 3;
    token_manager m(config("gateway"), policy, endpoint);
    auto exporter = std::make_shared<prometheus_exporter>();
    m.set_observer(exporter);
    for (int i = 0; i < 5; ++i) {
        auto p = oauth2cc::params_of(m.config());
        p.audience = "https://api-" + std::to_string(i) + ".example.com";
        m.get(p);
    }
    const auto text = exporter->text();
    const auto parsed = parse_prometheus(text);
    CHECK(parsed.types.at("oauth2cc_token_entries") == "gauge");
    CHECK(parsed.types.at("oauth2cc_token_evictions_total") == "counter");
    CHECK(parsed.value("oauth2cc_token_entries{client_id=\"gateway\"}") == 3);
    CHECK(parsed.value("oauth2cc_token_evictions_total{client_id=\"gateway\"}") == 3);
    CHECK(parsed.value(
              "oauth2cc_token_requests_total{client_id=\"gateway\",outcome=\"success\"}") == 5);
    CHECK(text.find("api-") == std::string::npos);  // no label per parameters
    m.set_observer(nullptr);
    const auto kept = parse_prometheus(exporter->text());
    CHECK(kept.value("oauth2cc_token_evictions_total{client_id=\"gateway\"}") == 3);
}
