// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/trace.hpp: the W3C traceparent header of outgoing requests, and spans that
// end when their scope does.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../http.hpp"
#include "../../metrics.hpp"
#include "../../tracing.hpp"
#include "../text/text.hpp"
#include "url.hpp"

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief "host:port" of a URL, for log lines and spans; "?" when it is not one.
inline std::string server_of(std::string_view url) {
    const auto parts = parse_url(url);
    return parts ? excerpt(parts->host, 100) + ":" + std::to_string(parts->port) : "?";
}

/// @brief True for a W3C Trace Context `traceparent` value of version 00:
/// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lower case, ids not all zero.
inline bool is_traceparent(std::string_view v) noexcept {
    if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
    const auto hex = [&v](std::size_t from, std::size_t n, bool nonzero) {
        bool any = false;
        for (std::size_t i = from; i < from + n; ++i) {
            const char c = v[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
            any = any || c != '0';
        }
        return any || !nonzero;
    };
    return v.substr(0, 2) == "00" && hex(3, 32, true) && hex(36, 16, true) && hex(53, 2, false);
}

/// @brief Adds `traceparent` from source when it is set and gives a valid value, and the
/// request has none of its own; a source that throws, or gives an empty or malformed
/// value, adds nothing (tracing never fails a request, and a malformed value is not
/// passed on).
inline void add_traceparent(http_request& req, const std::function<std::string()>& source) {
    if (!source) return;
    for (const auto& header : req.headers) {
        if (iequals(header.first, "traceparent")) return;
    }
    std::string value;
    try {
        value = source();
    } catch (...) {
        return;
    }
    if (is_traceparent(value)) req.headers.emplace_back("traceparent", std::move(value));
}

/// @brief A span that ends when the scope does: as set by answered() and failed(), or as
/// a failure of the transport when an exception leaves the scope unreported.
class span_scope {
public:
    span_scope(const std::shared_ptr<tracer>& by, const span_start& what,
               trace_span* parent = nullptr) noexcept
        : exceptions_(std::uncaught_exceptions()) {
        if (!by) return;
        try {
            span_ = by->start_span(what, parent);
        } catch (...) {
            span_.reset();
        }
    }
    span_scope(const span_scope&) = delete;
    span_scope& operator=(const span_scope&) = delete;
    ~span_scope() {
        if (!span_) return;
        if (!reported_ && std::uncaught_exceptions() > exceptions_) {
            how_.outcome = request_outcome::transport;
        }
        how_.oauth_error = oauth_error_;
        span_->end(how_);
    }

    /// @brief The span, as the parent of others; null when there is none.
    trace_span* get() const noexcept { return span_.get(); }

    /// @brief A response came: its status (an outcome of success until failed() says).
    void answered(int status) noexcept { how_.http_status = status; }

    /// @brief The span failed with e.
    void failed(const error& e) noexcept {
        reported_ = true;
        how_.outcome = outcome_of(e.kind());
        if (e.http_status() != 0) how_.http_status = e.http_status();
        try {
            oauth_error_ = e.oauth_error();
        } catch (...) {
            oauth_error_.clear();
        }
    }

    /// @brief A Bearer or DPoP error a resource server gave with a 401 or 403.
    void challenged(std::string_view code) {
        if (span_) oauth_error_ = std::string(code);
    }

    /// @brief How a token acquisition was served.
    void served(cache_outcome cache) noexcept { how_.cache = cache; }

    /// @brief The outcome is set: an exception leaving the scope now is not the span's.
    void done() noexcept { reported_ = true; }

private:
    std::unique_ptr<trace_span> span_;
    span_end how_;
    std::string oauth_error_;
    int exceptions_;
    bool reported_ = false;
};

}  // namespace oauth2cc::detail
