// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_manager.cpp: the token holder with a fake endpoint and a manual clock:
// one request for many callers, refresh inside the lead window without waiting,
// backoff, Retry-After, background refresh, invalidation, stats and logs.
// SPDX-License-Identifier: MIT

#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/detail/manager/coarse_clock.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <future>
#include <utility>
#include <mutex>
#include <optional>
#include <ratio>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using oauth2cc::error;
using oauth2cc::error_kind;
using oauth2cc::manual_clock;
using oauth2cc::refresh_policy;
using oauth2cc::token_manager;
using oauth2cc_test::log_watch;
using oauth2cc_test::token_endpoint_fake;
using oauth2cc_test::on_threads;
using oauth2cc_test::thrown_by;

namespace {

oauth2cc::client_config config() {
    return oauth2cc_test::secret_client("reporting-job", "S3CRET-value-9", {"read_date"});
}

// Refresh points exactly at the lead (no refresh_jitter), so that a test knows them.
refresh_policy seeded_policy() {
    refresh_policy p;
    p.jitter_seed = 42;
    p.refresh_jitter = 0;
    return p;
}

struct rig {
    std::shared_ptr<token_endpoint_fake> endpoint = std::make_shared<token_endpoint_fake>();
    std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
    log_watch logs;
    std::unique_ptr<token_manager> manager;

    explicit rig(refresh_policy policy = seeded_policy()) {
        manager = std::make_unique<token_manager>(config(), policy, endpoint, clock);
        manager->set_logger(logs.sink());
    }
    std::string token_text() { return manager->get()->access_token.reveal(); }
};

}  // namespace

TEST_CASE("token_manager: the lead before expiry") {
    refresh_policy p;  // early 60 s, fraction 0.1
    CHECK(token_manager::lead_for(3600s, p) == 360s);
    CHECK(token_manager::lead_for(600s, p) == 60s);
    CHECK(token_manager::lead_for(100s, p) == 50s);  // never more than half the lifetime
    CHECK(token_manager::lead_for(30s, p) == 15s);
    p.early = 0s;
    p.early_fraction = 0;
    CHECK(token_manager::lead_for(3600s, p) == 0s);
}

TEST_CASE("token_manager: 64 threads on a cold manager make exactly 1 request") {
    rig r;
    r.endpoint->close_gate();
    std::vector<std::string> got(64);
    std::thread opener([&] {
        r.endpoint->wait_for_requests(1);
        r.endpoint->open_gate();
    });
    on_threads(64, [&](int i) { got[static_cast<std::size_t>(i)] = r.token_text(); });
    opener.join();
    CHECK(r.endpoint->requests() == 1);
    CHECK(std::set<std::string>(got.begin(), got.end()) == std::set<std::string>{"tok-1"});

    SUBCASE("and exactly 1 more at expiry") {
        r.clock->advance(3601s);
        r.endpoint->close_gate();
        std::thread opener2([&] {
            r.endpoint->wait_for_requests(2);
            r.endpoint->open_gate();
        });
        on_threads(64, [&](int i) { got[static_cast<std::size_t>(i)] = r.token_text(); });
        opener2.join();
        CHECK(r.endpoint->requests() == 2);
        CHECK(std::set<std::string>(got.begin(), got.end()) == std::set<std::string>{"tok-2"});
    }
}

TEST_CASE("token_manager: inside the lead window one refresh runs and no caller waits") {
    rig r;
    CHECK(r.token_text() == "tok-1");
    // tok-1 lives 3600 s; the lead is 360 s, so the window opens at 3240 s.
    r.clock->advance(3300s);
    r.endpoint->close_gate();  // the refresh cannot finish while the callers run

    std::vector<std::set<std::string>> seen(16);
    std::mutex m;
    std::condition_variable done;
    bool finished = false;
    std::thread callers([&] {
        on_threads(16, [&](int i) {
            for (int k = 0; k < 200; ++k) seen[static_cast<std::size_t>(i)].insert(r.token_text());
        });
        std::lock_guard<std::mutex> lock(m);
        finished = true;
        done.notify_all();
    });
    // Had any caller waited for the held refresh, the callers could not finish before the
    // gate opens. The gate opens once they have finished, or after 30 s as a safety net
    // so that a broken build fails instead of hanging.
    r.endpoint->wait_for_requests(2);
    bool callers_finished_while_refresh_held = false;
    {
        std::unique_lock<std::mutex> lock(m);
        callers_finished_while_refresh_held = done.wait_for(lock, 30s, [&] { return finished; });
    }
    r.endpoint->open_gate();
    callers.join();

    CHECK(callers_finished_while_refresh_held);
    for (const auto& s : seen) CHECK(s == std::set<std::string>{"tok-1"});
    const auto st = r.manager->stats();
    CHECK(st.waits == 1);  // the very first get(), on a cold manager
    REQUIRE(r.logs.wait_successes(2));
    CHECK(r.endpoint->requests() == 2);
    CHECK(r.token_text() == "tok-2");
}

