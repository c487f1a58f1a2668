// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/proxy.hpp: proxy URLs, and the proxy environment variables read as curl reads them.
// SPDX-License-Identifier: MIT
#pragma once

#include "../text/form.hpp"
#include "../text/text.hpp"
#include "url.hpp"

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief An HTTP proxy: where it is, and the Basic credentials it wants, if any.
struct proxy_parts {
    std::string host;  ///< As written, IPv6 literals without their brackets.
    int port = 1080;   ///< curl's default for a proxy without a port.
    std::string user;  ///< Percent-decoded.
    std::string password;
};

/// @brief Decodes %XX escapes; other bytes stay.
inline std::string percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
        const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
        if (in[i] == '%' && hi >= 0 && lo >= 0) {
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// @brief Parses "http://[user[:password]@]host[:port][/]"; a URL without a scheme is
/// taken as http://, as curl does. Empty for anything else (https:// and socks proxies
/// included: cpp-httplib speaks plain HTTP to a proxy, and CONNECT through it for
/// https:// targets).
inline std::optional<proxy_parts> parse_proxy(std::string_view url) {
    std::string text(trim(url));
    if (text.find("://") == std::string::npos) text.insert(0, "http://");
    const std::size_t scheme_end = text.find("://");
    if (!iequals(std::string_view(text).substr(0, scheme_end), "http")) return std::nullopt;
    proxy_parts out;
    const std::size_t authority_start = scheme_end + 3;
    const std::size_t authority_end = text.find_first_of("/?#", authority_start);
    std::string authority = text.substr(authority_start, authority_end - authority_start);
    if (authority_end != std::string::npos) {
        const std::string_view rest = std::string_view(text).substr(authority_end);
        if (rest != "/") return std::nullopt;  // a proxy has no path
    }
    const std::size_t at = authority.rfind('@');
    if (at != std::string::npos) {
        const std::string userinfo = authority.substr(0, at);
        const std::size_t colon = userinfo.find(':');
        out.user = percent_decode(userinfo.substr(0, colon));
        if (colon != std::string::npos) out.password = percent_decode(userinfo.substr(colon + 1));
        authority.erase(0, at + 1);
        if (out.user.empty() || has_control(out.user) || has_control(out.password)) {
            return std::nullopt;
        }
    }
    // The host and port as an http URL would have them; a missing port is 1080.
    const std::size_t close = authority.rfind(']');
    const std::size_t colon = authority.rfind(':');
    const bool has_port =
        colon != std::string::npos && (close == std::string::npos || colon > close);
    const auto parts = parse_url("http://" + authority + "/");
    if (!parts) return std::nullopt;
    out.host = parts->host;
    out.port = has_port ? parts->port : 1080;
    return out;
}

/// @brief Whether an IP address lies in "address/bits"; false for anything that is not
/// two addresses of one family.
inline bool in_cidr(const std::string& host, std::string_view entry) {
    const std::size_t slash = entry.find('/');
    if (slash == std::string_view::npos) return false;
    const std::string net(entry.substr(0, slash));
    int bits = 0;
    for (char c : entry.substr(slash + 1)) {
        if (c < '0' || c > '9' || bits > 128) return false;
        bits = bits * 10 + (c - '0');
    }
    unsigned char a[16], b[16];
    std::size_t length = 0;
    if (inet_pton(AF_INET, host.c_str(), a) == 1 && inet_pton(AF_INET, net.c_str(), b) == 1) {
        length = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), a) == 1 &&
               inet_pton(AF_INET6, net.c_str(), b) == 1) {
        length = 16;
    } else {
        return false;
    }
    if (slash + 1 == entry.size() || bits > static_cast<int>(length * 8)) return false;
    for (std::size_t i = 0; i < length && bits > 0; ++i, bits -= 8) {
        const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
        if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
}

/// @brief Whether a NO_PROXY list, as curl reads it, exempts host: "*" exempts every
/// host; otherwise each comma-separated entry (a leading '.' dropped, IPv6 without
/// brackets) matches that host and the hosts under it, and an "address/bits" entry
/// matches the IP addresses in that range.
inline bool no_proxy_matches(std::string_view list, std::string_view host) {
    std::string h(host);
    if (!h.empty() && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    while (!h.empty() && h.back() == '.') h.pop_back();
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(',', start);
        if (end == std::string_view::npos) end = list.size();
        std::string_view entry = trim(list.substr(start, end - start));
        start = end + 1;
        if (entry == "*") return true;
        std::string unbracketed;
        if (!entry.empty() && entry.front() == '[' && entry.find(']') != std::string_view::npos) {
            const std::size_t close = entry.find(']');
            unbracketed =
                std::string(entry.substr(1, close - 1)) + std::string(entry.substr(close + 1));
            entry = unbracketed;
        }
        while (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
        while (!entry.empty() && entry.back() == '.') entry.remove_suffix(1);
        if (entry.empty()) continue;
        if (entry.find('/') != std::string_view::npos) {
            if (in_cidr(h, entry)) return true;
            continue;
        }
        if (iequals(h, entry)) return true;
        if (h.size() > entry.size() && h[h.size() - entry.size() - 1] == '.' &&
            iequals(std::string_view(h).substr(h.size() - entry.size()), entry)) {
            return true;
        }
    }
    return false;
}

}  // namespace oauth2cc::detail
