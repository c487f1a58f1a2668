// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_helpers.hpp: small helpers that many tests share.
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oauth2cc_test {

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

}  // namespace oauth2cc_test