TEST_CASE("token_manager: callers waiting on one failed request all get its error") {
    rig r;
    r.endpoint->answer_with(
        [](int) { return token_endpoint_fake::error_response(400, "invalid_scope"); });
    r.endpoint->close_gate();
    std::vector<std::string> codes(16);
    std::thread opener([&] {
        r.endpoint->wait_for_requests(1);
        r.endpoint->open_gate();
    });
    on_threads(16, [&](int i) {
        try {
            r.manager->get();
        } catch (const error& e) {
            codes[static_cast<std::size_t>(i)] = e.oauth_error();
        }
    });
    opener.join();
    CHECK(r.endpoint->requests() == 1);
    CHECK(std::set<std::string>(codes.begin(), codes.end()) ==
          std::set<std::string>{"invalid_scope"});
}

TEST_CASE("token_manager: get(max_wait) bounds the wait") {
    rig r;
    r.endpoint->close_gate();
    std::optional<error> caught;
    std::thread caller([&] {
        try {
            r.manager->get(5000ms);
        } catch (const error& e) {
            caught = e;
        }
    });
    REQUIRE(r.endpoint->wait_for_requests(1));
    r.clock->advance(4s);  // not yet
    r.clock->advance(2s);  // past max_wait
    caller.join();
    REQUIRE(caught);
    CHECK(caught->kind() == error_kind::transport);
    CHECK(std::string(caught->what()).find("max_wait") != std::string::npos);
    SUBCASE("and the request it gave up on still lands for the next caller") {
        r.endpoint->open_gate();
        REQUIRE(r.logs.wait_successes(1));
        CHECK(r.token_text() == "tok-1");
        CHECK(r.endpoint->requests() == 1);
    }
    SUBCASE("a zero wait gives up at once") {
        CHECK(thrown_by([&] { r.manager->get(0ms); }).kind() == error_kind::transport);
        r.endpoint->open_gate();
    }
}

TEST_CASE("token_manager: backoff with full jitter between failed requests") {
    refresh_policy p = seeded_policy();
    p.retry_initial = 1000ms;
    p.retry_max = 60000ms;
    rig r(p);
    r.endpoint->answer_with(
        [](int) { return token_endpoint_fake::error_response(503, "temporarily_unavailable"); });

    std::vector<std::chrono::milliseconds> delays;
    for (int failure = 1; failure <= 12; ++failure) {
        CAPTURE(failure);
        CHECK(thrown_by([&] { r.manager->get(); }).oauth_error() == "temporarily_unavailable");
        CHECK(r.endpoint->requests() == failure);
        const auto st = r.manager->stats();
        CHECK(st.consecutive_failures == static_cast<std::uint64_t>(failure));
        REQUIRE(st.next_attempt);
        const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*st.next_attempt -
                                                                                 r.clock->now());
        const auto ceiling = std::min<std::chrono::milliseconds>(
            60000ms, 1000ms * (1LL << std::min(failure - 1, 20)));
        CHECK(delay >= 0ms);
        CHECK(delay <= ceiling);
        delays.push_back(delay);
        // Between attempts callers get the last error at once and make no request.
        if (delay > 0ms) {
            r.clock->advance(delay - 1ms);
            const auto fast = thrown_by([&] { r.manager->get(); });
            CHECK(fast.oauth_error() == "temporarily_unavailable");
            // It says that no request was made, when the next one is, and the last error.
            const std::string what = fast.what();
            CHECK_MESSAGE(what.find("no token request was made: after " + std::to_string(failure) +
                                    " failed request(s) the next is in 1 ms") != std::string::npos,
                          what);
            CHECK(what.find("the last one: the token endpoint answered temporarily_unavailable") !=
                  std::string::npos);
            CHECK(r.endpoint->requests() == failure);
            r.clock->advance(1ms);
        }
    }
    // Jitter: the waits are not one fixed sequence of doublings.
    CHECK(std::set<std::chrono::milliseconds>(delays.begin(), delays.end()).size() > 6);
    CHECK(r.manager->stats().fast_failures > 0);
    CHECK(r.manager->stats().retries == 11);

    SUBCASE("recovery once the server is back") {
        r.endpoint->answer_with([](int n) { return token_endpoint_fake::token_response(n); });
        CHECK(r.token_text() == "tok-13");
        const auto st = r.manager->stats();
        CHECK(st.consecutive_failures == 0);
        CHECK_FALSE(st.next_attempt);
        CHECK(st.successes == 1);
        CHECK(st.failures == 12);
    }
}

