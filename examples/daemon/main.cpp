// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// daemon/main.cpp: a long-running poller. The token is refreshed in the background, so
// no call waits for it; while the authorization server is away the daemon keeps calling
// with the still-valid token and logs its backoff. SIGINT or SIGTERM stops it at once.
//
// Usage: oauth2cc-daemon [--interval-ms 1000] [--status-every-ms 10000]
//                        [--redis URL | --redis-url-file FILE] [--seal-key-file FILE]
//                        [--metrics-port N] (URL | --audience A URL_A [--audience B URL_B]...)
// With --audience, each audience is followed by the URL of its API: each poll calls each
// URL with a token for its own audience only, from the one token_manager (an entry each,
// refreshed together on the process's one refresher); without it, URL with the
// configuration's own token.
// With --metrics-port, Prometheus metrics of the token (oauth2cc::prometheus_exporter) are
// served at http://127.0.0.1:N/metrics (0: a free port, printed).
// With --redis, the token is shared in Redis by every daemon on it (one request for the
// fleet), sealed under the key in FILE with --seal-key-file. A Redis URL with a password
// belongs in OAUTH2_REDIS_URL or in a private file (--redis-url-file, OAUTH2_REDIS_URL_FILE),
// not on the command line, where `ps` shows it (a warning says so).
// Configured from the environment: OAUTH2_TOKEN_URL (or OAUTH2_ISSUER), OAUTH2_CLIENT_ID,
// OAUTH2_CLIENT_SECRET_FILE (or OAUTH2_CLIENT_SECRET), OAUTH2_SCOPE, OAUTH2_AUTH_METHOD,
// and for keys OAUTH2_CLIENT_KEY_FILE and OAUTH2_CLIENT_KEY_ID (see oauth2cc::config_from_environment()).
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"
#include "../common/fleet_store.hpp"
#include "../common/metrics_endpoint.hpp"
#include "../common/stop_signals.hpp"

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/prometheus.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <signal.h>

namespace {

// One line per event on stdout, flushed, so that a supervisor's log sees it at once.
std::mutex output_mutex;
void say(const std::string& line) {
    std::lock_guard<std::mutex> lock(output_mutex);
    std::cout << line << std::endl;
}

std::string status_line(const oauth2cc::manager_stats& st) {
    std::ostringstream out;
    out << "status: token requests " << st.fetches << ", ok " << st.successes << ", failed "
        << st.failures << ", cache hits " << st.cache_hits << ", waits " << st.waits
        << ", from the store " << st.store_loads << ", store failures " << st.store_failures
        << ", tokens held " << st.entries;
    if (st.next_attempt) {
        const auto in = std::chrono::duration_cast<std::chrono::milliseconds>(
            *st.next_attempt - std::chrono::steady_clock::now());
        out << ", backing off: next attempt in " << std::max<long long>(0, in.count()) << " ms";
    }
    return out.str();
}

}  // namespace

