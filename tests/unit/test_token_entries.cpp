// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_entries.cpp: many tokens in one token_manager: an entry per token_params
// with its own single flight, the bounds on entries (max_entries, idle_after), refresh
// points spread by refresh_jitter and moved by refresh_in, one refresher and a bounded
// pool of workers for every manager, and authorized_client's params and step-up.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"
#include "../support/jwt_check.hpp"
#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/detail/manager/manager_core.hpp>
#include <oauth2cc/detail/manager/manager_fetch.hpp>
#include <oauth2cc/detail/oauth/cache_key.hpp>

#include <doctest/doctest.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using oauth2cc::error_kind;
using oauth2cc::manual_clock;
using oauth2cc::refresh_policy;
using oauth2cc::token_manager;
using oauth2cc::token_params;
using oauth2cc_test::on_threads;
using oauth2cc_test::thrown_by;
using oauth2cc_test::form_field;
using oauth2cc_test::form_fields;

namespace {

oauth2cc::client_config config() {
    return oauth2cc_test::secret_client("gateway", "S3CRET-entries-4", {"read"});
}

refresh_policy policy() {
    refresh_policy p;
    p.jitter_seed = 7;
    p.refresh_jitter = 0;
    p.new_entries_per_second = 0;  // its own test below
    return p;
}

token_params for_audience(const std::string& audience) {
    auto p = oauth2cc::params_of(config());
    p.audience = audience;
    return p;
}

// A token endpoint whose n-th token for audience A is "A|scope|n", living expires_in;
// it keeps every request body and can hold requests at a gate.
class audience_endpoint : public oauth2cc::transport {
public:
    explicit audience_endpoint(int expires_in = 3600, std::string extra = {})
        : expires_in_(expires_in), extra_(std::move(extra)) {}

    oauth2cc::http_response send(const oauth2cc::http_request& req) override {
        std::unique_lock<std::mutex> lock(mutex_);
        bodies_.push_back(req.body);
        const int n = static_cast<int>(bodies_.size());
        changed_.notify_all();
        changed_.wait(lock, [&] { return open_; });
        if (form_field(req.body, "scope").find("refused") != std::string::npos) {
            return {400,
                    {{"Content-Type", "application/json"}},
                    R"({"error":"invalid_scope","error_description":"not for this client"})"};
        }
        const std::string tok = form_field(req.body, "audience") + "|" +
                                form_field(req.body, "scope") + "|" + std::to_string(n);
        return {200,
                {{"Content-Type", "application/json"}},
                R"({"access_token":")" + tok + R"(","token_type":"Bearer","expires_in":)" +
                    std::to_string(expires_in_) + extra_ + "}"};
    }
    int requests() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return static_cast<int>(bodies_.size());
    }
    std::vector<std::string> bodies() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return bodies_;
    }
    bool wait_for_requests(int n) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, 30s, [&] { return static_cast<int>(bodies_.size()) >= n; });
    }
    void close_gate() {
        const std::lock_guard<std::mutex> lock(mutex_);
        open_ = false;
    }
    void open_gate() {
        const std::lock_guard<std::mutex> lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> bodies_;
    int expires_in_;
    std::string extra_;
    bool open_ = true;
};

// Waits until done() holds, looking again whenever another thread has run; 30 s at most
// as a safety net. The condition is a count that a worker or the refresher changes.
bool eventually(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::yield();
    }
    return true;
}

std::size_t threads_in_process() {
    std::size_t n = 0;
    if (DIR* dir = opendir("/proc/self/task")) {
        while (const dirent* e = readdir(dir)) n += e->d_name[0] != '.';
        closedir(dir);
    }
    return n;
}

}  // namespace