TEST_CASE("token_manager: Retry-After is honoured") {
    refresh_policy p = seeded_policy();
    p.retry_initial = 100ms;
    p.retry_max = 1000ms;
    rig r(p);
    r.endpoint->answer_with([](int n) {
        if (n == 1) {
            return token_endpoint_fake::error_response(429, "slow_down", {{"Retry-After", "30"}});
        }
        return token_endpoint_fake::token_response(n);
    });
    CHECK(thrown_by([&] { r.manager->get(); }).retry_after() == 30s);
    const auto st = r.manager->stats();
    REQUIRE(st.next_attempt);
    CHECK(*st.next_attempt - r.clock->now() == 30s);  // above retry_max: the server said so
    r.clock->advance(29s);
    CHECK(thrown_by([&] { r.manager->get(); }).retry_after() == 30s);
    CHECK(r.endpoint->requests() == 1);
    r.clock->advance(1s);
    CHECK(r.token_text() == "tok-2");
}

TEST_CASE("token_manager: errors that retrying cannot cure wait retry_max") {
    for (const char* code : {"invalid_client", "unauthorized_client", "invalid_scope",
                             "invalid_grant", "unsupported_grant_type"}) {
        CAPTURE(code);
        refresh_policy p = seeded_policy();
        p.retry_max = 45000ms;
        rig r(p);
        r.endpoint->answer_with(
            [code](int) { return token_endpoint_fake::error_response(400, code); });
        CHECK(thrown_by([&] { r.manager->get(); }).oauth_error() == code);
        const auto st = r.manager->stats();
        REQUIRE(st.next_attempt);
        CHECK(*st.next_attempt - r.clock->now() == 45s);
    }
}

TEST_CASE("token_manager: requests over a simulated hour of failures stay bounded") {
    rig r;  // retry_initial 1 s, retry_max 60 s
    r.endpoint->answer_with(
        [](int) { return token_endpoint_fake::error_response(503, "unavailable"); });
    int errors = 0;
    // A caller every 100 ms for an hour: 36,000 calls.
    for (int i = 0; i < 36000; ++i) {
        try {
            r.manager->get();
        } catch (const error&) {
            ++errors;
        }
        r.clock->advance(100ms);
    }
    CHECK(errors == 36000);
    const int requests = r.endpoint->requests();
    MESSAGE("requests in a simulated hour of failures: " << requests);
    // Full jitter averages half of retry_max once capped: about 120 an hour, and never
    // anything like one per caller.
    CHECK(requests >= 60);
    CHECK(requests <= 250);
}

TEST_CASE("token_manager: a valid token keeps being served while refreshing fails") {
    rig r;
    CHECK(r.token_text() == "tok-1");
    r.endpoint->answer_with(
        [](int) { return token_endpoint_fake::error_response(503, "unavailable"); });
    r.clock->advance(3300s);  // inside the lead window
    CHECK(r.token_text() == "tok-1");
    REQUIRE(r.logs.wait_failures(1));
    for (int i = 0; i < 50; ++i) {
        r.clock->advance(5s);  // up to 3550 s: still valid
        CHECK(r.token_text() == "tok-1");
    }
    CHECK(r.manager->stats().waits == 1);
    const int before = r.endpoint->requests();
    CHECK(before >= 2);
    // Expired: callers now see the failure.
    r.clock->set(r.clock->now() + 100s);
    const error e = thrown_by([&] { r.manager->get(); });
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "unavailable");
}

