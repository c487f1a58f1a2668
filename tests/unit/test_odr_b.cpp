// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_odr_b.cpp: the umbrella header in a second unit, linked with test_odr_a.cpp.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

namespace oauth2cc_test {
const void* odr_version_address_b() { return &oauth2cc::version; }
const void* odr_version_string_data_b() { return oauth2cc::version_string.data(); }
using request_token_fn = oauth2cc::token (*)(const oauth2cc::client_config&, oauth2cc::transport&);
request_token_fn odr_request_token_b() { return &oauth2cc::request_token; }
std::string_view odr_kind_name_b() { return oauth2cc::to_string(oauth2cc::error_kind::oauth); }
}  // namespace oauth2cc_test
