// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// bench_peers.cpp: the C++ half of bench/run-peers. One program, several commands:
//   stall     read latency of token_manager::get() across refreshes, threads calling
//   stampede  token requests made by many threads at cold start and at expiry
//   fetch     the cost of one token fetch: token_client, or libcurl doing the same POST
// Each prints one JSON line; bench/run-peers reads them. The token server they talk to,
// and the Go peer with the same commands, flags and output, are bench/peers/go.
// SPDX-License-Identifier: MIT

#include "bench_support.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <curl/curl.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

// --- command line: --name value pairs -----------------------------------------------

class flags {
public:
    flags(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) {
            std::string name = argv[i];
            if (name.rfind("--", 0) != 0 || i + 1 >= argc) {
                throw std::invalid_argument("expected --name value, got " + name);
            }
            values_[name.substr(2)] = argv[++i];
        }
    }
    std::string text(const std::string& name, const std::string& fallback = {}) const {
        auto it = values_.find(name);
        if (it != values_.end()) return it->second;
        if (fallback.empty()) throw std::invalid_argument("--" + name + " is required");
        return fallback;
    }
    long number(const std::string& name, long fallback) const {
        auto it = values_.find(name);
        return it == values_.end() ? fallback : std::stol(it->second);
    }

private:
    std::map<std::string, std::string> values_;
};

// --- what the client commands share -------------------------------------------------

// The benchmarks' client (the credentials the Go token server takes), sent to base.
oauth2cc::client_config config_for(const std::string& base) {
    oauth2cc::client_config cfg = oauth2cc_bench::bench_config();
    cfg.token_endpoint = base + "/token";
    return cfg;
}

std::uint64_t token_requests(const std::string& base) {
    httplib::Client client(base);
    auto res = client.Get("/stats");
    if (!res || res->status != 200) throw std::runtime_error("cannot read " + base + "/stats");
    return nlohmann::json::parse(res->body).at("token_requests").get<std::uint64_t>();
}

// Starts n threads that each run body(i) once all of them are ready, and joins them.
void together(int n, const std::function<void(int)>& body) {
    std::mutex m;
    std::condition_variable cv;
    int ready = 0;
    bool go = false;
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            {
                std::unique_lock<std::mutex> lock(m);
                if (++ready == n) cv.notify_all();
                cv.wait(lock, [&] { return go; });
            }
            body(i);
        });
    }
    {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return ready == n; });
        go = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
}

double cpu_seconds() {
    rusage use{};
    getrusage(RUSAGE_SELF, &use);
    return static_cast<double>(use.ru_utime.tv_sec + use.ru_stime.tv_sec) +
           static_cast<double>(use.ru_utime.tv_usec + use.ru_stime.tv_usec) / 1e6;
}

// --- stall --------------------------------------------------------------------------

// --threads threads read a token for --seconds, each read followed by a pause of
// --pace-us; reports the latency distribution of the reads.
int run_stall(const flags& f) {
    const std::string base = f.text("url");
    const int threads = static_cast<int>(f.number("threads", 4));
    const auto run_for = std::chrono::seconds(f.number("seconds", 40));
    const auto pace = std::chrono::microseconds(f.number("pace-us", 1000));
    const auto waited_at = milliseconds(f.number("waited-ms", 10));

    oauth2cc::token_manager manager(config_for(base));
    const std::string first = manager.get()->access_token.reveal();  // before the clock starts
    const auto before = manager.stats();
    const std::uint64_t requests_before = token_requests(base);

    std::vector<std::vector<std::int64_t>> latencies(static_cast<std::size_t>(threads));
    // Reads go on past --seconds until a reader has seen a new token (at most a minute
    // more), so that every run spans a refresh however slow the machine.
    const auto end = steady_clock::now() + run_for;
    std::atomic<bool> refreshed{false};
    together(threads, [&](int i) {
        auto& mine = latencies[static_cast<std::size_t>(i)];
        mine.reserve(static_cast<std::size_t>(run_for / pace) + 1);
        for (auto now = steady_clock::now();
             now < end || (!refreshed && now < end + std::chrono::minutes(1));
             now = steady_clock::now()) {
            auto t = manager.get();
            const auto took = steady_clock::now() - now;
            mine.push_back(duration_cast<nanoseconds>(took).count());
            if (t->access_token.reveal() != first) refreshed = true;
            std::this_thread::sleep_for(pace);
        }
    });
    const auto after = manager.stats();

    std::vector<std::int64_t> all;
    for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    const auto at = [&](double q) {
        const auto i = static_cast<std::size_t>(q * static_cast<double>(all.size()));
        return all[std::min(all.size() - 1, i)];
    };
    const auto waited = static_cast<std::size_t>(
        all.end() - std::lower_bound(all.begin(), all.end(), nanoseconds(waited_at).count()));
    nlohmann::json out = {{"client", "oauth2cc"},
                          {"reads", all.size()},
                          {"p50_ns", at(0.50)},
                          {"p99_ns", at(0.99)},
                          {"max_ns", all.back()},
                          {"waited", waited},
                          {"manager_waits", after.waits - before.waits},
                          {"refreshed", refreshed.load()},
                          {"token_requests", token_requests(base) - requests_before}};
    std::cout << out.dump() << std::endl;
    return 0;
}

// --- stampede -----------------------------------------------------------------------

