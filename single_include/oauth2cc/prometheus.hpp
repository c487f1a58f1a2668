// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// prometheus.hpp, beside the single header, of oauth2cc 0.2.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

#include "oauth2cc.hpp"

// ---- oauth2cc/prometheus.hpp ----

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief A metrics_observer that keeps what it sees as Prometheus metrics, by client id,
/// and writes them in the text exposition format (version 0.0.4) for a `/metrics`
/// endpoint:
///
/// - `oauth2cc_token_requests_total{client_id,outcome}` counter;
/// - `oauth2cc_token_request_duration_seconds{client_id}` histogram;
/// - `oauth2cc_token_request_retries_total{client_id}` counter: requests after a failure;
/// - `oauth2cc_token_waits_total{client_id}` counter and
///   `oauth2cc_token_wait_seconds_total{client_id}` counter of the time waited;
/// - `oauth2cc_token_store_operations_total{client_id,operation,result}` counter;
/// - `oauth2cc_unauthorized_retries_total{client_id}` counter;
/// - `oauth2cc_dpop_nonce_retries_total{client_id,origin}` counter;
/// - `oauth2cc_credential_rotations_total{client_id}` counter: rotated credential files
///   taken up (token_request_event::credential_rotations);
/// - from the stats() of the attached managers, read at each scrape:
///   `oauth2cc_token_cache_hits_total{client_id}` counter,
///   `oauth2cc_token_fast_failures_total{client_id}` counter (callers given the last
///   error while backing off), and `oauth2cc_token_consecutive_failures{client_id}` gauge.
///
/// Thread-safe. Its cost is one lock per event, never on a cached get().
class prometheus_exporter : public metrics_observer {
public:
    /// @brief The Content-Type of what text() writes.
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

    /// @brief The upper bounds, in seconds, of the request duration histogram's buckets
    /// (`+Inf` comes after them).
    static constexpr std::array<double, 12> duration_buckets{0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
                                                             0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

    prometheus_exporter() = default;
    prometheus_exporter(const prometheus_exporter&) = delete;
    prometheus_exporter& operator=(const prometheus_exporter&) = delete;

    /// @brief Every metric, in the Prometheus text exposition format 0.0.4.
    std::string text() const;

    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that does not use it emits neither its vtable nor its bodies.
    /// @brief Counts the request by outcome and times it in the histogram.
    OAUTH2CC_INLINE void on_token_request(const token_request_event& event) override;
    /// @brief Counts the wait and its time.
    OAUTH2CC_INLINE void on_wait(std::string_view client_id, std::chrono::nanoseconds waited,
                                 bool got_token) override;
    /// @brief Counts the store operation by operation and result.
    OAUTH2CC_INLINE void on_store(const store_event& event) override;
    /// @brief Counts the 401 retry.
    OAUTH2CC_INLINE void on_unauthorized_retry(std::string_view client_id) override;
    /// @brief Counts the nonce retry by origin.
    OAUTH2CC_INLINE void on_dpop_nonce_retry(std::string_view client_id,
                                             nonce_origin where) override;
    /// @brief Reads manager's stats() at each scrape from now on.
    OAUTH2CC_INLINE void on_attach(const token_manager& manager,
                                   std::string_view client_id) override;
    /// @brief Keeps manager's last counts, and reads its stats() no more.
    OAUTH2CC_INLINE void on_detach(const token_manager& manager) override;

private:
    /// What one client id has seen.
    struct client_series {
        std::map<std::string, std::uint64_t> requests;                 ///< by outcome
        std::array<std::uint64_t, duration_buckets.size()> buckets{};  ///< not cumulative
        std::uint64_t duration_count = 0;                              ///< requests timed
        double duration_sum = 0;                                       ///< their seconds
        std::uint64_t retries = 0;                                     ///< requests after a failure
        std::uint64_t waits = 0;                                       ///< callers that waited
        double wait_seconds = 0;  ///< how long they waited in all
        std::map<std::pair<std::string, std::string>, std::uint64_t> store;  ///< op, result
        std::uint64_t unauthorized_retries = 0;              ///< calls repeated after a 401
        std::map<std::string, std::uint64_t> nonce_retries;  ///< by origin
        std::uint64_t credential_rotations = 0;              ///< rotated credential files
        /// Counts of managers detached, so that the counters never go down.
        std::uint64_t gone_cache_hits = 0;
        std::uint64_t gone_fast_failures = 0;  ///< as gone_cache_hits
        std::uint64_t gone_evictions = 0;      ///< as gone_cache_hits
    };
    /// A manager attached, whose stats() are read at each scrape.
    struct attached {
        const token_manager* manager;  ///< valid until on_detach()
        std::string client_id;         ///< its label
    };

    mutable std::mutex mutex_;
    std::map<std::string, client_series> clients_;
    std::vector<attached> managers_;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
// ---- oauth2cc/impl/prometheus_inl.hpp ----

// ---- oauth2cc/detail/text/prometheus.hpp ----

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

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

/// @brief What the exporter reads of the attached managers' stats() at a scrape, by
/// client id: the counts of detached ones first, so that counters never go down.
struct pulled_counts {
    std::uint64_t cache_hits = 0, fast_failures = 0, consecutive_failures = 0;
    std::uint64_t entries = 0, evictions = 0;
};

template <class Clients, class Managers>
std::map<std::string, pulled_counts> pull_counts(const Clients& clients, const Managers& managers) {
    std::map<std::string, pulled_counts> out;
    for (const auto& [id, c] : clients) {
        out[id] = {c.gone_cache_hits, c.gone_fast_failures, 0, 0, c.gone_evictions};
    }
    for (const auto& a : managers) {
        const auto s = a.manager->stats();
        pulled_counts& p = out[a.client_id];
        p.cache_hits += s.cache_hits;
        p.fast_failures += s.fast_failures;
        p.consecutive_failures = std::max(p.consecutive_failures, s.consecutive_failures);
        p.entries += s.entries;
        p.evictions += s.evictions;
    }
    return out;
}

/// @brief One client's samples of a histogram: cumulative buckets, +Inf, sum and count.
template <class Bounds, class Counts>
void write_histogram(prometheus_writer& w, const std::string& name, const std::string& label,
                     const Bounds& bounds, const Counts& counts, std::uint64_t count, double sum) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += counts[i];
        w.sample(name + "_bucket", label + ",le=\"" + prometheus_number(bounds[i]) + "\"",
                 cumulative);
    }
    w.sample(name + "_bucket", label + ",le=\"+Inf\"", count);
    w.sample(name + "_sum", label, prometheus_number(sum));
    w.sample(name + "_count", label, count);
}

}  // namespace oauth2cc::detail

