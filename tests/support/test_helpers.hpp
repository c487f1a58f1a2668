// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_helpers.hpp: small helpers that many tests share.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/detail/text/form.hpp>

#include <doctest/doctest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oauth2cc_test {

/// @brief The client most unit tests start from: client_secret_basic at
/// https://auth.example.com/token, with the id, secret and scopes the test names (a
/// distinctive secret lets a test search every output for it).
inline oauth2cc::client_config secret_client(std::string client_id, std::string client_secret,
                                             std::vector<std::string> scopes = {}) {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/token";
    cfg.client_id = std::move(client_id);
    cfg.client_secret = oauth2cc::secret{std::move(client_secret)};
    cfg.scopes = std::move(scopes);
    return cfg;
}

/// @brief The oauth2cc::error a call throws; fails the test when it throws none.
template <class F>
oauth2cc::error thrown_by(F&& call) {
    try {
        call();
    } catch (const oauth2cc::error& e) {
        return e;
    }
    FAIL("no oauth2cc::error was thrown");
    return oauth2cc::error(oauth2cc::error_kind::config, "unreachable");
}

/// @brief A port on 127.0.0.1 with nothing listening on it.
inline int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// @brief Runs body(i) for i in [0, n) on n threads released together; returns once all
/// have finished.
template <class F>
void on_threads(int n, F body) {
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            {
                std::unique_lock<std::mutex> lock(m);
                cv.wait(lock, [&] { return go; });
            }
            body(i);
        });
    }
    {
        std::lock_guard<std::mutex> lock(m);
        go = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
}

/// @brief A whole file's bytes; empty when it cannot be read.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// @brief The permission bits of path itself (a symbolic link is not followed).
inline mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

/// @brief A private temporary directory (mode 0700), removed with everything in it.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "oauth2cc-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::permissions(path, std::filesystem::perms::owner_all, ignored);
        std::filesystem::remove_all(path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    /// @brief The path of name inside it.
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

/// @brief How many times needle occurs in text (overlapping ones each count).
inline int count_of(const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

/// @brief The values of one form field of a request body, in order.
inline std::vector<std::string> form_fields(const std::string& body, const std::string& name) {
    std::vector<std::string> out;
    if (const auto form = oauth2cc::detail::parse_form(body)) {
        for (const auto& [n, v] : *form) {
            if (n == name) out.push_back(v);
        }
    }
    return out;
}

/// @brief The value of one form field of a request body ("" when absent).
inline std::string form_field(const std::string& body, const std::string& name) {
    const auto all = form_fields(body, name);
    return all.empty() ? std::string() : all.front();
}

}  // namespace oauth2cc_test
