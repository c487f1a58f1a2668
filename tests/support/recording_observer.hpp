// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// recording_observer.hpp: a metrics_observer that keeps every event, for tests to count
// and wait on.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace oauth2cc_test {

/// @brief Keeps each event as a line ("request success 200", "store load hit",
/// "wait got", "unauthorized", "nonce resource_server", "attach", "detach"), with the
/// thread it came on.
class recording_observer : public oauth2cc::metrics_observer {
public:
    void on_token_request(const oauth2cc::token_request_event& e) override {
        std::string line = "request " + std::string(oauth2cc::to_string(e.outcome));
        if (e.http_status != 0) line += " " + std::to_string(e.http_status);
        if (!e.oauth_error.empty()) line += " " + std::string(e.oauth_error);
        if (e.retry) line += " retry";
        if (e.dpop_nonce_retries > 0) line += " nonce";
        if (e.credential_rotations > 0) line += " rotated";
        add(line, e.client_id);
    }
    void on_wait(std::string_view id, std::chrono::nanoseconds, bool got) override {
        add(got ? "wait got" : "wait failed", id);
    }
    void on_store(const oauth2cc::store_event& e) override {
        add("store " + std::string(oauth2cc::to_string(e.operation)) + " " +
                std::string(oauth2cc::to_string(e.result)),
            e.client_id);
    }
    void on_unauthorized_retry(std::string_view id) override { add("unauthorized", id); }
    void on_dpop_nonce_retry(std::string_view id, oauth2cc::nonce_origin where) override {
        add("nonce " + std::string(oauth2cc::to_string(where)), id);
    }
    void on_attach(const oauth2cc::token_manager& m, std::string_view id) override {
        m.stats();  // allowed here
        add("attach", id);
    }
    void on_detach(const oauth2cc::token_manager& m) override {
        m.stats();
        add("detach", "");
    }

    /// @brief How many events equal line.
    int count(const std::string& line) const {
        std::lock_guard<std::mutex> lock(mutex_);
        int n = 0;
        for (const auto& l : lines_) n += l == line ? 1 : 0;
        return n;
    }
    /// @brief How many events start with prefix.
    int count_prefix(const std::string& prefix) const {
        std::lock_guard<std::mutex> lock(mutex_);
        int n = 0;
        for (const auto& l : lines_) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
        return n;
    }
    std::vector<std::string> lines() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return lines_;
    }
    std::vector<std::string> client_ids() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return ids_;
    }
    /// @brief Waits until n events start with prefix (30 s at most, a safety net).
    bool wait_for(const std::string& prefix, int n) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(30), [&] {
            int k = 0;
            for (const auto& l : lines_) k += l.rfind(prefix, 0) == 0 ? 1 : 0;
            return k >= n;
        });
    }

private:
    void add(std::string line, std::string_view id) {
        std::lock_guard<std::mutex> lock(mutex_);
        lines_.push_back(std::move(line));
        ids_.emplace_back(id);
        changed_.notify_all();
    }
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> lines_;
    std::vector<std::string> ids_;
};

}  // namespace oauth2cc_test
