// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// agent/request_parser.hpp: the agent's reader of an HTTP/1.1 request head: the request
// line (an upper-case method, an origin-form target, HTTP/1.0 or 1.1) and at most 64
// header fields, names lower-cased, values without control characters. Fuzzed by
// tests/fuzz/fuzz_agent_request.cpp.
// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc_agent {

/// @brief One request, as the parser read it.
struct request {
    std::string method;
    std::string path;                                          ///< the target before '?'
    std::string query;                                         ///< after '?', still percent-encoded
    std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case
    /// The caller: on a UNIX socket its uid; on TCP none.
    std::optional<uid_t> peer_uid;
    bool tcp = false;

    /// @brief The first header of this name (lower case), or null.
    const std::string* header(std::string_view name) const {
        for (const auto& [n, v] : headers)
            if (n == name) return &v;
        return nullptr;
    }
};

/// @brief An answer.
struct response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// @brief What parse_request() made of a request's head.
enum class parse_status { complete, incomplete, bad };

/// @brief Parses the head in data (up to and with its blank line) into out. incomplete:
/// the blank line has not come yet.
inline parse_status parse_request(std::string_view data, request& out) {
    const auto end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) return parse_status::incomplete;
    std::string_view head = data.substr(0, end + 2);
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos) return parse_status::bad;
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return parse_status::bad;
    for (const char c : method)
        if (c < 'A' || c > 'Z') return parse_status::bad;
    if (target.empty() || target.front() != '/') return parse_status::bad;
    for (const char c : target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return parse_status::bad;
    out.method = std::string(method);
    const auto q = target.find('?');
    out.path = std::string(target.substr(0, q));
    out.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));

    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
        const auto eol = head.find("\r\n");
        const std::string_view field = head.substr(0, eol);
        head.remove_prefix(eol + 2);
        const auto colon = field.find(':');
        if (colon == 0 || colon == std::string_view::npos) return parse_status::bad;
        std::string name(field.substr(0, colon));
        for (auto& c : name) {
            const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                               (c >= '0' && c <= '9') || std::strchr("!#$%&'*+-.^_`|~", c);
            if (!token || c == '\0') return parse_status::bad;
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        std::string_view value = field.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
            value.remove_suffix(1);
        for (const char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f) return parse_status::bad;
        }
        if (out.headers.size() == 64) return parse_status::bad;
        out.headers.emplace_back(std::move(name), std::string(value));
    }
    return parse_status::complete;
}

}  // namespace oauth2cc_agent
