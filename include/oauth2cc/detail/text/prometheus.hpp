// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/prometheus.hpp: the Prometheus text exposition format 0.0.4: escaped labels, numbers,
// families and samples, histograms.
// SPDX-License-Identifier: MIT
#pragma once

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