TEST_CASE("token_params: params_of, and order does not matter") {
    auto cfg = config();
    cfg.audience = "https://api.example";
    cfg.resources = {"https://r1", "https://r2"};
    cfg.extra_params = {{"tenant", "t1"}};
    const token_params own = oauth2cc::params_of(cfg);
    CHECK(own.scopes == cfg.scopes);
    CHECK(own.audience == "https://api.example");
    CHECK(own.resources == cfg.resources);
    CHECK(own.extra_params == cfg.extra_params);

    token_params swapped = own;
    swapped.scopes = {"write", "read"};
    token_params same_set = own;
    same_set.scopes = {"read", "write"};
    std::reverse(swapped.resources.begin(), swapped.resources.end());
    CHECK(swapped == same_set);
    CHECK(oauth2cc::detail::params_hash{}(swapped) == oauth2cc::detail::params_hash{}(same_set));
    token_params twice = same_set;
    twice.scopes = {"read", "read"};
    CHECK(twice != same_set);  // as many times each, not merely the same set
    token_params other_extra = own;
    other_extra.extra_params = {{"tenant", "t2"}};
    CHECK(other_extra != own);

    // Extra parameters in another order: one token, one entry, as one store key.
    token_params ab = own, ba = own;
    ab.extra_params = {{"tenant", "t1"}, {"region", "eu"}};
    ba.extra_params = {{"region", "eu"}, {"tenant", "t1"}};
    CHECK(ab == ba);
    CHECK(oauth2cc::detail::params_hash{}(ab) == oauth2cc::detail::params_hash{}(ba));
    CHECK(oauth2cc::detail::cache_key(oauth2cc::detail::with_params(cfg, ab)) ==
          oauth2cc::detail::cache_key(oauth2cc::detail::with_params(cfg, ba)));
    token_params swapped_pair = own;
    swapped_pair.extra_params = {{"t1", "tenant"}};
    CHECK(swapped_pair != own);
    CHECK(oauth2cc::detail::params_hash{}(swapped_pair) != oauth2cc::detail::params_hash{}(own));
    auto endpoint = std::make_shared<audience_endpoint>();
    token_manager m(config(), policy(), endpoint, std::make_shared<manual_clock>());
    m.get(ab);
    m.get(ba);
    CHECK(endpoint->requests() == 1);
    CHECK(m.entries() == 2);  // the config's own, and one for both orders
}

TEST_CASE("token_manager: 50 callers over 10 parameter sets make 10 requests") {
    auto endpoint = std::make_shared<audience_endpoint>();
    token_manager m(config(), policy(), endpoint, std::make_shared<manual_clock>());
    // Enough workers for the 10 requests the gate holds at once: one manager holds at
    // most half of them (4 would run 2, queue 8).
    token_manager::set_refresh_workers(20);
    endpoint->close_gate();
    std::vector<std::string> got(50);
    std::thread callers([&] {
        on_threads(50, [&](int i) {
            got[static_cast<std::size_t>(i)] =
                m.get(for_audience("https://api-" + std::to_string(i % 10)))->access_token.reveal();
        });
    });
    // Every caller waits for its entry's one request, held at the gate.
    CHECK(eventually([&] { return m.stats().waits == 50; }));
    CHECK(endpoint->wait_for_requests(10));  // one per entry, each held at the gate
    endpoint->open_gate();
    callers.join();
    token_manager::set_refresh_workers(4);
    CHECK(endpoint->requests() == 10);
    CHECK(m.entries() == 11);  // the config's own is one too
    for (int i = 0; i < 50; ++i) {
        // Each caller got its own audience's token: entries never serve each other's.
        const std::string audience = "https://api-" + std::to_string(i % 10);
        CHECK(got[static_cast<std::size_t>(i)].rfind(audience + "|read|", 0) == 0);
    }
    std::set<std::string> audiences;
    for (const auto& body : endpoint->bodies()) {
        audiences.insert(form_field(body, "audience"));
        CHECK(form_field(body, "grant_type") == "client_credentials");
        CHECK(form_field(body, "scope") == "read");
    }
    CHECK(audiences.size() == 10);
    // A second round is served from the entries.
    for (int i = 0; i < 10; ++i) m.get(for_audience("https://api-" + std::to_string(i)));
    CHECK(endpoint->requests() == 10);
    const auto stats = m.stats();
    CHECK(stats.entries == 11);
    CHECK(stats.fetches == 10);
    CHECK(stats.successes == 10);
    CHECK(stats.cache_hits >= 10);
}