TEST_CASE("token_manager: a missing expires_in means lifetime_if_unknown") {
    refresh_policy p = seeded_policy();
    p.lifetime_if_unknown = 300s;
    rig r(p);
    r.endpoint->answer_with([](int n) {
        return oauth2cc::http_response{
            200,
            {{"Content-Type", "application/json"}},
            R"({"access_token":"tok-)" + std::to_string(n) + R"(","token_type":"Bearer"})"};
    });
    CHECK(r.token_text() == "tok-1");
    r.clock->advance(239s);  // the lead is 60 s: not yet in the window
    CHECK(r.token_text() == "tok-1");
    CHECK(r.endpoint->requests() == 1);
    r.clock->advance(62s);  // expired: never "valid forever"
    CHECK(r.token_text() == "tok-2");
}

TEST_CASE("token_manager: background refresh keeps the token fresh with no caller waiting") {
    rig r;
    r.endpoint->answer_with([](int n) { return token_endpoint_fake::token_response(n, 100); });
    r.manager->start_background_refresh();
    REQUIRE(r.logs.wait_successes(1));
    // Lifetime 100 s, lead 50 s: the background thread refreshes every 50 s.
    for (int k = 1; k <= 6; ++k) {  // three lifetimes
        CAPTURE(k);
        CHECK(r.token_text() == "tok-" + std::to_string(k));
        r.clock->advance(25s);
        CHECK(r.token_text() == "tok-" + std::to_string(k));
        r.clock->advance(25s);  // the lead point
        REQUIRE(r.logs.wait_successes(k + 1));
        const auto t = r.manager->get();
        REQUIRE(t->expires_at());
        CHECK(*t->expires_at() > r.clock->now());
    }
    const auto st = r.manager->stats();
    CHECK(st.waits == 0);
    CHECK(st.fetches == 7);
    r.manager->stop();
}

TEST_CASE("token_manager: stop() ends background refresh promptly while it sleeps") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    log_watch logs;
    token_manager m(config(), seeded_policy(), endpoint);  // the steady clock
    m.set_logger(logs.sink());
    m.start_background_refresh();
    REQUIRE(logs.wait_successes(1));
    // The thread now sleeps until the lead point, almost an hour away: stop() returning
    // at all (the safety bound is a minute, far short of the hour) shows it woke it.
    const auto returns = [](auto&& call) {
        auto done = std::async(std::launch::async, std::forward<decltype(call)>(call));
        return done.wait_for(std::chrono::minutes(1)) == std::future_status::ready;
    };
    CHECK(returns([&] { m.stop(); }));
    CHECK(m.get()->access_token.reveal() == "tok-1");
    SUBCASE("and the destructor does the same") {
        m.start_background_refresh();
        auto other = std::make_unique<token_manager>(config(), seeded_policy(), endpoint);
        other->start_background_refresh();
        CHECK(returns([&] { other.reset(); }));
    }
}

TEST_CASE("token_manager: invalidate(seen) drops only the token the caller saw") {
    rig r;
    const auto first = r.manager->get();
    CHECK(first->access_token.reveal() == "tok-1");
    oauth2cc::token unrelated;
    r.manager->invalidate(&unrelated);
    CHECK(r.token_text() == "tok-1");
    CHECK(r.endpoint->requests() == 1);

    // Many callers refused with tok-1 make one new request between them.
    on_threads(8, [&](int) { r.manager->invalidate(first.get()); });
    CHECK(r.token_text() == "tok-2");
    r.manager->invalidate(first.get());  // stale: tok-2 stays
    CHECK(r.token_text() == "tok-2");
    CHECK(r.endpoint->requests() == 2);
    r.clock->advance(61s);  // tok-2 has been in use past retry_max: no evidence
    r.manager->invalidate();
    CHECK(r.token_text() == "tok-3");
    SUBCASE("two young tokens in a row rejected: the guard keeps the second for a while") {
        r.manager->invalidate();  // tok-3, young: the first of a row
        CHECK(r.token_text() == "tok-4");
        r.manager->invalidate();  // tok-4, young: the second; the guard keeps it
        r.manager->invalidate();
        CHECK(r.token_text() == "tok-4");
        CHECK(r.endpoint->requests() == 4);
        CHECK_FALSE(r.manager->stats().last_error);
        // Once the guard has passed, the kept token goes and its successor comes; that
        // one gets its chance before the guard can begin again.
        r.clock->advance(61s);
        r.manager->invalidate();
        CHECK(r.token_text() == "tok-5");
        r.manager->invalidate();
        CHECK(r.token_text() == "tok-5");
        CHECK(r.endpoint->requests() == 5);
    }
}

