// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/url.hpp: the parts of an http(s) URL that a client needs, and the loopback rule.
// SPDX-License-Identifier: MIT
#pragma once

#include "../text/form.hpp"
#include "../text/text.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

struct url_parts {
    bool https = false;
    std::string host;  ///< As written, IPv6 literals without their brackets.
    int port = 0;      ///< The explicit port, else 443 or 80.
    std::string path;  ///< Path and query, at least "/".
};

/// @brief Parses an absolute http or https URL. Refuses user info ("user:pass@"), a
/// fragment, controls and spaces, an empty host, a bad port: those are empty results.
inline std::optional<url_parts> parse_url(std::string_view url) {
    url_parts parts;
    for (char c : url) {
        if (is_control(c) || c == ' ') return std::nullopt;
    }
    const std::size_t colon = url.find("://");
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string_view scheme = url.substr(0, colon);
    if (iequals(scheme, "https")) {
        parts.https = true;
    } else if (!iequals(scheme, "http")) {
        return std::nullopt;
    }
    std::string_view rest = url.substr(colon + 3);
    if (rest.find('#') != std::string_view::npos) return std::nullopt;
    const std::size_t path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    parts.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (parts.path.front() == '?') parts.path.insert(0, "/");
    if (authority.find('@') != std::string_view::npos) return std::nullopt;

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        parts.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port_text = after.substr(1);
        }
    } else {
        const std::size_t port_colon = authority.find(':');
        parts.host = std::string(authority.substr(0, port_colon));
        if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
    }
    if (parts.host.empty()) return std::nullopt;
    parts.port = parts.https ? 443 : 80;
    if (!port_text.empty()) {
        int port = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9') return std::nullopt;
            port = port * 10 + (c - '0');
            if (port > 65535) return std::nullopt;
        }
        if (port == 0) return std::nullopt;
        parts.port = port;
    }
    return parts;
}

/// @brief The one rule of parse_url() that url breaks, first found, in words for a message
/// that never quotes the URL (it may carry a password); empty when it breaks none.
inline std::string url_problem(std::string_view url) {
    if (url.empty()) return "is empty";
    for (char c : url) {
        if (is_control(c) || c == ' ') return "holds a space or a control character";
    }
    const std::size_t colon = url.find("://");
    if (colon == std::string_view::npos) return "has no scheme: write https://host/path";
    const std::string_view scheme = url.substr(0, colon);
    if (!iequals(scheme, "https") && !iequals(scheme, "http")) {
        return "has a scheme other than https:// or http://";
    }
    const std::string_view rest = url.substr(colon + 3);
    if (rest.find('#') != std::string_view::npos) return "has a fragment (#...): remove it";
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (authority.find('@') != std::string_view::npos) {
        return "carries user info (user:password@): give credentials in their own settings";
    }
    if (authority.empty() || authority.front() == ':') return "has no host";
    if (!parse_url(url)) return "has a port that is not a number from 1 to 65535";
    return {};
}

/// @brief "https://host:port", with IPv6 literals in brackets.
inline std::string origin_of(const url_parts& url) {
    std::string origin = url.https ? "https://" : "http://";
    const bool ipv6 = url.host.find(':') != std::string::npos;
    if (ipv6) origin.push_back('[');
    origin += url.host;
    if (ipv6) origin.push_back(']');
    origin += ":" + std::to_string(url.port);
    return origin;
}

/// @brief True for `localhost`, `::1` (written `[::1]` in a URL), and 127.0.0.0/8 in
/// canonical dotted-decimal form: four octets of 0 to 255 without leading zeros. Nothing
/// else counts, since a resolver reads other spellings differently (`0127.0.0.1` is octal,
/// 87.0.0.1; `127.0.0.08` is no address and goes to DNS; `127.1` is 127.0.0.1 to some
/// resolvers and a name to others).
inline bool is_loopback_host(std::string_view host) {
    if (iequals(host, "localhost") || host == "::1") return true;
    int octets = 0;
    std::size_t start = 0;
    int first = -1;
    while (start <= host.size()) {
        std::size_t end = host.find('.', start);
        if (end == std::string_view::npos) end = host.size();
        const std::string_view octet = host.substr(start, end - start);
        if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) {
            return false;
        }
        int value = 0;
        for (char c : octet) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255) return false;
        if (octets == 0) first = value;
        ++octets;
        start = end + 1;
    }
    return octets == 4 && first == 127;
}

/// @brief The request target as it goes on the wire: the caller's bytes, percent escapes
/// kept as written, and only what may not appear in a target escaped (non-ASCII and the
/// characters RFC 3986 excludes). cpp-httplib's own re-encoding is off: it turned '+' into
/// %2B, so a form-encoded space arrived as a plus sign. A DPoP proof's `htu` is made by the
/// same function (dpop_htu), so that it names the URI the server receives.
inline std::string wire_target(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
            c == '{' || c == '|' || c == '}') {
            append_percent_escape(out, u);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace oauth2cc::detail
