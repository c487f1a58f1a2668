// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_version.cpp: the version macros, constants and the build's project version agree.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_CASE("version: the constants match the macros") {
    CHECK(oauth2cc::version.major == OAUTH2CC_VERSION_MAJOR);
    CHECK(oauth2cc::version.minor == OAUTH2CC_VERSION_MINOR);
    CHECK(oauth2cc::version.patch == OAUTH2CC_VERSION_PATCH);
    CHECK(oauth2cc::version_string == OAUTH2CC_VERSION_STRING);
    const std::string joined = std::to_string(OAUTH2CC_VERSION_MAJOR) + "." +
                               std::to_string(OAUTH2CC_VERSION_MINOR) + "." +
                               std::to_string(OAUTH2CC_VERSION_PATCH);
    CHECK(joined == OAUTH2CC_VERSION_STRING);
    CHECK(OAUTH2CC_VERSION ==
          OAUTH2CC_VERSION_MAJOR * 10000 + OAUTH2CC_VERSION_MINOR * 100 + OAUTH2CC_VERSION_PATCH);
}

TEST_CASE("version: the build system's project version is the header's") {
    // CMake and Meson read the version out of config.hpp; this proves they did.
    CHECK(std::string(OAUTH2CC_TEST_PROJECT_VERSION) == OAUTH2CC_VERSION_STRING);
}

TEST_CASE("version: versions order by major, then minor, then patch") {
    using oauth2cc::version_info;
    static_assert(version_info{1, 0, 0}.compare(version_info{0, 9, 9}) > 0);
    CHECK(version_info{1, 2, 3}.compare(version_info{1, 2, 3}) == 0);
    CHECK(version_info{1, 2, 3}.compare(version_info{1, 3, 0}) < 0);
    CHECK(version_info{1, 2, 4}.compare(version_info{1, 2, 3}) > 0);
    CHECK(version_info{2, 0, 0}.compare(version_info{10, 0, 0}) < 0);
}