TEST_CASE("token_manager: authorization_header and stats") {
    rig r;
    CHECK(r.manager->authorization_header() == "Bearer tok-1");
    for (int i = 0; i < 10; ++i) r.manager->get();
    const auto st = r.manager->stats();
    CHECK(st.fetches == 1);
    CHECK(st.successes == 1);
    CHECK(st.failures == 0);
    CHECK(st.waits == 1);
    CHECK(st.cache_hits == 10);
    CHECK_FALSE(st.last_error);
}

TEST_CASE("token_manager: log lines name client and host, never the secret or a token") {
    rig r;
    r.endpoint->answer_with([](int n) {
        if (n == 1) return token_endpoint_fake::error_response(503, "unavailable");
        return token_endpoint_fake::token_response(n);
    });
    CHECK(thrown_by([&] { r.manager->get(); }).kind() == error_kind::oauth);
    r.clock->advance(2s);
    CHECK(r.token_text() == "tok-2");
    // A line is delivered after its outcome is published, so wait for both.
    REQUIRE(r.logs.wait_failures(1));
    REQUIRE(r.logs.wait_successes(1));
    const auto lines = r.logs.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].first == oauth2cc::log_level::warning);
    CHECK(lines[1].first == oauth2cc::log_level::info);
    for (const auto& entry : lines) {
        const std::string& line = entry.second;
        CAPTURE(line);
        CHECK(line.find("reporting-job") != std::string::npos);
        CHECK(line.find("auth.example.com:443") != std::string::npos);
        CHECK(line.find("S3CRET") == std::string::npos);
        CHECK(line.find("tok-") == std::string::npos);
    }
    CHECK(lines[0].second.find("HTTP 503") != std::string::npos);
}

TEST_CASE("token_manager: the cache key covers what shapes a token and nothing secret") {
    const auto key = [](const oauth2cc::client_config& cfg) {
        return token_manager(cfg, {}, std::make_shared<token_endpoint_fake>()).cache_key();
    };
    const auto base = config();
    const std::string k = key(base);
    CHECK(k.find("S3CRET") == std::string::npos);

    auto same = base;
    same.scopes = {"read_date", "read_date"};
    same.client_secret = oauth2cc::secret{"another"};
    same.read_timeout = 1s;
    CHECK(key(same) == k);

    auto a = base, b = base;
    a.scopes = {"x", "y"};
    b.scopes = {"y", "x"};
    CHECK(key(a) == key(b));

    std::vector<oauth2cc::client_config> different(7, base);
    different[0].token_endpoint = "https://auth.example.com/other";
    different[1].client_id = "another-job";
    different[2].auth = oauth2cc::auth_method::client_secret_post;
    different[3].scopes = {"post_echo"};
    different[4].audience = "api";
    different[5].resources = {"urn:x"};
    different[6].extra_params = {{"tenant", "t1"}};
    std::set<std::string> keys{k};
    for (const auto& cfg : different) keys.insert(key(cfg));
    CHECK(keys.size() == 8);
}

TEST_CASE("token_manager: unusable policies and configurations are refused") {
    const auto refused = [](const oauth2cc::client_config& cfg, const refresh_policy& p) {
        return thrown_by([&] { token_manager(cfg, p, std::make_shared<token_endpoint_fake>()); })
            .kind();
    };
    refresh_policy p;
    p.early_fraction = 1.0;
    CHECK(refused(config(), p) == error_kind::config);
    p = {};
    p.retry_max = 10ms;
    CHECK(refused(config(), p) == error_kind::config);
    p = {};
    p.lifetime_if_unknown = 0s;
    CHECK(refused(config(), p) == error_kind::config);
    auto cfg = config();
    cfg.client_id.clear();
    CHECK(refused(cfg, {}) == error_kind::config);
    SUBCASE("durations so long that a time point plus them would overflow") {
        using years = std::chrono::duration<std::int64_t, std::ratio<31556952>>;
        p = {};
        p.retry_max = std::chrono::duration_cast<std::chrono::milliseconds>(years(300));
        CHECK(refused(config(), p) == error_kind::config);
        p = {};
        p.early = std::chrono::duration_cast<std::chrono::seconds>(years(300));
        CHECK(refused(config(), p) == error_kind::config);
        p = {};
        p.lifetime_if_unknown = std::chrono::duration_cast<std::chrono::seconds>(years(300));
        CHECK(refused(config(), p) == error_kind::config);
        cfg = config();
        cfg.read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(years(300));
        CHECK(refused(cfg, {}) == error_kind::config);
        cfg = config();
        cfg.connect_timeout = std::chrono::hours(25);
        CHECK(refused(cfg, {}) == error_kind::config);
    }
}

