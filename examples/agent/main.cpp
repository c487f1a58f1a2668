// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// agent/main.cpp: oauth2cc-agent, one token holder for every process on a host and for
// the gateway in front of them. See docs/agent.md.
// SPDX-License-Identifier: MIT

#include "agent.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_bad_config = 2;

constexpr const char* description =
    R"(oauth2cc-agent: OAuth 2.0 tokens for every process on this host, and for nginx or
HAProxy in front of them. It holds the clients' credentials, keeps their tokens fresh
and answers, on a UNIX socket (and optionally loopback TCP):
  GET /v1/token/PROFILE[?audience=A&scope=S&resource=R&min_valid=SECONDS]
      {"access_token", "token_type", "expires_in"}; 503 when no token lives that long
  GET /v1/auth/PROFILE   the Authorization (and DPoP) header to inject, for nginx's
      auth_request (X-Original-Method, X-Original-URL) or HAProxy's Lua
  GET /metrics           Prometheus metrics, per profile
SIGHUP reloads the file (the tokens of unchanged profiles are kept); SIGTERM finishes the
requests under way and exits. Logs are JSON lines on standard error, without secrets.)";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{description, "oauth2cc-agent"};
    app.set_version_flag("--version", "oauth2cc-agent " + std::string(oauth2cc::version_string));
    std::string config_path;
    std::string check_path;
    std::size_t workers = 3;
    auto* config_opt =
        app.add_option("--config", config_path, "run with the JSON file FILE")->option_text("FILE");
    auto* check_opt =
        app.add_option("--check", check_path, "check the JSON file FILE and exit: 0 good, 2 bad")
            ->option_text("FILE");
    config_opt->excludes(check_opt);
    app.add_option("--workers", workers,
                   "threads that answer requests (default 3: with the listener, this thread "
                   "and\nthe library's refresh, 9 in all)")
        ->check(CLI::Range(1, 64));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_bad_config;
    }
    if (config_path.empty() && check_path.empty()) {
        std::cerr << "oauth2cc-agent: give --config FILE to run, or --check FILE (--help for "
                     "more)\n";
        return exit_bad_config;
    }

    if (!check_path.empty()) {
        try {
            const auto cfg = oauth2cc_agent::load_config(check_path);
            std::cout << check_path << ": good: " << cfg.profiles.size() << " profile(s), "
                      << cfg.listen.size() << " listener(s), " << cfg.sinks.size() << " sink(s)\n";
            return exit_ok;
        } catch (const oauth2cc::error& e) {
            std::cerr << "oauth2cc-agent: " << e.what() << '\n';
            return exit_bad_config;
        }
    }

    // The signals are taken by sigtimedwait below, in this thread: block them before any
    // thread starts, so that every thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    for (const int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    // The library's token requests run on two workers (its default is four): with its
    // refresher and watchdog, the listener, the answering workers and this thread, the
    // agent keeps within 8 threads beyond the listener's.
    oauth2cc::token_manager::set_refresh_workers(2);

    std::unique_ptr<oauth2cc_agent::agent> agent;
    std::unique_ptr<oauth2cc_agent::http_server> server;
    try {
        const auto cfg = oauth2cc_agent::load_config(config_path);
        agent = std::make_unique<oauth2cc_agent::agent>(cfg);
        server = std::make_unique<oauth2cc_agent::http_server>(
            cfg.listen, [&agent](const oauth2cc_agent::request& r) { return agent->handle(r); },
            workers);
    } catch (const oauth2cc::error& e) {
        oauth2cc_agent::log("error", "the configuration cannot be used", {{"error", e.what()}});
        return exit_bad_config;
    } catch (const std::runtime_error& e) {
        oauth2cc_agent::log("error", "the agent cannot start", {{"error", e.what()}});
        return exit_failed;
    }
    for (const auto& address : server->addresses())
        oauth2cc_agent::log("info", "listening", {{"address", address}});

    // This thread writes the sinks (each token once, when it is new) and waits for the
    // signals in between.
    for (;;) {
        agent->write_sinks();
        timespec second{1, 0};
        const int sig = ::sigtimedwait(&signals, nullptr, &second);
        if (sig == SIGHUP) {
            try {
                agent->reload(oauth2cc_agent::load_config(config_path));
                oauth2cc_agent::log("info", "configuration reloaded", {{"file", config_path}});
            } catch (const oauth2cc::error& e) {
                oauth2cc_agent::log("error",
                                    "the new configuration cannot be used; the old one "
                                    "stays",
                                    {{"error", e.what()}});
            }
        } else if (sig == SIGTERM || sig == SIGINT) {
            oauth2cc_agent::log("info", "stopping: answering the requests under way");
            server->stop();
            oauth2cc_agent::log("info", "stopped");
            return exit_ok;
        }
    }
}
