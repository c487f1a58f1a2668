// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// harness.hpp: what a docs fragment (a ```cpp block without main()) may use without
// defining it; tests/docs/build_blocks.py compiles each fragment as the body of
// fragment() below (docs/README.md states this harness for the reader).
// SPDX-License-Identifier: MIT
#pragma once

#include <oauth2cc/oauth2cc.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc_docs {

/// The file's contents (a secret, a key).
std::string read_file(const std::string& path);
/// Sends your request with that token.
void send_with(const oauth2cc::token& t);
/// Reports an error your way.
void report(const oauth2cc::error& e);
/// A request of your HTTP client, which takes headers.
struct request {
    void set_header(const std::string& name, const std::string& value);
};
extern request my_request;

/// A fragment's body: cfg is your client's configuration, tokens its manager, and
/// gateway_tokens another manager (a gateway's own).
void fragment(oauth2cc::client_config cfg, oauth2cc::token_manager& tokens,
              oauth2cc::token_manager& gateway_tokens);

}  // namespace oauth2cc_docs
