// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/prometheus_inl.hpp: the bodies of prometheus_exporter.
// SPDX-License-Identifier: MIT
#pragma once

#include "../prometheus.hpp"

#include "../detail/text/prometheus.hpp"

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
