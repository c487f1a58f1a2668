// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_odr_a.cpp: the umbrella header in a first unit; test_odr_b.cpp is the second.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>

namespace oauth2cc_test {
const void* odr_version_address_b();
const void* odr_version_string_data_b();
using request_token_fn = oauth2cc::token (*)(const oauth2cc::client_config&, oauth2cc::transport&);
request_token_fn odr_request_token_b();
std::string_view odr_kind_name_b();
}  // namespace oauth2cc_test

TEST_CASE("odr: two units that include the umbrella link into one program") {
    // The inline variables are one entity across units, not one copy per unit.
    CHECK(static_cast<const void*>(&oauth2cc::version) == oauth2cc_test::odr_version_address_b());
    CHECK(static_cast<const void*>(oauth2cc::version_string.data()) ==
          oauth2cc_test::odr_version_string_data_b());
    // An OAUTH2CC_INLINE body is one function across units, with one address.
    const oauth2cc_test::request_token_fn here = &oauth2cc::request_token;
    const bool same_function = here == oauth2cc_test::odr_request_token_b();
    CHECK(same_function);
    CHECK(oauth2cc::to_string(oauth2cc::error_kind::oauth) == oauth2cc_test::odr_kind_name_b());
}