// --threads threads ask for a token together with none cached (cold), then again after
// it expired (expiry); reports the token requests the server saw in each.
int run_stampede(const flags& f) {
    const std::string base = f.text("url");
    const std::string client = f.text("client", "oauth2cc");
    const int threads = static_cast<int>(f.number("threads", 64));
    const auto lifetime = std::chrono::seconds(f.number("lifetime", 12));

    std::unique_ptr<oauth2cc::token_manager> manager;
    if (client == "oauth2cc") {
        manager = std::make_unique<oauth2cc::token_manager>(config_for(base));
    } else if (client != "naive") {
        throw std::invalid_argument("--client is oauth2cc or naive");
    }
    const auto cfg = config_for(base);
    std::atomic<int> failures{0};
    const auto read = [&](int) {
        try {
            if (manager) {
                manager->get();
            } else {
                oauth2cc::request_token(cfg);
            }
        } catch (const oauth2cc::error& e) {
            std::cerr << "bench_peers stampede: " << e.what() << '\n';
            ++failures;
        }
    };
    nlohmann::json out = {{"client", client}, {"threads", threads}};
    for (const char* phase : {"cold", "expiry"}) {
        const std::uint64_t before = token_requests(base);
        const auto start = steady_clock::now();
        together(threads, read);
        const auto took = steady_clock::now() - start;
        out[phase] = token_requests(base) - before;
        out[std::string(phase) + "_ms"] = duration_cast<milliseconds>(took).count();
        // Past the token's expiry, counted from when it was requested.
        if (std::string(phase) == "cold") std::this_thread::sleep_for(lifetime + milliseconds(500));
    }
    out["failures"] = failures.load();
    std::cout << out.dump() << std::endl;
    return failures.load() == 0 ? 0 : 1;
}

// --- fetch --------------------------------------------------------------------------

// libcurl making the same request a hand-written client makes: one easy handle kept
// for its connection, HTTP Basic, the form body, the JSON read with nlohmann::json.
class curl_fetcher {
public:
    explicit curl_fetcher(const oauth2cc::client_config& cfg) : curl_(curl_easy_init()) {
        if (!curl_) throw std::runtime_error("curl_easy_init failed");
        curl_easy_setopt(curl_, CURLOPT_URL, cfg.token_endpoint.c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(curl_, CURLOPT_USERNAME, cfg.client_id.c_str());
        curl_easy_setopt(curl_, CURLOPT_PASSWORD, cfg.client_secret.reveal().c_str());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, "grant_type=client_credentials");
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &curl_fetcher::on_body);
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 10000L);
        headers_ = curl_slist_append(headers_, "Accept: application/json");
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    }
    ~curl_fetcher() {
        curl_slist_free_all(headers_);
        curl_easy_cleanup(curl_);
    }
    curl_fetcher(const curl_fetcher&) = delete;
    curl_fetcher& operator=(const curl_fetcher&) = delete;

    std::string fetch() {
        body_.clear();
        if (curl_easy_perform(curl_) != CURLE_OK) throw std::runtime_error("curl: request failed");
        long status = 0;
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) throw std::runtime_error("curl: HTTP " + std::to_string(status));
        auto doc = nlohmann::json::parse(body_);
        if (doc.at("expires_in").get<long>() <= 0) throw std::runtime_error("curl: no lifetime");
        return doc.at("access_token").get<std::string>();
    }

private:
    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* to) {
        static_cast<std::string*>(to)->append(data, size * n);
        return size * n;
    }
    CURL* curl_;
    curl_slist* headers_ = nullptr;
    std::string body_;
};

// One warm-up fetch (the connection), then --count fetches; reports CPU and wall time
// per fetch. Under callgrind, two counts give the instructions of one fetch.
int run_fetch(const flags& f) {
    const std::string base = f.text("url");
    const std::string client = f.text("client", "token_client");
    const long count = f.number("count", 1000);

    std::function<std::size_t()> fetch;
    std::unique_ptr<oauth2cc::token_client> tokens;
    std::unique_ptr<curl_fetcher> curl;
    if (client == "token_client") {
        tokens = std::make_unique<oauth2cc::token_client>(config_for(base));
        fetch = [&] { return tokens->fetch().access_token.reveal().size(); };
    } else if (client == "curl") {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl = std::make_unique<curl_fetcher>(config_for(base));
        fetch = [&] { return curl->fetch().size(); };
    } else {
        throw std::invalid_argument("--client is token_client or curl");
    }
    std::size_t bytes = fetch();
    const double cpu0 = cpu_seconds();
    const auto wall0 = steady_clock::now();
    for (long i = 0; i < count; ++i) bytes += fetch();
    const double cpu = cpu_seconds() - cpu0;
    const auto wall = steady_clock::now() - wall0;
    nlohmann::json out = {
        {"client", client},
        {"count", count},
        {"token_bytes", bytes},
        {"cpu_us", count ? cpu * 1e6 / static_cast<double>(count) : 0.0},
        {"wall_us", count ? static_cast<double>(duration_cast<nanoseconds>(wall).count()) / 1e3 /
                                static_cast<double>(count)
                          : 0.0}};
    std::cout << out.dump() << std::endl;
    curl.reset();
    if (client == "curl") curl_global_cleanup();
    return 0;
}

}  // namespace

int main(int argc, char** argv) try {
    const std::string command = argc > 1 ? argv[1] : "";
    const flags f(argc, argv, 2);
    if (command == "stall") return run_stall(f);
    if (command == "stampede") return run_stampede(f);
    if (command == "fetch") return run_fetch(f);
    std::cerr << "usage: oauth2cc_bench_peers stall|stampede|fetch [--name value]...\n";
    return 2;
} catch (const std::exception& e) {
    std::cerr << "oauth2cc_bench_peers: " << e.what() << '\n';
    return 1;
}