TEST_CASE("token_manager: a token_params replaces the config's four fields") {
    auto endpoint = std::make_shared<audience_endpoint>();
    auto cfg = config();
    cfg.audience = "https://own";
    cfg.resources = {"https://own-resource"};
    cfg.extra_params = {{"tenant", "own"}};
    token_manager m(cfg, policy(), endpoint, std::make_shared<manual_clock>());

    token_params p;
    p.scopes = {"write", "admin"};
    p.resources = {"https://r2", "https://r1"};
    m.get(p);
    const auto body = endpoint->bodies().back();
    CHECK(form_field(body, "scope") == "write admin");
    CHECK(form_fields(body, "audience").empty());  // an empty field sends none
    CHECK(form_fields(body, "resource") == std::vector<std::string>{"https://r2", "https://r1"});
    CHECK(form_fields(body, "tenant").empty());

    // The same parameters in another order are the same entry: no new request.
    token_params reordered;
    reordered.scopes = {"admin", "write"};
    reordered.resources = {"https://r1", "https://r2"};
    CHECK(m.get(reordered) == m.get(p));
    CHECK(endpoint->requests() == 1);
    // The config's own parameters are the own entry, shared with get().
    const auto own = m.get();
    CHECK(m.get(oauth2cc::params_of(cfg)) == own);
    CHECK(endpoint->requests() == 2);
    CHECK(m.entries() == 2);

    SUBCASE("a scope outside RFC 6749 §3.3 is a config error, and nothing is sent") {
        token_params bad;
        bad.scopes = {"bad\"scope"};
        CHECK(thrown_by([&] { m.get(bad); }).kind() == error_kind::config);
        CHECK(m.try_get(bad) == nullptr);
        CHECK(endpoint->requests() == 2);
    }
    SUBCASE("keyed invalidate drops only that entry's token") {
        const auto keyed = m.get(p);
        m.invalidate(p, keyed.get());
        CHECK(m.get() == own);
        CHECK(m.get(p) != keyed);
        CHECK(endpoint->requests() == 3);
        m.invalidate(for_audience("never-asked"));  // no entry: nothing happens
        CHECK(m.entries() == 2);
    }
    SUBCASE("keyed request_headers carry that entry's token") {
        const auto headers = m.request_headers(p, "GET", "https://api.example/x");
        REQUIRE(headers.size() == 1);
        CHECK(headers[0].second == "Bearer " + m.get(p)->access_token.reveal());
    }
}

TEST_CASE("token_manager: keyed reads answer from each thread's copy, taken back on change") {
    auto endpoint = std::make_shared<audience_endpoint>();
    auto clock = std::make_shared<manual_clock>();
    auto p = policy();
    p.max_entries = 5;  // the own entry counts
    token_manager m(config(), p, endpoint, clock);
    const auto a1 = m.get(for_audience("a"));
    const auto hits = m.stats().cache_hits;
    for (int i = 0; i < 10; ++i) CHECK(m.get(for_audience("a")) == a1);
    CHECK(m.stats().cache_hits == hits + 10);  // each thread's reads are counted
    CHECK(endpoint->requests() == 1);

    // An invalidated token is taken back from the thread's copy.
    m.invalidate(for_audience("a"), a1.get());
    const auto a2 = m.get(for_audience("a"));
    CHECK(a2 != a1);
    CHECK(a2->access_token.reveal() == "a|read|2");
    CHECK(m.get(for_audience("a")) == a2);

    // So is one replaced at its refresh point (lead: 10% of 3600 s).
    clock->advance(3241s);
    const auto a3 = m.get(for_audience("a"));  // still valid: served, refresh started
    CHECK(a3 == a2);
    CHECK(eventually([&] { return !m.stats().in_flight; }));
    CHECK(m.get(for_audience("a"))->access_token.reveal() == "a|read|3");

    // Many threads, each with its copies: entries never serve each other's tokens.
    clock->advance(1s);
    std::atomic<int> wrong{0};
    on_threads(4, [&](int t) {
        for (int i = 0; i < 300; ++i) {
            const std::string audience = "t" + std::to_string((t + i) % 3);
            const auto tok = m.get(for_audience(audience));
            if (tok->access_token.reveal().rfind(audience + "|read|", 0) != 0) ++wrong;
        }
    });
    CHECK(wrong == 0);
    CHECK(m.entries() == 5);  // the own, a, t0, t1, t2
    CHECK(endpoint->requests() == 6);

    // An entry dropped while threads hold copies of it is not read through them again.
    m.get(for_audience("d"));  // beyond 5: a, read least recently, goes
    CHECK(m.stats().evictions == 1);
    CHECK(m.get(for_audience("a"))->access_token.reveal() == "a|read|8");
    CHECK(endpoint->requests() == 8);
}

TEST_CASE("token_manager: a thread reading more parameters than its table holds") {
    auto endpoint = std::make_shared<audience_endpoint>();
    auto p = policy();
    token_manager m(config(), p, endpoint, std::make_shared<manual_clock>());
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 300; ++i) {
            const std::string audience = "k" + std::to_string(i);
            CHECK(m.get(for_audience(audience))->access_token.reveal().rfind(audience + "|", 0) ==
                  0);
        }
    }
    CHECK(endpoint->requests() == 300);
    CHECK(m.entries() == 301);  // and the own
    CHECK(m.stats().cache_hits >= 600);
}

