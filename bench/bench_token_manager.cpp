// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// bench_token_manager.cpp: the cost of a cached token read at 1, 2 and 4 threads, side
// by side with the holder most hand-written code uses: a mutex around a shared_ptr,
// the design of Go's x/oauth2 ReuseTokenSource; and the same read with a metrics observer
// attached (a cached read tells the observer nothing: it costs the same), and try_get().
// SPDX-License-Identifier: MIT

#include "bench_support.hpp"

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/prometheus.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace {

using oauth2cc_bench::bench_config;
using oauth2cc_bench::fixed_token_endpoint;

oauth2cc::token_manager& shared_manager() {
    static oauth2cc::token_manager manager(bench_config(), {},
                                           std::make_shared<fixed_token_endpoint>());
    return manager;
}

// A manager with a Prometheus exporter attached, as a daemon with /metrics has one.
oauth2cc::token_manager& observed_manager() {
    static oauth2cc::token_manager manager(bench_config(), {},
                                           std::make_shared<fixed_token_endpoint>());
    static const bool attached = [] {
        manager.set_observer(std::make_shared<oauth2cc::prometheus_exporter>());
        return true;
    }();
    (void)attached;
    return manager;
}

// The peer: a mutex held around the cached token on every read, with an expiry check.
class mutex_holder {
public:
    mutex_holder() {
        fixed_token_endpoint endpoint;
        token_ = std::make_shared<const oauth2cc::token>(
            oauth2cc::request_token(bench_config(), endpoint));
        expires_at_ = *token_->expires_at();
    }
    std::shared_ptr<const oauth2cc::token> get() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (std::chrono::steady_clock::now() + std::chrono::seconds(10) >= expires_at_) {
            // Never reached here: the token lives a day.
            return nullptr;
        }
        return token_;
    }

private:
    std::mutex mutex_;
    std::shared_ptr<const oauth2cc::token> token_;
    std::chrono::steady_clock::time_point expires_at_;
};

mutex_holder& shared_mutex_holder() {
    static mutex_holder holder;
    return holder;
}

void token_manager_get(benchmark::State& state) {
    auto& manager = shared_manager();
    manager.get();  // warm: the first read fetches
    for (auto _ : state) {
        auto t = manager.get();
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(token_manager_get)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void token_manager_get_observed(benchmark::State& state) {
    auto& manager = observed_manager();
    manager.get();
    for (auto _ : state) {
        auto t = manager.get();
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(token_manager_get_observed)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void token_manager_try_get(benchmark::State& state) {
    auto& manager = shared_manager();
    manager.get();
    for (auto _ : state) {
        auto t = manager.try_get();
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(token_manager_try_get)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void token_manager_authorization_header(benchmark::State& state) {
    auto& manager = shared_manager();
    manager.get();
    for (auto _ : state) {
        auto h = manager.authorization_header();
        benchmark::DoNotOptimize(h);
    }
}
BENCHMARK(token_manager_authorization_header)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void peer_mutex_holder_get(benchmark::State& state) {
    auto& holder = shared_mutex_holder();
    for (auto _ : state) {
        auto t = holder.get();
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(peer_mutex_holder_get)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
