// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// token_endpoint_fake.hpp: a thread-safe fake token endpoint that counts requests, can
// hold them at a gate, and answers from a script; and a logger that tests can wait on.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc_test {

/// @brief A token endpoint in memory. By default request n gets token "tok-n" that
/// lives an hour.
class token_endpoint_fake : public oauth2cc::transport {
public:
    using answer_fn = std::function<oauth2cc::http_response(int request_number)>;

    static oauth2cc::http_response token_response(int n, int expires_in = 3600) {
        return {200,
                {{"Content-Type", "application/json"}},
                R"({"access_token":"tok-)" + std::to_string(n) +
                    R"(","token_type":"Bearer","expires_in":)" + std::to_string(expires_in) + "}"};
    }
    static oauth2cc::http_response error_response(
        int status, const std::string& code,
        std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
        extra_headers.emplace_back("Content-Type", "application/json");
        return {status, extra_headers, R"({"error":")" + code + R"("})"};
    }

    token_endpoint_fake() : answer_([](int n) { return token_response(n); }) {}

    /// @brief Answers request n with answer(n) from now on.
    void answer_with(answer_fn answer) {
        std::lock_guard<std::mutex> lock(mutex_);
        answer_ = std::move(answer);
    }
    /// @brief Holds every request that arrives until open_gate().
    void close_gate() {
        std::lock_guard<std::mutex> lock(mutex_);
        gate_open_ = false;
    }
    void open_gate() {
        std::lock_guard<std::mutex> lock(mutex_);
        gate_open_ = true;
        changed_.notify_all();
    }
    int requests() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }
    /// @brief Waits until n requests have arrived (30 s at most, a safety net).
    bool wait_for_requests(int n) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return requests_ >= n; });
    }

    oauth2cc::http_response send(const oauth2cc::http_request&) override {
        std::unique_lock<std::mutex> lock(mutex_);
        const int n = ++requests_;
        changed_.notify_all();
        changed_.wait(lock, [&] { return gate_open_; });
        return answer_(n);
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    answer_fn answer_;
    bool gate_open_ = true;
    int requests_ = 0;
};

/// @brief A token_manager logger that keeps every line and lets a test wait for the
/// outcome of the n-th request.
class log_watch {
public:
    std::function<void(oauth2cc::log_level, std::string_view)> sink() {
        return [this](oauth2cc::log_level level, std::string_view line) {
            std::lock_guard<std::mutex> lock(mutex_);
            lines_.emplace_back(level, std::string(line));
            if (line.rfind("token for client", 0) == 0) {
                ++successes_;
            } else {
                ++failures_;
            }
            changed_.notify_all();
        };
    }
    /// @brief Waits until n requests have succeeded (30 s at most, a safety net).
    bool wait_successes(int n) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return successes_ >= n; });
    }
    bool wait_failures(int n) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return failures_ >= n; });
    }
    std::vector<std::pair<oauth2cc::log_level, std::string>> lines() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return lines_;
    }
    /// @brief Every line so far, one per line.
    std::string text() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::string out;
        for (const auto& entry : lines_) out += entry.second + "\n";
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::pair<oauth2cc::log_level, std::string>> lines_;
    int successes_ = 0;
    int failures_ = 0;
};

}  // namespace oauth2cc_test