TEST_CASE("token_manager: max_entries drops the least recently read entry, never the own") {
    auto endpoint = std::make_shared<audience_endpoint>();
    auto clock = std::make_shared<manual_clock>();
    auto p = policy();
    p.max_entries = 3;
    token_manager m(config(), p, endpoint, clock);
    m.get();
    const auto a = m.get(for_audience("a"));
    clock->advance(1s);
    m.get(for_audience("b"));
    clock->advance(1s);
    m.get(for_audience("a"));  // a is now read more recently than b
    clock->advance(1s);
    m.get(for_audience("c"));  // beyond 3: b goes
    CHECK(m.entries() == 3);
    CHECK(m.stats().evictions == 1);
    CHECK(endpoint->requests() == 4);
    CHECK(m.get(for_audience("a")) == a);  // still held
    m.get(for_audience("b"));              // asked anew
    CHECK(endpoint->requests() == 5);
    CHECK(m.entries() == 3);
    // The own entry was read least recently of all, and stays.
    const auto own = m.get();
    CHECK(endpoint->requests() == 5);
    CHECK(own->access_token.reveal().rfind("|read|1") != std::string::npos);
    // The counters of dropped entries stay counted.
    CHECK(m.stats().fetches == 5);
}

TEST_CASE("token_manager: new entries per second are bounded; beyond it refused and counted") {
    auto endpoint = std::make_shared<audience_endpoint>();
    auto clock = std::make_shared<manual_clock>();
    auto p = policy();
    p.new_entries_per_second = 5;
    token_manager m(config(), p, endpoint, clock);
    for (int i = 0; i < 5; ++i) m.get(for_audience("n" + std::to_string(i)));
    const auto e = thrown_by([&] { m.get(for_audience("n5")); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("new_entries_per_second") != std::string::npos);
    CHECK(m.stats().entries_refused == 1);
    CHECK(endpoint->requests() == 5);  // the refused one asked nothing
    CHECK(m.get(for_audience("n0"))->access_token.reveal() == "n0|read|1");  // known: served
    CHECK(m.get()->access_token.reveal() == "|read|6");  // the own is no new entry
    clock->advance(200ms);                               // one more allowed
    m.get(for_audience("n5"));
    CHECK(thrown_by([&] { m.get(for_audience("n6")); }).kind() == error_kind::config);
    CHECK(m.stats().entries_refused == 2);
    clock->advance(1s);
    m.get(for_audience("n6"));
    CHECK(m.entries() == 8);
}

TEST_CASE("token_manager: one manager holds at most half the workers; callers go first") {
    token_manager::set_refresh_workers(4);
    SUBCASE("a slow manager's many entries leave another manager workers") {
        auto slow = std::make_shared<audience_endpoint>();
        slow->close_gate();
        token_manager busy(config(), policy(), slow, std::make_shared<manual_clock>());
        for (int i = 0; i < 8; ++i) busy.try_get(for_audience("slow-" + std::to_string(i)));
        REQUIRE(slow->wait_for_requests(2));
        auto quick = std::make_shared<audience_endpoint>();
        token_manager other(config(), policy(), quick, std::make_shared<manual_clock>());
        // At once, though the slow manager's requests are held: a bound only against a hang.
        CHECK(other.get(std::chrono::seconds(20))->access_token.reveal() == "|read|1");
        CHECK(slow->requests() == 2);  // never more than half of 4 at once
        slow->open_gate();
        CHECK(slow->wait_for_requests(8));
    }
    SUBCASE("a caller with no token goes before the background refreshes") {
        token_manager::set_refresh_workers(2);                  // a manager's share: one at a time
        auto endpoint = std::make_shared<audience_endpoint>();  // 3600 s, lead 360 s
        auto clock = std::make_shared<manual_clock>();
        token_manager m(config(), policy(), endpoint, clock);
        m.get(for_audience("e2"));
        m.get(for_audience("e3"));
        endpoint->close_gate();
        CHECK(m.try_get(for_audience("e1")) == nullptr);  // held at the gate
        REQUIRE(endpoint->wait_for_requests(3));
        clock->advance(3300s);  // e2 and e3 are due, and still valid
        CHECK(m.try_get(for_audience("e2")) != nullptr);
        CHECK(m.try_get(for_audience("e3")) != nullptr);
        CHECK(m.try_get(for_audience("e4")) == nullptr);  // a caller has none
        endpoint->open_gate();
        REQUIRE(endpoint->wait_for_requests(6));
        const auto bodies = endpoint->bodies();
        CHECK(form_field(bodies[3], "audience") == "e4");
        CHECK(form_field(bodies[4], "audience") == "e2");
        CHECK(form_field(bodies[5], "audience") == "e3");
    }
    token_manager::set_refresh_workers(4);
}

TEST_CASE("token_manager: idle entries are dropped, the own never") {
    auto endpoint = std::make_shared<audience_endpoint>();
    auto clock = std::make_shared<manual_clock>();
    auto p = policy();
    p.idle_after = 30s;
    token_manager m(config(), p, endpoint, clock);
    m.get();
    m.get(for_audience("a"));
    clock->advance(31s);
    m.get(for_audience("b"));  // making an entry drops those idle
    CHECK(m.entries() == 2);
    CHECK(m.stats().evictions == 1);
    m.get();
    CHECK(endpoint->requests() == 3);
}

TEST_CASE("token_manager: background refresh of entries, and idle ones are not refreshed") {
    auto endpoint = std::make_shared<audience_endpoint>(100);  // lead 50 s
    auto clock = std::make_shared<manual_clock>();
    auto p = policy();
    p.idle_after = 70s;
    token_manager m(config(), p, endpoint, clock);
    m.start_background_refresh();
    REQUIRE(endpoint->wait_for_requests(1));  // the own entry, refreshed with no caller
    m.get(for_audience("a"));
    CHECK(endpoint->requests() == 2);
    clock->advance(50s);  // both refresh points
    REQUIRE(endpoint->wait_for_requests(4));
    CHECK(eventually([&] { return !m.stats().in_flight; }));
    CHECK(m.get(for_audience("a"))->access_token.reveal().rfind("a|read|", 0) == 0);
    clock->advance(75s);  // a was read 75 s ago: idle; its refresh point has passed
    REQUIRE(endpoint->wait_for_requests(5));  // the own entry is refreshed
    CHECK(eventually([&] { return m.entries() == 1; }));
    CHECK(eventually([&] { return !m.stats().in_flight; }));
    CHECK(endpoint->requests() == 5);  // a was dropped, not refreshed
    CHECK(m.stats().evictions == 1);
    m.stop();
}

TEST_CASE("token_manager: refresh points spread by refresh_jitter, and moved by refresh_in") {
    SUBCASE("the process's draws spread 1,000 tokens issued together evenly") {
        // A 72 s window (the 20% jitter of a 360 s lead) in quarter-seconds.
        std::vector<int> buckets(288, 0);
        for (int i = 0; i < 1000; ++i) {
            const double u = oauth2cc::detail::next_spread();
            REQUIRE(u >= 0.0);
            REQUIRE(u < 1.0);
            ++buckets[static_cast<std::size_t>(u * 288)];
        }
        const double mean = 1000.0 / 288.0;
        CHECK(*std::max_element(buckets.begin(), buckets.end()) <= 3 * mean);
    }
    SUBCASE("each refresh point lies between expiry - lead and expiry - 0.8 lead") {
        auto endpoint = std::make_shared<audience_endpoint>();  // 3600 s, lead 360 s
        auto clock = std::make_shared<manual_clock>();
        auto p = policy();
        p.refresh_jitter = 0.2;
        token_manager m(config(), p, endpoint, clock);
        std::vector<token_params> keys;
        for (int i = 0; i < 20; ++i) keys.push_back(for_audience("j" + std::to_string(i)));
        for (const auto& k : keys) m.get(k);
        clock->advance(3240s - 1ms);  // before every window
        for (const auto& k : keys) m.try_get(k);
        CHECK(endpoint->requests() == 20);
        clock->advance(72s + 2ms);  // past every window
        for (const auto& k : keys) m.try_get(k);
        CHECK(endpoint->wait_for_requests(40));
    }
    SUBCASE("refresh_in moves the refresh point earlier, never later") {
        auto early = std::make_shared<audience_endpoint>(3600, R"(,"refresh_in":2000)");
        auto clock = std::make_shared<manual_clock>();
        token_manager m(config(), policy(), early, clock);
        const auto first = m.get();
        clock->advance(1999s);
        CHECK(m.try_get() == first);
        CHECK(early->requests() == 1);
        clock->advance(2s);
        CHECK(m.try_get() == first);  // still valid: served while the refresh runs
        REQUIRE(early->wait_for_requests(2));

        auto late = std::make_shared<audience_endpoint>(3600, R"(,"refresh_in":"7200")");
        token_manager n(config(), policy(), late, clock);
        n.get();
        clock->advance(3241s);  // the lead point, not refresh_in's later one
        n.try_get();
        CHECK(late->wait_for_requests(2));
    }
    SUBCASE("refresh_in never refreshes before half the lifetime has passed") {
        for (const char* asked : {R"(,"refresh_in":0)", R"(,"refresh_in":"100")"}) {
            CAPTURE(asked);
            auto endpoint = std::make_shared<audience_endpoint>(3600, asked);
            auto clock = std::make_shared<manual_clock>();
            token_manager m(config(), policy(), endpoint, clock);
            const auto first = m.get();
            for (int i = 0; i < 10; ++i) CHECK(m.try_get() == first);
            clock->advance(1799s);
            CHECK(m.try_get() == first);
            CHECK(endpoint->requests() == 1);  // no loop of requests at issue time
            clock->advance(2s);
            CHECK(m.try_get() == first);
            CHECK(endpoint->wait_for_requests(2));
        }
    }
}

TEST_CASE("token_manager: thousands of entries refreshed in the background on a few threads") {
    const std::size_t before = threads_in_process();
    auto endpoint = std::make_shared<audience_endpoint>(100);
    auto clock = std::make_shared<manual_clock>();
    auto p = policy();
    p.max_entries = 5000;
    std::vector<std::unique_ptr<token_manager>> managers;
    for (int k = 0; k < 4; ++k) {
        managers.push_back(std::make_unique<token_manager>(config(), p, endpoint, clock));
        managers.back()->start_background_refresh();
        for (int i = 0; i < 500; ++i) managers.back()->get(for_audience(std::to_string(i)));
    }
    clock->advance(60s);  // every entry past its refresh point
    CHECK(endpoint->wait_for_requests(2 * 4 * 501));
    const std::size_t during = threads_in_process();
    CHECK(during <= before + 8);
    for (auto& m : managers) CHECK(m->entries() == 501);
    managers.clear();
}

// A server found by discovery that wants a DPoP nonce: it counts its metadata requests
// and the token requests refused for a missing nonce.
class discovered_dpop_server : public oauth2cc::transport {
public:
    oauth2cc::http_response send(const oauth2cc::http_request& req) override {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (req.url.find("/.well-known/") != std::string::npos) {
            ++metadata_requests;
            return {200,
                    {{"Content-Type", "application/json"}},
                    R"({"issuer":"https://login.example.com","token_endpoint":)"
                    R"("https://login.example.com/token"})"};
        }
        const std::string proof = oauth2cc_test::header_of(req, "DPoP");
        const std::string payload = proof.substr(proof.find('.') + 1);
        std::string claims;
        oauth2cc_examples::base64url_decode(payload.substr(0, payload.find('.')), claims);
        if (claims.find(R"("nonce":"n-1")") == std::string::npos) {
            ++nonce_refusals;
            return {400,
                    {{"Content-Type", "application/json"}, {"DPoP-Nonce", "n-1"}},
                    R"({"error":"use_dpop_nonce"})"};
        }
        ++tokens;
        return {200,
                {{"Content-Type", "application/json"}},
                R"({"access_token":"t-)" + std::to_string(tokens) +
                    R"(","token_type":"DPoP","expires_in":3600})"};
    }

    std::mutex mutex_;
    int metadata_requests = 0;
    int nonce_refusals = 0;
    int tokens = 0;
};

