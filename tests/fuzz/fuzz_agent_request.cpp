// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_agent_request.cpp: libFuzzer target for oauth2cc-agent's request reader: any bytes
// give complete, incomplete or bad, never a crash; a complete head has an upper-case
// method, a path that starts with '/', and lower-case token names and values without
// control characters, none longer than the input.
// SPDX-License-Identifier: MIT

#include "../../examples/agent/request_parser.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    oauth2cc_agent::request req;
    const auto status = oauth2cc_agent::parse_request(in, req);
    if (status == oauth2cc_agent::parse_status::incomplete) {
        oauth2cc_fuzz::require(in.find("\r\n\r\n") == std::string_view::npos,
                               "incomplete only before the blank line");
    }
    if (status != oauth2cc_agent::parse_status::complete) return 0;
    oauth2cc_fuzz::require(!req.method.empty(), "a method");
    for (const char c : req.method) oauth2cc_fuzz::require(c >= 'A' && c <= 'Z', "method A-Z");
    oauth2cc_fuzz::require(!req.path.empty() && req.path.front() == '/', "an origin-form path");
    oauth2cc_fuzz::require(req.path.size() + req.query.size() <= size, "no longer than the input");
    oauth2cc_fuzz::require(req.headers.size() <= 64, "at most 64 header fields");
    for (const auto& [name, value] : req.headers) {
        oauth2cc_fuzz::require(!name.empty(), "a header name");
        for (const char c : name)
            oauth2cc_fuzz::require(!(c >= 'A' && c <= 'Z') && static_cast<unsigned char>(c) > 0x20,
                                   "lower-case token names");
        for (const char c : value) {
            const auto u = static_cast<unsigned char>(c);
            oauth2cc_fuzz::require((u >= 0x20 && u != 0x7f) || c == '\t', "no control characters");
        }
        oauth2cc_fuzz::require(req.header(name) != nullptr, "header() finds every name");
    }
    return 0;
}