TEST_CASE("token_manager: get() with a wait of centuries waits, and does not overflow") {
    using years = std::chrono::duration<std::int64_t, std::ratio<31556952>>;
    rig r;
    r.endpoint->close_gate();
    std::optional<std::string> got;
    std::thread caller([&] {
        try {
            got = r.manager->get(std::chrono::duration_cast<std::chrono::milliseconds>(years(300)))
                      ->access_token.reveal();
        } catch (const error& e) {
            got = std::string("error: ") + e.what();
        }
    });
    REQUIRE(r.endpoint->wait_for_requests(1));
    r.clock->advance(std::chrono::hours(24 * 365));
    r.endpoint->open_gate();
    caller.join();
    CHECK(got == "tok-1");
}

TEST_CASE("manual_clock: moves only when told, and tells its subscribers") {
    manual_clock clock;
    const auto t0 = clock.now();
    int calls = 0;
    const auto id = clock.subscribe([&] { ++calls; });
    clock.advance(5s);
    CHECK(clock.now() - t0 == 5s);
    clock.set(t0);  // never backwards
    CHECK(clock.now() - t0 == 5s);
    CHECK(calls == 2);
    clock.unsubscribe(id);
    clock.advance(1s);
    CHECK(calls == 2);
}

TEST_CASE("token_manager: a logger may call back into its manager after a failure") {
    // The logger moves time past the backoff and asks for a token: a request would need
    // the very thread the logger runs on, so get() answers at once instead of waiting.
    auto endpoint = std::make_shared<token_endpoint_fake>();
    endpoint->answer_with([](int) { return token_endpoint_fake::error_response(503, "busy"); });
    auto clock = std::make_shared<manual_clock>();
    // Declared before the manager: its threads may log until it is destroyed.
    std::promise<std::string> logged;
    std::atomic<bool> once{false};
    token_manager manager(config(), seeded_policy(), endpoint, clock);
    manager.set_logger([&](oauth2cc::log_level, std::string_view line) {
        if (line.find("failed") == std::string_view::npos || once.exchange(true)) return;
        clock->advance(1h);
        std::string outcome;
        try {
            manager.get();
            outcome = "a token";
        } catch (const error& e) {
            outcome = e.oauth_error();
        }
        try {
            manager.stop();
        } catch (const error& e) {
            outcome += e.kind() == error_kind::config ? " / stop refused" : " / stop: other";
        }
        logged.set_value(outcome);
    });
    SUBCASE("on a worker") {
        CHECK(thrown_by([&] { manager.get(); }).oauth_error() == "busy");
    }
    SUBCASE("on the background thread") {
        manager.start_background_refresh();
        CHECK(thrown_by([&] { manager.get(); }).oauth_error() == "busy");
    }
    auto outcome = logged.get_future();
    // A safety net only: the logger returns at once, or the manager is deadlocked.
    REQUIRE(outcome.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    CHECK(outcome.get() == "busy / stop refused");
}

namespace {

// Threads that stay alive between rounds of reads, as a server's pool does: each round,
// every thread reads one token, keeps only a weak reference to the copy it got, and
// parks again.
class parked_readers {
public:
    parked_readers(int n, token_manager*& manager)
        : manager_(manager), seen_(static_cast<std::size_t>(n)) {
        for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { park(i); });
    }
    ~parked_readers() {
        {
            std::lock_guard<std::mutex> lock(m_);
            quit_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    // Runs one round and returns the copies' weak references once every thread has read.
    std::vector<std::weak_ptr<const oauth2cc::token>> round() {
        std::unique_lock<std::mutex> lock(m_);
        ++round_;
        done_ = 0;
        cv_.notify_all();
        cv_.wait(lock, [&] { return done_ == threads_.size(); });
        return seen_;
    }

private:
    void park(int i) {
        int last = 0;
        for (;;) {
            std::unique_lock<std::mutex> lock(m_);
            cv_.wait(lock, [&] { return quit_ || round_ != last; });
            if (quit_) return;
            last = round_;
            lock.unlock();
            std::weak_ptr<const oauth2cc::token> weak = manager_->get();
            lock.lock();
            seen_[static_cast<std::size_t>(i)] = weak;
            ++done_;
            cv_.notify_all();
        }
    }
    token_manager*& manager_;
    std::mutex m_;
    std::condition_variable cv_;
    int round_ = 0;
    std::size_t done_ = 0;
    bool quit_ = false;
    std::vector<std::weak_ptr<const oauth2cc::token>> seen_;
    std::vector<std::thread> threads_;
};

bool all_gone(const std::vector<std::weak_ptr<const oauth2cc::token>>& seen) {
    for (const auto& w : seen) {
        if (!w.expired()) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("token_manager: no thread's cache keeps a replaced, invalidated or destroyed token") {
    rig r;
    token_manager* manager = r.manager.get();
    parked_readers readers(4, manager);

    auto first = readers.round();
    // The callers dropped their copies; each thread's cache still holds the token, so the
    // next read on that thread copies no shared count.
    for (const auto& w : first) CHECK_FALSE(w.expired());
    CHECK(r.endpoint->requests() == 1);

    SUBCASE("replaced by a refresh") {
        r.clock->advance(3300s);  // inside the lead window
        r.manager->get();         // starts the refresh
        REQUIRE(r.logs.wait_successes(2));
        CHECK(all_gone(first));
        const auto second = readers.round();
        for (const auto& w : second) CHECK(w.lock()->access_token.reveal() == "tok-2");
    }
    SUBCASE("invalidated") {
        r.manager->invalidate();
        CHECK(all_gone(first));
        const auto second = readers.round();
        for (const auto& w : second) CHECK(w.lock()->access_token.reveal() == "tok-2");
        r.clock->advance(61s);  // in use past retry_max: no evidence for the rejection guard
        r.manager->invalidate();
        CHECK(all_gone(second));
    }
    SUBCASE("with its manager destroyed") {
        r.manager.reset();
        CHECK(all_gone(first));
    }
    SUBCASE("a copy a caller holds stays whole") {
        const auto held = r.manager->get();
        r.manager->invalidate();
        CHECK(all_gone(first));
        CHECK(held->access_token.reveal() == "tok-1");
    }
}

TEST_CASE("token_manager: readers on many threads while the token changes under them") {
    rig r;
    std::atomic<bool> stop{false};
    std::atomic<int> reads{0};
    std::thread changer([&] {
        // A bounded number of changes, each after the readers have read since the last.
        for (int k = 0; k < 200; ++k) {
            const int before = reads.load();
            while (reads.load() < before + 8) std::this_thread::yield();
            r.clock->advance(61s);  // past retry_max: each rejection is an isolated one
            r.manager->invalidate();
        }
        stop = true;
    });
    std::atomic<int> bad{0};
    on_threads(4, [&](int) {
        while (!stop.load()) {
            const auto t = r.manager->get();
            if (!t || t->access_token.reveal().rfind("tok-", 0) != 0) bad.fetch_add(1);
            reads.fetch_add(1);
        }
    });
    changer.join();
    CHECK(bad.load() == 0);
    // The readers may stop before any of them reads after the last change; one more read
    // makes its request if none did, so the count is exact either way.
    CHECK(r.manager->get()->access_token.reveal().rfind("tok-", 0) == 0);
    CHECK(r.endpoint->requests() == 201);
}

TEST_CASE("token_manager: on the system clock, no token is served at or past its expiry") {
    // Tokens of 2 s with no refresh lead: each is served from the caches until the moment
    // it expires, the coarse clock answering the first second and steady_clock the rest.
    // A time taken before each get() must be before the expiry of the token it returns.
    auto endpoint = std::make_shared<token_endpoint_fake>();
    endpoint->answer_with([](int n) { return token_endpoint_fake::token_response(n, 2); });
    refresh_policy policy = seeded_policy();
    policy.early = 0s;
    policy.early_fraction = 0.0;
    token_manager manager(config(), policy, endpoint);
    std::atomic<long> late{0}, reads{0};
    on_threads(2, [&](int) {
        // Ends at the third request, about four seconds in; the bound (minutes of reads at
        // any speed this loop can run) only keeps a broken manager from looping forever.
        for (long i = 0; i < 4'000'000'000L && endpoint->requests() < 3; ++i) {
            const auto before = std::chrono::steady_clock::now();
            const auto t = manager.get();
            if (before >= t->obtained_at + std::chrono::seconds(*t->expires_in)) late.fetch_add(1);
            reads.fetch_add(1, std::memory_order_relaxed);
        }
    });
    CHECK(endpoint->requests() >= 3);
    CHECK(late.load() == 0);
    MESSAGE("reads across three token lifetimes: " << reads.load());
}

TEST_CASE("token_manager: the coarse clock is trusted only up to its guard before expiry") {
    namespace d = oauth2cc::detail;
    using tp = d::coarse_clock::time_point;
    const tp issued{std::chrono::hours(5)};
    // Refresh point well before expiry: the refresh point itself.
    CHECK(d::coarse_until(issued + 3540s, issued + 3600s) == issued + 3540s);
    // No lead: the guard before expiry.
    CHECK(d::coarse_until(issued + 3600s, issued + 3600s) ==
          issued + 3600s - d::coarse_clock::guard);
    // A token shorter than the guard: never from the coarse clock.
    CHECK(d::coarse_until(issued + 500ms, issued + 500ms) < issued);
#if defined(__linux__)
    REQUIRE(d::coarse_clock::available());
    // Never ahead of steady_clock, and behind it by less than the guard.
    for (int i = 0; i < 10000; ++i) {
        const tp coarse = d::coarse_clock::now();
        const tp fine = std::chrono::steady_clock::now();
        REQUIRE(coarse <= fine);
        REQUIRE(fine - coarse < d::coarse_clock::guard);
    }
#endif
}

TEST_CASE("token_manager: cached reads are counted on every thread, ended threads too") {
    rig r;
    r.manager->get();  // the first read waits for the request
    constexpr int per_thread = 1000;
    on_threads(4, [&](int) {
        for (int i = 0; i < per_thread; ++i) r.manager->get();
    });
    CHECK(r.manager->stats().cache_hits == 4 * per_thread);
    CHECK(r.manager->stats().waits == 1);
    // A new thread's cell takes the place of the ended ones; their reads stay counted.
    std::thread([&] {
        for (int i = 0; i < per_thread; ++i) r.manager->get();
    }).join();
    CHECK(r.manager->stats().cache_hits == 5 * per_thread);
    for (int i = 0; i < 10; ++i) r.manager->get();
    CHECK(r.manager->stats().cache_hits == 5 * per_thread + 10);
}

TEST_CASE("token_manager: one thread reading from many managers gets each its own token") {
    rig a, b;
    b.endpoint->answer_with([](int n) { return token_endpoint_fake::token_response(100 + n); });
    for (int i = 0; i < 5; ++i) {
        CHECK(a.token_text() == "tok-1");
        CHECK(b.token_text() == "tok-101");
    }
    // A manager made after another is destroyed (perhaps at its address) never sees the
    // other's token in this thread's cache.
    for (int k = 0; k < 5; ++k) {
        auto endpoint = std::make_shared<token_endpoint_fake>();
        endpoint->answer_with(
            [k](int n) { return token_endpoint_fake::token_response(1000 * (k + 2) + n); });
        auto fresh = std::make_unique<token_manager>(config(), seeded_policy(), endpoint,
                                                     std::make_shared<manual_clock>());
        CHECK(fresh->get()->access_token.reveal() == "tok-" + std::to_string(1000 * (k + 2) + 1));
        CHECK(fresh->get()->access_token.reveal() == "tok-" + std::to_string(1000 * (k + 2) + 1));
        CHECK(a.token_text() == "tok-1");
    }
    CHECK(a.endpoint->requests() == 1);
    CHECK(b.endpoint->requests() == 1);
}