// What one entry learns about the client's server serves them all: an entry holds its
// parameters, not a client of its own (the memory an entry costs, bench/run-peers).
TEST_CASE("token_manager: entries share one discovery and the token endpoint's DPoP nonce") {
    auto server = std::make_shared<discovered_dpop_server>();
    auto cfg = config();
    cfg.token_endpoint.clear();
    cfg.issuer = "https://login.example.com";
    cfg.dpop_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
    token_manager manager(cfg, policy(), server);
    for (int i = 0; i < 20; ++i) {
        auto p = oauth2cc::params_of(cfg);
        p.audience = "https://api-" + std::to_string(i) + ".example.com";
        CHECK(manager.get(p)->token_type == "DPoP");
    }
    CHECK(manager.entries() == 21);
    CHECK(server->tokens == 20);
    CHECK(server->metadata_requests == 1);  // the first entry's discovery, for every entry
    CHECK(server->nonce_refusals == 1);     // the nonce the first entry was given, for all
}

TEST_CASE("token_manager: the refresher's workers are bounded, and a setting") {
    token_manager::set_refresh_workers(0);  // clamped to 1
    CHECK(oauth2cc::detail::refresh_service::instance().workers_limit() == 1);
    token_manager::set_refresh_workers(100000);
    CHECK(oauth2cc::detail::refresh_service::instance().workers_limit() == 256);
    token_manager::set_refresh_workers(4);
    // Policies out of range are config errors.
    auto p = policy();
    p.max_entries = 0;
    CHECK(thrown_by([&] { token_manager(config(), p); }).kind() == error_kind::config);
    p = policy();
    p.refresh_jitter = 1.5;
    CHECK(thrown_by([&] { token_manager(config(), p); }).kind() == error_kind::config);
    p = policy();
    p.idle_after = 0s;
    CHECK(thrown_by([&] { token_manager(config(), p); }).kind() == error_kind::config);
}

