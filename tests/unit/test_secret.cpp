// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_secret.cpp: a secret never prints and is wiped when replaced or moved from.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <utility>

TEST_CASE("secret: streams as *** and reveals only on request") {
    const oauth2cc::secret s{"hunter2-very-secret"};
    std::ostringstream out;
    out << s;
    CHECK(out.str() == "***");
    CHECK(s.reveal() == "hunter2-very-secret");
    CHECK_FALSE(s.empty());
    CHECK(oauth2cc::secret{}.empty());
    CHECK(oauth2cc::secret{""}.empty());
}

TEST_CASE("secret: copies and moves keep the value") {
    oauth2cc::secret a{"value-one"};
    oauth2cc::secret b = a;
    CHECK(b.reveal() == "value-one");
    oauth2cc::secret c = std::move(a);
    CHECK(c.reveal() == "value-one");
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is wiped and empty
    b = oauth2cc::secret{"value-two"};
    CHECK(b.reveal() == "value-two");
    c = b;
    CHECK(c.reveal() == "value-two");
}

TEST_CASE("secret: the old value's bytes are zeroed when it is replaced") {
    const std::string long_value(64, 'S');  // beyond any small-string buffer
    oauth2cc::secret s{long_value};
    const char* buffer = s.reveal().data();
    const std::size_t capacity = s.reveal().capacity();
    REQUIRE(capacity >= long_value.size());

    // Copy-assigning a shorter value reuses the same allocation, so its bytes stay ours
    // to read (libstdc++ and libc++ both keep the capacity on a shorter assignment).
    const oauth2cc::secret shorter{"x"};
    s = shorter;
    REQUIRE(s.reveal().data() == buffer);
    CHECK(buffer[0] == 'x');
    bool rest_zero = true;
    for (std::size_t i = 1; i < long_value.size(); ++i) rest_zero = rest_zero && buffer[i] == '\0';
    CHECK(rest_zero);
}
