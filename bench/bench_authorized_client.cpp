// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// bench_authorized_client.cpp: one authorized API call through authorized_client, side
// by side with a bare httplib::Client making the same keep-alive GET with the header
// set by hand, against the same local endpoint in the same run; and the price of DPoP
// (RFC 9449) in the same run: a proof per request alone (sign and encode, by key type),
// and a call through authorized_client with a proof, beside the bearer call; and the
// Bearer header list that each hop adds, alone.
// SPDX-License-Identifier: MIT

#include "bench_support.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <benchmark/benchmark.h>
#include <httplib.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using oauth2cc_bench::bench_config;
using oauth2cc_bench::fixed_token_endpoint;

// The API: answers GET /ping with a short JSON body, on 127.0.0.1.
struct local_api {
    httplib::Server server;
    std::thread thread;
    int port = 0;
    local_api() {
        server.set_tcp_nodelay(true);
        server.set_keep_alive_max_count(1000000);
        server.Get("/ping", [](const httplib::Request& req, httplib::Response& res) {
            const std::string auth = req.get_header_value("Authorization");
            const bool bearer = auth.rfind("Bearer ", 0) == 0;
            const bool dpop =
                auth.rfind("DPoP ", 0) == 0 && req.get_header_value_count("DPoP") == 1;
            if (!bearer && !dpop) res.status = 401;
            res.set_content(R"({"pong":true})", "application/json");
        });
        port = server.bind_to_any_port("127.0.0.1");
        if (port <= 0) throw std::runtime_error("cannot bind 127.0.0.1");
        thread = std::thread([this] { server.listen_after_bind(); });
    }
    ~local_api() {
        server.stop();
        thread.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

local_api& api() {
    static local_api instance;
    return instance;
}

oauth2cc::token_manager& tokens() {
    static oauth2cc::token_manager manager(bench_config(), {},
                                           std::make_shared<fixed_token_endpoint>());
    return manager;
}

void authorized_client_get(benchmark::State& state) {
    static oauth2cc::authorized_client client(api().url(), tokens());
    for (auto _ : state) {
        auto res = client.get("/ping");
        if (res.status != 200) state.SkipWithError("unexpected status");
        benchmark::DoNotOptimize(res);
    }
}
BENCHMARK(authorized_client_get)->Threads(1)->Threads(2)->UseRealTime();

// The Bearer path's per-hop header list: what authorized_client adds to each hop (a list
// holding "Authorization: Bearer <token>"), built from a cached token, beside the whole
// call above; it shows what the list costs of a call.
void bearer_request_headers(benchmark::State& state) {
    const std::string url = api().url() + "/ping";
    for (auto _ : state) {
        auto headers = tokens().request_headers("GET", url);
        benchmark::DoNotOptimize(headers);
    }
}
BENCHMARK(bearer_request_headers)->Threads(1)->Threads(2)->UseRealTime();

// A manager holding a DPoP-bound token, its key of the given algorithm.
oauth2cc::token_manager& dpop_tokens(oauth2cc::jws_alg alg) {
    static std::mutex m;
    static std::map<oauth2cc::jws_alg, std::unique_ptr<oauth2cc::token_manager>> managers;
    const std::lock_guard<std::mutex> lock(m);
    auto& slot = managers[alg];
    if (!slot) {
        oauth2cc::client_config cfg = bench_config();
        cfg.dpop_key = oauth2cc::signing_key::generate(alg);
        slot = std::make_unique<oauth2cc::token_manager>(
            cfg, oauth2cc::refresh_policy{}, std::make_shared<fixed_token_endpoint>(true));
    }
    return *slot;
}

// The headers of one DPoP request: the token, and a proof signed for it.
void dpop_request_headers(benchmark::State& state) {
    const auto alg = static_cast<oauth2cc::jws_alg>(state.range(0));
    state.SetLabel(std::string(oauth2cc::to_string(alg)));
    auto& manager = dpop_tokens(alg);
    const std::string url = api().url() + "/ping";
    for (auto _ : state) {
        auto headers = manager.request_headers("GET", url);
        benchmark::DoNotOptimize(headers);
    }
}
BENCHMARK(dpop_request_headers)
    ->Arg(static_cast<int>(oauth2cc::jws_alg::es256))
    ->Arg(static_cast<int>(oauth2cc::jws_alg::eddsa))
    ->Arg(static_cast<int>(oauth2cc::jws_alg::ps256));

// A call through authorized_client with a DPoP proof (ES256), beside authorized_client_get.
void authorized_client_get_dpop(benchmark::State& state) {
    static oauth2cc::authorized_client client(api().url(), dpop_tokens(oauth2cc::jws_alg::es256));
    for (auto _ : state) {
        auto res = client.get("/ping");
        if (res.status != 200) state.SkipWithError("unexpected status");
        benchmark::DoNotOptimize(res);
    }
}
BENCHMARK(authorized_client_get_dpop)->Threads(1)->Threads(2)->UseRealTime();

void peer_bare_httplib_get(benchmark::State& state) {
    // One client per thread: an httplib::Client serves one request at a time.
    httplib::Client client(api().url());
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(10, 0);
    const httplib::Headers headers{{"Authorization", "Bearer bench-token-0123456789abcdef"}};
    for (auto _ : state) {
        auto res = client.Get("/ping", headers);
        if (!res || res->status != 200) state.SkipWithError("unexpected status");
        benchmark::DoNotOptimize(res);
    }
}
BENCHMARK(peer_bare_httplib_get)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