// A token endpoint that notes when it is freed, and takes its time about it, as freeing
// a TLS context can: a free that comes late falls after the manager's destructor.
class slow_to_free_endpoint : public oauth2cc::transport {
public:
    explicit slow_to_free_endpoint(std::atomic<bool>& freed) : freed_(freed) {}
    slow_to_free_endpoint(const slow_to_free_endpoint&) = delete;
    slow_to_free_endpoint& operator=(const slow_to_free_endpoint&) = delete;
    ~slow_to_free_endpoint() override {
        std::this_thread::sleep_for(5ms);  // widens the window; no outcome rests on it
        freed_ = true;
    }
    oauth2cc::http_response send(const oauth2cc::http_request&) override {
        return {200,
                {{"Content-Type", "application/json"}},
                R"({"access_token":"tok-freed","token_type":"Bearer","expires_in":3600})"};
    }

private:
    std::atomic<bool>& freed_;
};

TEST_CASE("token_manager: when its destructor returns, no worker holds anything of it") {
    // The fetch ran on a shared worker. Had the worker let go of the entry only after the
    // fetch counted as finished, its config, keys and transport would be freed after the
    // destructor returned: in a program that then ends, while OpenSSL cleans up.
    for (int round = 0; round < 20; ++round) {
        std::atomic<bool> freed{false};
        {
            token_manager tokens(config(), policy(),
                                 std::make_shared<slow_to_free_endpoint>(freed));
            REQUIRE(tokens.get()->access_token.reveal() == "tok-freed");
        }
        CHECK(freed);
    }
}

