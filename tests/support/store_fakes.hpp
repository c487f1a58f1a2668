// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// store_fakes.hpp: stored entries, files written and listed, and a store in memory whose
// operations can be made to fail, for the tests of token stores and of token_manager with
// a store.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oauth2cc_test {

/// @brief The secret of store_client(): every stored file and entry is searched for it.
inline constexpr const char* store_client_secret = "Store-S3cret-never-on-disk";

/// @brief The client whose tokens the store tests keep.
inline oauth2cc::client_config store_client() {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/token";
    cfg.client_id = "reporting-job";
    cfg.client_secret = oauth2cc::secret{store_client_secret};
    cfg.scopes = {"read_date"};
    return cfg;
}

/// @brief A refresh policy whose jitter repeats from run to run.
inline oauth2cc::refresh_policy seeded_policy() {
    oauth2cc::refresh_policy p;
    p.refresh_jitter = 0;  // refresh points exactly at the lead
    p.jitter_seed = 7;
    return p;
}

/// @brief A Bearer entry for read_date, issued at `issued`, living `lifetime`.
inline oauth2cc::stored_token stored_entry(const std::string& value,
                                           std::chrono::system_clock::time_point issued,
                                           std::chrono::system_clock::duration lifetime) {
    oauth2cc::stored_token e;
    e.access_token = oauth2cc::secret{value};
    e.token_type = "Bearer";
    e.scope = "read_date";
    e.issued_at = issued;
    e.expires_at = issued + lifetime;
    return e;
}

/// @brief A wall-clock time in whole seconds since the epoch.
inline std::int64_t seconds_of(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

/// @brief Writes text to path with mode (REQUIREs that it worked).
inline void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    REQUIRE(fd >= 0);
    REQUIRE(::fchmod(fd, mode) == 0);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
}

/// @brief The names of the files in dir.
inline std::set<std::string> names_in(const std::filesystem::path& dir) {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        out.insert(e.path().filename().string());
    return out;
}

/// @brief A store in memory whose operations can be made to fail.
struct scripted_store : oauth2cc::token_store {
    std::mutex m;
    std::optional<oauth2cc::stored_token> held;
    bool fail_save = false, fail_remove = false;
    int saves = 0;
    std::optional<oauth2cc::stored_token> load(const std::string&) override {
        std::lock_guard<std::mutex> lock(m);
        return held;
    }
    void save(const std::string&, const oauth2cc::stored_token& e) override {
        std::lock_guard<std::mutex> lock(m);
        if (fail_save) throw oauth2cc::error(oauth2cc::error_kind::config, "disk full (scripted)");
        held = e;
        ++saves;
    }
    void remove(const std::string&) override {
        std::lock_guard<std::mutex> lock(m);
        if (fail_remove)
            throw oauth2cc::error(oauth2cc::error_kind::config, "read-only (scripted)");
        held.reset();
    }
};

}  // namespace oauth2cc_test
