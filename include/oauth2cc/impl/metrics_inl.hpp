// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/metrics_inl.hpp: the names of the metrics enums, and prometheus_exporter.
// SPDX-License-Identifier: MIT
#pragma once

#include "../metrics.hpp"
#include "../token_manager.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(request_outcome outcome) noexcept {
    switch (outcome) {
        case request_outcome::success:
            return "success";
        case request_outcome::config:
            return "config";
        case request_outcome::transport:
            return "transport";
        case request_outcome::tls:
            return "tls";
        case request_outcome::http_status:
            return "http_status";
        case request_outcome::oauth:
            return "oauth";
        case request_outcome::bad_response:
            return "bad_response";
    }
    return "unknown";
}

OAUTH2CC_INLINE request_outcome outcome_of(error_kind kind) noexcept {
    switch (kind) {
        case error_kind::config:
            return request_outcome::config;
        case error_kind::transport:
            return request_outcome::transport;
        case error_kind::tls:
            return request_outcome::tls;
        case error_kind::http_status:
            return request_outcome::http_status;
        case error_kind::oauth:
            return request_outcome::oauth;
        case error_kind::bad_response:
            return request_outcome::bad_response;
    }
    return request_outcome::transport;
}

OAUTH2CC_INLINE std::string_view to_string(store_operation operation) noexcept {
    switch (operation) {
        case store_operation::load:
            return "load";
        case store_operation::save:
            return "save";
        case store_operation::remove:
            return "remove";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(store_result result) noexcept {
    switch (result) {
        case store_result::hit:
            return "hit";
        case store_result::miss:
            return "miss";
        case store_result::ok:
            return "ok";
        case store_result::failure:
            return "failure";
        case store_result::unavailable:
            return "unavailable";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(nonce_origin origin) noexcept {
    switch (origin) {
        case nonce_origin::token_endpoint:
            return "token_endpoint";
        case nonce_origin::resource_server:
            return "resource_server";
    }
    return "unknown";
}

namespace detail {

/// @brief A label value in the text format: backslash, double quote and line feed escaped.
inline std::string prometheus_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

/// @brief A sample value or bucket bound: the shortest text that reads back the same.
inline std::string prometheus_number(double value) {
    char text[40];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(text, sizeof text, "%.*g", precision, value);
        if (std::strtod(text, nullptr) == value) break;
    }
    return text;
}

/// @brief Writes the text format of one metric family, sample by sample.
class prometheus_writer {
public:
    explicit prometheus_writer(std::string& out) : out_(out) {}

    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }
    /// labels: name="value" pairs, already escaped, joined by commas
    void sample(std::string_view name, const std::string& labels, const std::string& value) {
        out_.append(name);
        if (!labels.empty()) out_.append("{").append(labels).append("}");
        out_.append(" ").append(value).append("\n");
    }
    void sample(std::string_view name, const std::string& labels, std::uint64_t value) {
        sample(name, labels, std::to_string(value));
    }

private:
    std::string& out_;
};

}  // namespace detail

OAUTH2CC_INLINE void prometheus_exporter::on_token_request(const token_request_event& event) {
    const double seconds = std::chrono::duration<double>(event.latency).count();
    const std::lock_guard<std::mutex> lock(mutex_);
    client_series& c = clients_[std::string(event.client_id)];
    ++c.requests[std::string(to_string(event.outcome))];
    const auto bucket = std::lower_bound(duration_buckets.begin(), duration_buckets.end(), seconds);
    if (bucket != duration_buckets.end()) ++c.buckets[bucket - duration_buckets.begin()];
    ++c.duration_count;
    c.duration_sum += seconds;
    if (event.retry) ++c.retries;
    if (event.dpop_nonce_retries > 0) {
        c.nonce_retries[std::string(to_string(nonce_origin::token_endpoint))] +=
            event.dpop_nonce_retries;
    }
}

OAUTH2CC_INLINE void prometheus_exporter::on_wait(std::string_view client_id,
                                                  std::chrono::nanoseconds waited, bool) {
    const std::lock_guard<std::mutex> lock(mutex_);
    client_series& c = clients_[std::string(client_id)];
    ++c.waits;
    c.wait_seconds += std::chrono::duration<double>(waited).count();
}

OAUTH2CC_INLINE void prometheus_exporter::on_store(const store_event& event) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++clients_[std::string(event.client_id)]
          .store[{std::string(to_string(event.operation)), std::string(to_string(event.result))}];
}

OAUTH2CC_INLINE void prometheus_exporter::on_unauthorized_retry(std::string_view client_id) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++clients_[std::string(client_id)].unauthorized_retries;
}

OAUTH2CC_INLINE void prometheus_exporter::on_dpop_nonce_retry(std::string_view client_id,
                                                              nonce_origin where) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++clients_[std::string(client_id)].nonce_retries[std::string(to_string(where))];
}

OAUTH2CC_INLINE void prometheus_exporter::on_attach(const token_manager& manager,
                                                    std::string_view client_id) {
    const std::lock_guard<std::mutex> lock(mutex_);
    clients_[std::string(client_id)];
    managers_.push_back({&manager, std::string(client_id)});
}

