// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// bench_authorized_client.cpp: one authorized API call through authorized_client, side
// by side with a bare httplib::Client making the same keep-alive GET with the header
// set by hand, against the same local endpoint in the same run.
// SPDX-License-Identifier: MIT

#include "bench_support.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <benchmark/benchmark.h>
#include <httplib.h>

#include <memory>
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
            if (req.get_header_value("Authorization").rfind("Bearer ", 0) != 0) res.status = 401;
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

void peer_bare_httplib_get(benchmark::State& state) {
    // One client per thread: an httplib::Client serves one request at a time.
    httplib::Client client(api().url());
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(10, 0);
    const httplib::Headers headers{
        {"Authorization", "Bearer bench-token-0123456789abcdef"}};
    for (auto _ : state) {
        auto res = client.Get("/ping", headers);
        if (!res || res->status != 200) state.SkipWithError("unexpected status");
        benchmark::DoNotOptimize(res);
    }
}
BENCHMARK(peer_bare_httplib_get)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
