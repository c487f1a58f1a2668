// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_form.cpp: form encoding, Basic credentials and scope tokens, byte for byte.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/detail/text/form.hpp>

#include <doctest/doctest.h>

#include <string>

using oauth2cc::detail::base64_encode;
using oauth2cc::detail::form_decode;
using oauth2cc::detail::form_encode;
using oauth2cc::detail::is_scope_token;
using oauth2cc::detail::parse_form;

TEST_CASE("form: encoding keeps the unreserved set, + for space, %XX upper-case") {
    CHECK(form_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(form_encode("a b") == "a+b");
    CHECK(form_encode("+:%/?#&=") == "%2B%3A%25%2F%3F%23%26%3D");
    CHECK(form_encode("\xc3\xbc") == "%C3%BC");
    CHECK(form_encode(std::string("\0\x7f\xff", 3)) == "%00%7F%FF");
    CHECK(form_encode("!*'()") == "%21%2A%27%28%29");
    CHECK(form_encode("") == "");
}

TEST_CASE("form: decoding reverses encoding and refuses broken escapes") {
    CHECK(form_decode("a+b%2Bc%3a") == std::string("a b+c:"));
    CHECK(form_decode(form_encode("p\xc3\xa4ss w/?#&=")) == std::string("p\xc3\xa4ss w/?#&="));
    CHECK_FALSE(form_decode("%"));
    CHECK_FALSE(form_decode("%4"));
    CHECK_FALSE(form_decode("%G0"));
    const auto fields = parse_form("a=1&b=x+y&&c=&d");
    REQUIRE(fields);
    REQUIRE(fields->size() == 4);
    CHECK((*fields)[1].second == "x y");
    CHECK((*fields)[2].second.empty());
    CHECK((*fields)[3].first == "d");
}

TEST_CASE("form: base64 matches RFC 4648 §10") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("form: scope tokens follow RFC 6749 §3.3 NQCHAR") {
    CHECK(is_scope_token("read_date"));
    CHECK(is_scope_token("https://api.example.com/.default"));
    CHECK(is_scope_token("!#[]~"));
    CHECK_FALSE(is_scope_token(""));
    CHECK_FALSE(is_scope_token("two words"));
    CHECK_FALSE(is_scope_token("quote\""));
    CHECK_FALSE(is_scope_token("back\\slash"));
    CHECK_FALSE(is_scope_token("tab\t"));
    CHECK_FALSE(is_scope_token("\xc3\xbc"));
}
