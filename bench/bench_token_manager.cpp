// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// bench_token_manager.cpp: the cost of a cached token read at 1, 2 and 4 threads, side
// by side with the holder most hand-written code uses: a mutex around a shared_ptr,
// the design of Go's x/oauth2 ReuseTokenSource; and the same read with a metrics observer
// attached (a cached read tells the observer nothing: it costs the same), and try_get();
// a keyed get(params) over 100 audiences; a token exchange's get(), which asks its subject
// source every time (another manager's token, or a platform's token in a file); and what
// 10,000 entries refreshed in the background cost in threads and resident memory.
// SPDX-License-Identifier: MIT

#include "bench_support.hpp"

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/prometheus.hpp>

#include <benchmark/benchmark.h>

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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

// n audiences of one manager, each an entry.
std::vector<oauth2cc::token_params> audiences(std::size_t n) {
    std::vector<oauth2cc::token_params> out;
    for (std::size_t i = 0; i < n; ++i) {
        auto p = oauth2cc::params_of(bench_config());
        p.audience = "https://api-" + std::to_string(i) + ".example.com";
        out.push_back(std::move(p));
    }
    return out;
}

void token_manager_get_keyed(benchmark::State& state) {
    static oauth2cc::token_manager manager(bench_config(), {},
                                           std::make_shared<fixed_token_endpoint>());
    static const auto keys = audiences(100);
    for (const auto& k : keys) manager.get(k);  // warm: every entry has its token
    std::size_t i = static_cast<std::size_t>(state.thread_index()) * 37;
    for (auto _ : state) {
        auto t = manager.get(keys[i % keys.size()]);
        benchmark::DoNotOptimize(t);
        ++i;
    }
}
BENCHMARK(token_manager_get_keyed)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// Two hops: the shared manager's token exchanged by another manager, whose every get()
// asks subject_token_of(first), a cached read of the first, and compares the subject.
void token_manager_get_exchanged(benchmark::State& state) {
    static oauth2cc::token_manager manager(
        [] {
            auto cfg = bench_config();
            cfg.grant = oauth2cc::grant_type::token_exchange;
            cfg.subject_token = oauth2cc::subject_token_of(shared_manager());
            return cfg;
        }(),
        {}, std::make_shared<fixed_token_endpoint>());
    manager.get();
    for (auto _ : state) {
        auto t = manager.get();
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(token_manager_get_exchanged)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// Workload identity: a platform's token of 900 bytes (a Kubernetes service-account token
// is about that) in a file, which assertion_from_file() stats on every call.
// A file holding a subject token, removed at exit.
struct subject_file {
    std::string path;
    subject_file() {
        char name[] = "/tmp/oauth2cc-bench-subject-XXXXXX";
        const int fd = ::mkstemp(name);
        const std::string subject = "eyJhbGciOiJSUzI1NiJ9." + std::string(840, 'x') + ".sig";
        if (fd < 0 ||
            ::write(fd, subject.data(), subject.size()) != static_cast<ssize_t>(subject.size())) {
            std::perror("bench: the subject file");
        }
        if (fd >= 0) ::close(fd);
        path = name;
    }
    ~subject_file() { ::unlink(path.c_str()); }
};

void token_manager_get_exchanged_file(benchmark::State& state) {
    static const subject_file file;
    static oauth2cc::token_manager manager(
        [] {
            auto cfg = bench_config();
            cfg.grant = oauth2cc::grant_type::token_exchange;
            cfg.subject_token = oauth2cc::assertion_from_file(file.path);
            cfg.subject_token_type = oauth2cc::token_types::jwt;
            return cfg;
        }(),
        {}, std::make_shared<fixed_token_endpoint>());
    manager.get();
    for (auto _ : state) {
        auto t = manager.get();
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(token_manager_get_exchanged_file)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

std::size_t threads_now() {
    std::size_t n = 0;
    if (DIR* dir = opendir("/proc/self/task")) {
        while (const dirent* e = readdir(dir)) n += e->d_name[0] != '.';
        closedir(dir);
    }
    return n;
}

double resident_kib() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024.0;
}

// A manager holding n entries (the config's own and n audiences), each with its token,
// refreshed in the background; made once per n for the benchmarks below, with what its
// making added to the process: threads, and resident memory per entry; and the resident
// memory of n such tokens held alone, the token's own bytes, which the entry's figure
// includes.
struct held_entries {
    std::vector<oauth2cc::token_params> keys;
    std::unique_ptr<oauth2cc::token_manager> manager;
    std::vector<std::shared_ptr<const oauth2cc::token>> tokens;
    double kib_per_entry = 0;
    double kib_per_token = 0;
    std::size_t threads_added = 0;
};

held_entries& entries_of(std::size_t n) {
    static std::map<std::size_t, std::unique_ptr<held_entries>> made;
    auto& slot = made[n];
    if (slot) return *slot;
    slot = std::make_unique<held_entries>();
    slot->keys = audiences(n);
    oauth2cc::refresh_policy policy;
    policy.max_entries = n + 1;
    policy.new_entries_per_second = 0;  // all at once, on purpose
    const std::size_t threads_before = threads_now();
    const double rss_before = resident_kib();
    slot->manager = std::make_unique<oauth2cc::token_manager>(
        bench_config(), policy, std::make_shared<fixed_token_endpoint>());
    slot->manager->start_background_refresh();
    for (const auto& k : slot->keys) slot->manager->get(k);
    slot->kib_per_entry = (resident_kib() - rss_before) / static_cast<double>(n);
    slot->threads_added = threads_now() - threads_before;
    // Measured after the manager, and kept: memory freed before would be reused by it.
    slot->tokens.reserve(n);
    const double tokens_before = resident_kib();
    fixed_token_endpoint endpoint;
    for (std::size_t i = 0; i < n; ++i) {
        slot->tokens.push_back(std::make_shared<const oauth2cc::token>(
            oauth2cc::request_token(bench_config(), endpoint)));
    }
    slot->kib_per_token = (resident_kib() - tokens_before) / static_cast<double>(n);
    return *slot;
}

// 100,000 entries of one manager (the agent's scale): threads and memory.
void token_manager_entries(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(entries_of(n).manager.get());
    const auto& held = entries_of(n);
    state.counters["entries"] = static_cast<double>(held.manager->entries());
    state.counters["threads_added"] = static_cast<double>(held.threads_added);
    state.counters["threads_beyond_caller"] = static_cast<double>(threads_now() - 1);
    state.counters["kib_per_entry"] = held.kib_per_entry;
    state.counters["kib_per_token"] = held.kib_per_token;
}
BENCHMARK(token_manager_entries)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond);

// A keyed read of the same 100 entries in turn, in a manager that holds 100 entries and
// in one that holds 100,000: what the manager's size costs a read (nothing, if it is
// O(1)); and, for the record, reads that go round all 100,000 (each entry cold in the
// processor's caches, and beyond the 128 copies a thread keeps).
void token_manager_keyed_read(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto read = static_cast<std::size_t>(state.range(1));
    auto& held = entries_of(n);
    std::size_t i = 0;
    for (auto _ : state) {
        auto t = held.manager->get(held.keys[i]);
        benchmark::DoNotOptimize(t);
        if (++i == read) i = 0;
    }
}
BENCHMARK(token_manager_keyed_read)
    ->Args({100, 100})
    ->Args({100000, 100})
    ->Args({100000, 100000})
    ->ArgNames({"entries", "read"});

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