TEST_CASE("authorized_client: params pick the token; step-up answers insufficient_scope once") {
    auto endpoint = std::make_shared<audience_endpoint>();
    token_manager m(config(), policy(), endpoint, std::make_shared<manual_clock>());
    // The API wants `write` on /admin, and says so (RFC 6750 §3.1).
    auto api =
        std::make_shared<oauth2cc_test::fake_transport>([](const oauth2cc::http_request& req) {
            const std::string auth = oauth2cc_test::header_of(req, "Authorization");
            const bool can_write = auth.find("write") != std::string::npos;
            if (req.url.find("/admin") != std::string::npos && !can_write) {
                return oauth2cc::http_response{
                    403,
                    {{"WWW-Authenticate",
                      R"(Bearer error="insufficient_scope", scope="read write")"}},
                    ""};
            }
            if (req.url.find("/root") != std::string::npos) {
                return oauth2cc::http_response{
                    403,
                    {{"WWW-Authenticate", R"(Bearer error="insufficient_scope", scope="root")"}},
                    ""};
            }
            if (req.url.find("/refused") != std::string::npos &&
                auth.find("refused") == std::string::npos) {
                return oauth2cc::http_response{
                    403,
                    {{"WWW-Authenticate", R"(Bearer error="insufficient_scope", scope="refused")"}},
                    "needs refused"};
            }
            const auto named = req.url.find("/named/");
            if (named != std::string::npos) {
                // Names a scope of the API's choosing, one per path.
                const std::string scope = req.url.substr(named + 7);
                if (auth.find(scope) == std::string::npos) {
                    return oauth2cc::http_response{
                        403,
                        {{"WWW-Authenticate",
                          "Bearer error=\"insufficient_scope\", scope=\"" + scope + "\""}},
                        ""};
                }
            }
            if (req.url.find("/noscope") != std::string::npos) {
                return oauth2cc::http_response{
                    403, {{"WWW-Authenticate", R"(Bearer error="insufficient_scope")"}}, ""};
            }
            return oauth2cc::http_response{200, {}, "ok"};
        });
    oauth2cc::client_options options;
    options.params = for_audience("https://orders");

    SUBCASE("params: the client sends its entry's token") {
        oauth2cc::authorized_client orders("https://orders.example", m, options, api);
        CHECK(orders.get("/list").status == 200);
        CHECK(oauth2cc_test::header_of(api->requests.back(), "Authorization") ==
              "Bearer https://orders|read|1");
        CHECK(m.entries() == 2);
    }
    SUBCASE("without step-up, a 403 comes back as it came") {
        oauth2cc::authorized_client orders("https://orders.example", m, options, api);
        CHECK(orders.get("/admin").status == 403);
        CHECK(api->requests.size() == 1);
        CHECK(endpoint->requests() == 1);
    }
    SUBCASE("with step-up: one new token for the union, kept for later calls") {
        options.step_up_scope = true;
        oauth2cc::authorized_client orders("https://orders.example", m, options, api);
        CHECK(orders.get("/admin").status == 200);
        REQUIRE(api->requests.size() == 2);
        CHECK(oauth2cc_test::header_of(api->requests[1], "Authorization") ==
              "Bearer https://orders|read write|2");
        CHECK(form_field(endpoint->bodies().back(), "scope") == "read write");
        CHECK(orders.get("/admin").status == 200);  // the wider token at once
        CHECK(api->requests.size() == 3);
        CHECK(endpoint->requests() == 2);
        // Never more than once per call: a scope still missing comes back as it came.
        // The challenge replaces the last widening: the client's own scopes plus root.
        CHECK(orders.get("/root").status == 403);
        CHECK(api->requests.size() == 5);
        CHECK(endpoint->requests() == 3);
        CHECK(form_field(endpoint->bodies().back(), "scope") == "read root");
        CHECK(orders.get("/root").status == 403);  // already asked for: no new token
        CHECK(api->requests.size() == 6);
        CHECK(endpoint->requests() == 3);
    }
    SUBCASE("step-up: a wider token the server refuses leaves the client as it was") {
        options.step_up_scope = true;
        oauth2cc::authorized_client orders("https://orders.example", m, options, api);
        CHECK(orders.get("/list").status == 200);
        const auto refused = orders.get("/refused");
        CHECK(refused.status == 403);  // the API's answer, as it came
        CHECK(refused.body == "needs refused");
        CHECK(endpoint->requests() == 2);
        CHECK(form_field(endpoint->bodies().back(), "scope") == "read refused");
        // Calls that worked before still do, with the token they had.
        CHECK(orders.get("/list").status == 200);
        CHECK(oauth2cc_test::header_of(api->requests.back(), "Authorization") ==
              "Bearer https://orders|read|1");
    }
    SUBCASE("step-up is bounded: a new challenge replaces the last, never adds to it") {
        options.step_up_scope = true;
        oauth2cc::authorized_client orders("https://orders.example", m, options, api);
        for (int i = 0; i < 40; ++i) {
            CHECK(orders.get("/named/s" + std::to_string(i)).status == 200);
        }
        CHECK(endpoint->requests() == 41);  // the first token, then one per challenge
        // Each token was for the client's own scope and the one named, never 41 scopes.
        CHECK(form_field(endpoint->bodies().back(), "scope") == "read s39");
        CHECK(oauth2cc_test::header_of(api->requests.back(), "Authorization") ==
              "Bearer https://orders|read s39|41");
    }
    SUBCASE("step_up_scopes: only the scopes listed are added") {
        options.step_up_scope = true;
        options.step_up_scopes = {"write"};
        oauth2cc::authorized_client orders("https://orders.example", m, options, api);
        CHECK(orders.get("/root").status == 403);  // root is not listed: as it came
        CHECK(api->requests.size() == 1);
        CHECK(endpoint->requests() == 1);
        CHECK(orders.get("/admin").status == 200);  // "read write": write is listed
        CHECK(form_field(endpoint->bodies().back(), "scope") == "read write");
    }
    SUBCASE("step-up: a challenge that names no scope comes back as it came") {
        options.step_up_scope = true;
        oauth2cc::authorized_client orders("https://orders.example", m, options, api);
        CHECK(orders.get("/noscope").status == 403);
        CHECK(api->requests.size() == 1);
        CHECK(endpoint->requests() == 1);
    }
}