#include <algorithm>
#include <string>

namespace oauth2cc {

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
    c.credential_rotations += event.credential_rotations;
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
        c.gone_evictions += last.evictions;
        managers_.erase(it);
        return;
    }
}

OAUTH2CC_INLINE std::string prometheus_exporter::text() const {
    std::string out;
    detail::prometheus_writer w(out);
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto from_stats = detail::pull_counts(clients_, managers_);
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
        detail::write_histogram(w, "oauth2cc_token_request_duration_seconds", id_label(id),
                                duration_buckets, c.buckets, c.duration_count, c.duration_sum);
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
    per_client("oauth2cc_credential_rotations_total", "counter",
               "New client secrets taken up from the client secret file.", clients_,
               [](const client_series& c) { return c.credential_rotations; });
    per_client("oauth2cc_token_cache_hits_total", "counter",
               "get() calls answered from the cached token.", from_stats,
               [](const detail::pulled_counts& p) { return p.cache_hits; });
    per_client("oauth2cc_token_fast_failures_total", "counter",
               "get() calls given the last error at once while backing off.", from_stats,
               [](const detail::pulled_counts& p) { return p.fast_failures; });
    per_client("oauth2cc_token_consecutive_failures", "gauge",
               "Failed token requests since the last success (the most of the client's managers).",
               from_stats, [](const detail::pulled_counts& p) { return p.consecutive_failures; });
    per_client("oauth2cc_token_entries", "gauge",
               "Tokens held: one per token_params asked for, the config's own included.",
               from_stats, [](const detail::pulled_counts& p) { return p.entries; });
    per_client("oauth2cc_token_evictions_total", "counter",
               "Entries dropped: beyond max_entries, or idle for idle_after.", from_stats,
               [](const detail::pulled_counts& p) { return p.evictions; });
    return out;
}

}  // namespace oauth2cc
#endif  // OAUTH2CC_WITH_BODIES
