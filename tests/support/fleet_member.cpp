// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fleet_member.cpp: one process of a fleet, for the Redis store's tests and benchmark.
// It makes one token_manager per thread, all on one store, prints "ready", waits for end
// of file on stdin (the signal to start together), then every thread asks for a token
// at once and prints what it got: a digest of the token, never the token.
//
// Usage: oauth2cc_fleet_member --token-url URL --client-id ID [--redis URL]
//                              [--seal-key-file FILE] [--threads N] [--resource URL]...
// With --resource (repeated), thread t asks for the token of the t-th resource (in turn),
// an entry of its manager's: the fleet shares one stored token per resource.
// The client secret comes from OAUTH2_CLIENT_SECRET.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/redis_token_store.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    std::string token_url, client_id, redis_url, seal_key_file;
    std::vector<std::string> resources;
    int threads = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--token-url")
            token_url = value;
        else if (flag == "--client-id")
            client_id = value;
        else if (flag == "--redis")
            redis_url = value;
        else if (flag == "--seal-key-file")
            seal_key_file = value;
        else if (flag == "--resource")
            resources.push_back(value);
        else if (flag == "--threads")
            threads = std::atoi(value.c_str());
        else {
            std::cerr << "fleet_member: unknown flag " << flag << "\n";
            return 2;
        }
    }
    const char* client_secret = std::getenv("OAUTH2_CLIENT_SECRET");
    if (token_url.empty() || client_id.empty() || client_secret == nullptr || threads < 1) {
        std::cerr << "fleet_member: --token-url, --client-id and OAUTH2_CLIENT_SECRET are needed\n";
        return 2;
    }
    try {
        oauth2cc::client_config cfg;
        cfg.token_endpoint = token_url;
        cfg.client_id = client_id;
        cfg.client_secret = oauth2cc::secret{client_secret};
        std::shared_ptr<oauth2cc::redis_token_store> store;
        if (!redis_url.empty()) {
            oauth2cc::redis_options options = oauth2cc::redis_options_from_url(redis_url);
            if (!seal_key_file.empty()) {
                std::ifstream in(seal_key_file, std::ios::binary);
                options.sealing_key = oauth2cc::secret{std::string(
                    std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())};
            }
            store = std::make_shared<oauth2cc::redis_token_store>(std::move(options));
        }
        std::vector<std::unique_ptr<oauth2cc::token_manager>> managers;
        for (int t = 0; t < threads; ++t) {
            managers.push_back(std::make_unique<oauth2cc::token_manager>(cfg));
            if (store) managers.back()->set_store(store);
        }
        std::cout << "ready" << std::endl;
        // The start signal: end of file on stdin.
        for (int c = std::getchar(); c != EOF; c = std::getchar()) {}
        std::mutex mutex;
        std::vector<std::string> lines(static_cast<std::size_t>(threads));
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                std::ostringstream line;
                const auto started = std::chrono::steady_clock::now();
                try {
                    auto& m = *managers[static_cast<std::size_t>(t)];
                    auto params = oauth2cc::params_of(m.config());
                    if (!resources.empty()) {
                        params.resources = {
                            resources[static_cast<std::size_t>(t) % resources.size()]};
                    }
                    const auto tok = m.get(params);
                    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started);
                    const auto st = managers[static_cast<std::size_t>(t)]->stats();
                    line << "token "
                         << oauth2cc::store_key(tok->access_token.reveal()).substr(0, 16)
                         << " fetches " << st.fetches << " loads " << st.store_loads
                         << " store_failures " << st.store_failures << " us " << took.count();
                } catch (const oauth2cc::error& e) {
                    line << "error " << e.what();
                }
                const std::lock_guard<std::mutex> lock(mutex);
                lines[static_cast<std::size_t>(t)] = line.str();
            });
        }
        for (auto& w : workers) w.join();
        for (const auto& line : lines) std::cout << line << "\n";
        std::cout << "done" << std::endl;
        return 0;
    } catch (const oauth2cc::error& e) {
        std::cout << "error " << e.what() << std::endl;
        return 1;
    }
}