int main(int argc, char** argv) {
    static constexpr const char* usage =
        "usage: oauth2cc-daemon [--interval-ms N] [--status-every-ms N] [--redis URL | "
        "--redis-url-file FILE] [--seal-key-file FILE] [--metrics-port N] (URL | --audience A "
        "URL_A [--audience B URL_B]...)\n";
    std::chrono::milliseconds interval{1000}, status_every{10000};
    oauth2cc_examples::store_settings stored;
    // The APIs to poll: a URL, or each audience with its own URL (a token goes only to the
    // API of its audience).
    std::vector<std::pair<std::string, std::string>> targets;  // audience (or ""), URL
    std::optional<std::string> pending_audience;
    long metrics_port = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--interval-ms" && i + 1 < argc) {
            interval = std::chrono::milliseconds(std::atol(argv[++i]));
        } else if (a == "--status-every-ms" && i + 1 < argc) {
            status_every = std::chrono::milliseconds(std::atol(argv[++i]));
        } else if (a == "--redis" && i + 1 < argc) {
            stored.redis_url = argv[++i];
        } else if (a == "--redis-url-file" && i + 1 < argc) {
            stored.redis_url_file = argv[++i];
        } else if (a == "--metrics-port" && i + 1 < argc) {
            metrics_port = std::atol(argv[++i]);
        } else if (a == "--audience" && i + 1 < argc && argv[i + 1][0] != '\0') {
            if (pending_audience || (!targets.empty() && targets.front().first.empty())) {
                std::cerr << "oauth2cc-daemon: each --audience is followed by the URL of its "
                             "API (--audience A URL_A --audience B URL_B), so that a token goes "
                             "to its own API only\n"
                          << usage;
                return 2;
            }
            pending_audience = argv[++i];
        } else if (a == "--seal-key-file" && i + 1 < argc) {
            stored.seal_key_file = argv[++i];
        } else if (!a.empty() && a.front() != '-' && (pending_audience || targets.empty())) {
            targets.emplace_back(pending_audience.value_or(""), a);
            pending_audience.reset();
        } else {
            std::cerr << usage;
            return 2;
        }
    }
    if (pending_audience) {
        std::cerr << "oauth2cc-daemon: --audience " << *pending_audience
                  << " has no URL: follow it with the URL of its API\n"
                  << usage;
        return 2;
    }
    if (targets.empty() || interval.count() <= 0 || status_every.count() <= 0 ||
        metrics_port > 65535 || (metrics_port < 0 && metrics_port != -1)) {
        std::cerr << usage;
        return 2;
    }

    if (stored.redis_url.empty() && stored.redis_url_file.empty()) {
        stored.redis_url = oauth2cc_examples::env("OAUTH2_REDIS_URL");
        stored.redis_url_file = oauth2cc_examples::env("OAUTH2_REDIS_URL_FILE");
    }
    oauth2cc_examples::warn_of_passwords_in_argv(
        argc, argv, {{"--redis", "OAUTH2_REDIS_URL or --redis-url-file"}}, "oauth2cc-daemon",
        std::cerr);

    // Signals go to the waiting thread below, not to whichever thread they happen to hit.
    sigset_t stop_signals = oauth2cc_examples::block_stop_signals();

    std::mutex m;
    std::condition_variable wake;
    bool stopping = false;
    std::thread signal_waiter([&] {
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        say("stopping on signal " + std::to_string(signal_number));
        std::lock_guard<std::mutex> lock(m);
        stopping = true;
        wake.notify_all();
    });

    int exit_code = 0;
    try {
        oauth2cc::token_manager tokens(oauth2cc::config_from_environment());
        tokens.set_logger([](oauth2cc::log_level level, std::string_view line) {
            say("token " + std::string(oauth2cc::to_string(level)) + ": " + std::string(line));
        });
        if (auto store = oauth2cc_examples::make_store(stored)) {
            tokens.set_store(std::move(store));
            say("tokens shared through " +
                (stored.redis_url.empty() && stored.redis_url_file.empty()
                     ? std::string("the cache")
                     : std::string("Redis")));
        }
        std::optional<oauth2cc_examples::metrics_endpoint> metrics;
        if (metrics_port >= 0) {
            auto exporter = std::make_shared<oauth2cc::prometheus_exporter>();
            tokens.set_observer(exporter);
            metrics.emplace(static_cast<int>(metrics_port),
                            std::string(oauth2cc::prometheus_exporter::content_type),
                            [exporter] { return exporter->text(); });
            say("metrics at http://127.0.0.1:" + std::to_string(metrics->port()) + "/metrics");
        }
        tokens.start_background_refresh();
        oauth2cc::client_options options;
        options.connect_timeout = std::chrono::milliseconds(1000);
        options.read_timeout = std::chrono::milliseconds(5000);
        // One client per API, each sending the token of its audience (the configuration's
        // own when none is given), and only to its own base URL.
        struct api {
            std::string audience, path;
            std::unique_ptr<oauth2cc::authorized_client> client;
        };
        std::vector<api> apis;
        for (const auto& [audience, url] : targets) {
            const std::size_t scheme = url.find("://");
            const std::size_t path_at =
                url.find_first_of("/?", scheme == std::string::npos ? 0 : scheme + 3);
            if (!audience.empty()) {
                auto params = oauth2cc::params_of(tokens.config());
                params.audience = audience;
                options.params = params;
            }
            apis.push_back({audience, path_at == std::string::npos ? "/" : url.substr(path_at),
                            std::make_unique<oauth2cc::authorized_client>(url.substr(0, path_at),
                                                                          tokens, options)});
            say("polling " + url + (audience.empty() ? "" : " with a token for " + audience) +
                " every " + std::to_string(interval.count()) + " ms");
        }

        auto next_status = std::chrono::steady_clock::now() + status_every;
        std::unique_lock<std::mutex> lock(m);
        while (!stopping) {
            lock.unlock();
            for (const api& target : apis) {
                const std::string who = target.audience.empty() ? "" : " (" + target.audience + ")";
                const auto started = std::chrono::steady_clock::now();
                try {
                    const auto res = target.client->get(target.path);
                    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started);
                    say("call" + who + ": HTTP " + std::to_string(res.status) + " in " +
                        std::to_string(took.count()) + " ms");
                } catch (const oauth2cc::error& e) {
                    say("call" + who + " failed: " + e.what());
                }
            }
            if (std::chrono::steady_clock::now() >= next_status) {
                say(status_line(tokens.stats()));
                next_status += status_every;
            }
            lock.lock();
            wake.wait_for(lock, interval, [&] { return stopping; });
        }
        lock.unlock();
        tokens.stop();
        say(status_line(tokens.stats()));
    } catch (const std::exception& e) {
        std::cerr << "oauth2cc-daemon: " << e.what() << "\n";
        exit_code = 2;
        // Let the signal thread go.
        pthread_kill(signal_waiter.native_handle(), SIGTERM);
    }
    signal_waiter.join();
    return exit_code;
}