OAUTH2CC_INLINE void prometheus_exporter::on_detach(const token_manager& manager) {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = managers_.begin(); it != managers_.end(); ++it) {
        if (it->manager != &manager) continue;
        // Its counts stay in the totals, so that no counter goes down.
        const manager_stats last = manager.stats();
        client_series& c = clients_[it->client_id];
        c.gone_cache_hits += last.cache_hits;
        c.gone_fast_failures += last.fast_failures;
        managers_.erase(it);
        return;
    }
}

OAUTH2CC_INLINE std::string prometheus_exporter::text() const {
    struct pulled {
        std::uint64_t cache_hits = 0, fast_failures = 0, consecutive_failures = 0;
    };
    std::string out;
    detail::prometheus_writer w(out);
    const std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, pulled> from_stats;
    for (const auto& [id, c] : clients_) {
        from_stats[id] = {c.gone_cache_hits, c.gone_fast_failures, 0};
    }
    for (const attached& a : managers_) {
        const manager_stats s = a.manager->stats();
        pulled& p = from_stats[a.client_id];
        p.cache_hits += s.cache_hits;
        p.fast_failures += s.fast_failures;
        p.consecutive_failures = std::max(p.consecutive_failures, s.consecutive_failures);
    }
    const auto id_label = [](const std::string& id) {
        return "client_id=\"" + detail::prometheus_label(id) + "\"";
    };
    // A family with one sample per client: value(entry) of each entry of clients.
    const auto per_client = [&](const char* name, const char* type, const char* help,
                                const auto& clients, const auto& value) {
        w.family(name, type, help);
        for (const auto& [id, entry] : clients) w.sample(name, id_label(id), value(entry));
    };

    w.family("oauth2cc_token_requests_total", "counter",
             "Token requests made, by outcome: success or the kind of error.");
    for (const auto& [id, c] : clients_) {
        for (const auto& [outcome, n] : c.requests) {
            w.sample("oauth2cc_token_requests_total", id_label(id) + ",outcome=\"" + outcome + "\"",
                     n);
        }
    }
    w.family("oauth2cc_token_request_duration_seconds", "histogram",
             "How long token requests took, from start to outcome.");
    for (const auto& [id, c] : clients_) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < duration_buckets.size(); ++i) {
            cumulative += c.buckets[i];
            w.sample(
                "oauth2cc_token_request_duration_seconds_bucket",
                id_label(id) + ",le=\"" + detail::prometheus_number(duration_buckets[i]) + "\"",
                cumulative);
        }
        w.sample("oauth2cc_token_request_duration_seconds_bucket", id_label(id) + ",le=\"+Inf\"",
                 c.duration_count);
        w.sample("oauth2cc_token_request_duration_seconds_sum", id_label(id),
                 detail::prometheus_number(c.duration_sum));
        w.sample("oauth2cc_token_request_duration_seconds_count", id_label(id), c.duration_count);
    }
    per_client("oauth2cc_token_request_retries_total", "counter",
               "Token requests made after a failed one.", clients_,
               [](const client_series& c) { return c.retries; });
    per_client("oauth2cc_token_waits_total", "counter", "Callers that waited for a token request.",
               clients_, [](const client_series& c) { return c.waits; });
    per_client("oauth2cc_token_wait_seconds_total", "counter",
               "Time callers spent waiting for token requests.", clients_,
               [](const client_series& c) { return detail::prometheus_number(c.wait_seconds); });
    w.family("oauth2cc_token_store_operations_total", "counter",
             "Token store operations, by operation and result.");
    for (const auto& [id, c] : clients_) {
        for (const auto& [what, n] : c.store) {
            w.sample(
                "oauth2cc_token_store_operations_total",
                id_label(id) + ",operation=\"" + what.first + "\",result=\"" + what.second + "\"",
                n);
        }
    }
    per_client("oauth2cc_unauthorized_retries_total", "counter",
               "Calls repeated with a new token after a 401 for the old one.", clients_,
               [](const client_series& c) { return c.unauthorized_retries; });
    w.family("oauth2cc_dpop_nonce_retries_total", "counter",
             "Requests repeated with the DPoP nonce a server asked for, by origin.");
    for (const auto& [id, c] : clients_) {
        for (const auto& [where, n] : c.nonce_retries) {
            w.sample("oauth2cc_dpop_nonce_retries_total",
                     id_label(id) + ",origin=\"" + where + "\"", n);
        }
    }
    per_client("oauth2cc_token_cache_hits_total", "counter",
               "get() calls answered from the cached token.", from_stats,
               [](const pulled& p) { return p.cache_hits; });
    per_client("oauth2cc_token_fast_failures_total", "counter",
               "get() calls given the last error at once while backing off.", from_stats,
               [](const pulled& p) { return p.fast_failures; });
    per_client("oauth2cc_token_consecutive_failures", "gauge",
               "Failed token requests since the last success (the most of the client's managers).",
               from_stats, [](const pulled& p) { return p.consecutive_failures; });
    return out;
}

}  // namespace oauth2cc
