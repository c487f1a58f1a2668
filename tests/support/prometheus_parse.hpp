// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// prometheus_parse.hpp: a strict reader of the Prometheus text exposition format, for
// the tests of prometheus_exporter and of the daemon's /metrics.
// SPDX-License-Identifier: MIT
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc_test {

// A strict reader of the Prometheus text exposition format 0.0.4: every line is a HELP,
// a TYPE or a sample; a family is declared once, by HELP then TYPE, before its samples;
// names and label names follow the format's grammar; label values are quoted with only
// \\, \" and \n escaped; every value is a number; no series appears twice; counters end in
// _total; a histogram's buckets are cumulative, end with le="+Inf", and equal its _count.
struct parsed_metrics {
    std::map<std::string, std::string> types;  // family -> type
    std::map<std::string, double> samples;     // name{labels} -> value
    double value(const std::string& series) const {
        const auto it = samples.find(series);
        return it == samples.end() ? std::nan("") : it->second;
    }
};

inline bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

inline parsed_metrics parse_prometheus(const std::string& text) {
    parsed_metrics out;
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    std::string pending_help;
    std::map<std::string, std::vector<std::pair<std::string, double>>> buckets;  // by series
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = text.find('\n', pos);
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        INFO("line: " << line);
        REQUIRE(!line.empty());
        if (line.rfind("# HELP ", 0) == 0) {
            const auto space = line.find(' ', 7);
            REQUIRE(space != std::string::npos);
            pending_help = line.substr(7, space - 7);
            REQUIRE(out.types.count(pending_help) == 0);
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            const auto space = line.find(' ', 7);
            const std::string family = line.substr(7, space - 7);
            const std::string type = line.substr(space + 1);
            REQUIRE(family == pending_help);
            REQUIRE((type == "counter" || type == "gauge" || type == "histogram"));
            if (type == "counter") REQUIRE(family.size() > 6);
            if (type == "counter") REQUIRE(family.substr(family.size() - 6) == "_total");
            out.types[family] = type;
            continue;
        }
        REQUIRE(line[0] != '#');
        std::size_t i = 0;
        while (i < line.size() && name_char(line[i], i == 0)) ++i;
        const std::string name = line.substr(0, i);
        REQUIRE(!name.empty());
        std::string family = name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string s = suffix;
            if (out.types.count(family) == 0 && name.size() > s.size() &&
                name.compare(name.size() - s.size(), s.size(), s) == 0) {
                family = name.substr(0, name.size() - s.size());
            }
        }
        REQUIRE(out.types.count(family) == 1);
        REQUIRE(family == pending_help);  // samples follow their own family's header
        std::string labels, le, others;
        if (i < line.size() && line[i] == '{') {
            ++i;
            std::set<std::string> seen;
            while (line.at(i) != '}') {
                const std::size_t start = i;
                while (name_char(line.at(i), i == start)) ++i;
                const std::string label = line.substr(start, i - start);
                REQUIRE(!label.empty());
                REQUIRE(seen.insert(label).second);
                REQUIRE(line.at(i) == '=');
                REQUIRE(line.at(i + 1) == '"');
                i += 2;
                const std::size_t raw_start = i;
                std::string value;
                for (;;) {
                    const char c = line.at(i++);
                    if (c == '"') break;
                    REQUIRE(c != '\n');
                    if (c == '\\') {
                        const char e = line.at(i++);
                        REQUIRE((e == '\\' || e == '"' || e == 'n'));
                        value += e == 'n' ? '\n' : e;
                    } else {
                        value += c;
                    }
                }
                if (label == "le") {
                    le = value;
                } else {
                    others += label + "=" + value + ";";
                }
                labels += (labels.empty() ? "" : ",") + label + "=\"" +
                          line.substr(raw_start, i - 1 - raw_start) + "\"";
                if (line.at(i) == ',') ++i;
            }
            ++i;
        }
        REQUIRE(line.at(i) == ' ');
        const std::string number = line.substr(i + 1);
        char* stop = nullptr;
        const double v = std::strtod(number.c_str(), &stop);
        REQUIRE(stop == number.c_str() + number.size());
        REQUIRE(!number.empty());
        const std::string series = name + "{" + labels + "}";
        REQUIRE(out.samples.emplace(series, v).second);
        if (name == family + "_bucket") {
            REQUIRE(!le.empty());
            buckets[family + "{" + others + "}"].emplace_back(le, v);
        }
    }
    for (const auto& entry : buckets) {
        INFO("histogram " << entry.first);
        const auto& list = entry.second;
        REQUIRE(list.back().first == "+Inf");
        for (std::size_t k = 1; k < list.size(); ++k) {
            CHECK(list[k].second >= list[k - 1].second);
            if (k + 1 < list.size()) {
                CHECK(std::strtod(list[k].first.c_str(), nullptr) >
                      std::strtod(list[k - 1].first.c_str(), nullptr));
            }
        }
    }
    return out;
}

}  // namespace oauth2cc_test
