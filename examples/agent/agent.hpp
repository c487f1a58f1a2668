// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// agent/agent.hpp: what oauth2cc-agent answers. Profiles, each a token_manager with its
// keyed entries refreshed in the background; the callers' checks (uid on a UNIX socket,
// the access token on TCP); /v1/token, /v1/auth, /metrics; the file sinks; reloads that
// keep the tokens of unchanged profiles. Logs are JSON lines on stderr, without secrets.
// SPDX-License-Identifier: MIT
#pragma once

#include "../common/fleet_store.hpp"
#include "agent_config.hpp"
#include "http_server.hpp"

#include <oauth2cc/detail/config/parser.hpp>
#include <oauth2cc/detail/text/form.hpp>
#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/prometheus.hpp>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace oauth2cc_agent {

/// @brief Writes one JSON line on stderr: time, level, message, then fields. No field may
/// hold a secret: callers pass names, paths, counts, the library's messages.
inline void log(std::string_view level, std::string_view message,
                const nlohmann::ordered_json& fields = nlohmann::ordered_json::object()) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char stamp[96];  // room for any int the format may be given
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    nlohmann::ordered_json line{{"time", stamp}, {"level", level}, {"message", message}};
    for (const auto& [k, v] : fields.items()) line[k] = v;
    static std::mutex mutex;
    const std::lock_guard<std::mutex> lock(mutex);
    std::cerr << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n'
              << std::flush;
}

/// @brief A profile at work: its manager and the exporter its manager reports to.
struct profile {
    std::string name;
    profile_spec spec;
    std::shared_ptr<oauth2cc::prometheus_exporter> exporter;
    std::shared_ptr<oauth2cc::token_manager> tokens;
};

/// @brief A profile's manager, its store and exporter attached, refreshing in the
/// background.
inline std::shared_ptr<profile> make_profile(const std::string& name, const profile_spec& spec) {
    auto p = std::make_shared<profile>();
    p->name = name;
    p->spec = spec;
    oauth2cc::refresh_policy policy;
    policy.max_entries = spec.max_entries;
    policy.new_entries_per_second = spec.new_entries_per_second;
    p->tokens = std::make_shared<oauth2cc::token_manager>(spec.cfg, policy);
    p->exporter = std::make_shared<oauth2cc::prometheus_exporter>();
    p->tokens->set_observer(p->exporter);
    p->tokens->set_logger([name](oauth2cc::log_level level, std::string_view message) {
        log(oauth2cc::to_string(level), message, {{"profile", name}});
    });
    try {
        if (auto store = oauth2cc_examples::make_store(spec.store)) p->tokens->set_store(store);
    } catch (const std::runtime_error& e) {
        throw oauth2cc::error(oauth2cc::error_kind::config,
                              "profiles." + name + ": the store: " + e.what());
    }
    p->tokens->start_background_refresh();
    return p;
}

/// @brief The seconds tok has left; the lifetime of a token without `expires_in` is the
/// manager's (refresh_policy::lifetime_if_unknown).
inline std::chrono::steady_clock::duration time_left(const oauth2cc::token& tok) {
    const auto end =
        tok.expires_at().value_or(tok.obtained_at + oauth2cc::refresh_policy{}.lifetime_if_unknown);
    return end - std::chrono::steady_clock::now();
}

/// @brief What a caller asked of a profile: the entry, and how long the token must live.
struct token_query {
    oauth2cc::token_params params;
    std::chrono::seconds min_valid{0};
};

/// @brief The agent: profiles and the rules, behind one lock-free-to-read state.
class agent {
public:
    explicit agent(const agent_config& cfg) : listen_(cfg.listen) { state_ = build(cfg, nullptr); }

    /// @brief Takes a new configuration: profiles added, removed, changed; the tokens of
    /// unchanged ones kept. Requests under way finish with the state they began with.
    void reload(const agent_config& cfg) {
        auto next = build(cfg, current());
        bool same_listen = cfg.listen.size() == listen_.size();
        for (std::size_t i = 0; same_listen && i < listen_.size(); ++i)
            same_listen = cfg.listen[i].text == listen_[i].text;
        if (!same_listen)
            log("warning",
                "the listeners changed in the file; they change when the agent restarts");
        const std::lock_guard<std::mutex> lock(state_mutex_);
        state_ = std::move(next);
    }

    /// @brief The answer to one request.
    response handle(const request& r) {
        const auto st = current();
        std::string endpoint = "other";
        std::string name;
        response res = answer(*st, r, endpoint, name);
        count(name, endpoint, res.status);
        return res;
    }

    /// @brief Writes each sink whose profile has a token it has not written yet, and
    /// removes a sink's file whose token expired with none to follow it.
    void write_sinks() {
        const auto st = current();
        for (const auto& s : st->sinks) {
            const auto& p = st->profiles.at(s.profile);
            std::shared_ptr<const oauth2cc::token> tok = p->tokens->try_get();
            if (!tok) {
                try {
                    tok = p->tokens->get();
                } catch (const oauth2cc::error& e) {
                    auto& last = written_[s.path];
                    if (last && time_left(*last) < std::chrono::seconds(1)) {
                        ::unlink(s.path.c_str());
                        log("warning", "the sink's token expired and no new one came: file removed",
                            {{"profile", s.profile}, {"path", s.path}, {"error", e.what()}});
                        last.reset();
                    }
                    continue;
                }
            }
            auto& last = written_[s.path];
            if (last == tok) continue;
            try {
                write_file(s, *tok);
                last = tok;
                log("info", "sink written",
                    {{"profile", s.profile},
                     {"path", s.path},
                     {"expires_in",
                      std::chrono::duration_cast<std::chrono::seconds>(time_left(*tok)).count()}});
            } catch (const std::runtime_error& e) {
                log("error", "the sink could not be written",
                    {{"profile", s.profile}, {"path", s.path}, {"error", e.what()}});
            }
        }
    }

private:
    struct state {
        std::map<std::string, std::shared_ptr<profile>> profiles;
        std::set<uid_t> allow_uids;
        oauth2cc::secret access_token;
        std::vector<sink_spec> sinks;
        bool metrics = true;
    };

    std::shared_ptr<const state> current() const {
        const std::lock_guard<std::mutex> lock(state_mutex_);
        return state_;
    }

    static std::shared_ptr<const state> build(const agent_config& cfg,
                                              const std::shared_ptr<const state>& before) {
        auto st = std::make_shared<state>();
        for (const auto& [name, spec] : cfg.profiles) {
            if (before) {
                const auto it = before->profiles.find(name);
                if (it != before->profiles.end() && it->second->spec.source == spec.source) {
                    st->profiles.emplace(name, it->second);
                    continue;
                }
            }
            st->profiles.emplace(name, make_profile(name, spec));
            log("info", before ? "profile loaded anew" : "profile loaded", {{"profile", name}});
        }
        if (before) {
            for (const auto& [name, p] : before->profiles)
                if (cfg.profiles.count(name) == 0)
                    log("info", "profile removed", {{"profile", name}});
        }
        st->allow_uids = cfg.allow_uids;
        st->allow_uids.insert(::geteuid());
        st->access_token = cfg.access_token;
        st->sinks = cfg.sinks;
        st->metrics = cfg.metrics;
        return st;
    }

    // Whether r's caller may use the agent; else the answer that refuses it.
    static std::optional<response> refuse_caller(const state& st, const request& r) {
        if (r.tcp) {
            const std::string* auth = r.header("authorization");
            const std::string& want = st.access_token.reveal();
            const bool ok = auth != nullptr && !want.empty() && auth->size() == want.size() + 7 &&
                            auth->compare(0, 7, "Bearer ") == 0 &&
                            CRYPTO_memcmp(auth->data() + 7, want.data(), want.size()) == 0;
            if (ok) return std::nullopt;
            auto res = http_server::error_answer(
                401, "invalid_token",
                "a TCP caller sends Authorization: Bearer with the token of the agent's "
                "access_token_file");
            res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"oauth2cc-agent\"");
            return res;
        }
        if (r.peer_uid && st.allow_uids.count(*r.peer_uid) != 0) return std::nullopt;
        return http_server::error_answer(403, "forbidden",
                                         r.peer_uid
                                             ? "uid " + std::to_string(*r.peer_uid) +
                                                   " may not use this agent: list it in allow_uids"
                                             : std::string("the caller's uid is unknown"));
    }

    response answer(const state& st, const request& r, std::string& endpoint, std::string& name) {
        if (auto refused = refuse_caller(st, r)) {
            log("warning", "caller refused",
                {{"uid",
                  r.peer_uid ? nlohmann::ordered_json(*r.peer_uid) : nlohmann::ordered_json()},
                 {"tcp", r.tcp},
                 {"status", refused->status}});
            return *refused;
        }
        if (r.method != "GET") {
            auto res =
                http_server::error_answer(405, "method_not_allowed", "the agent answers GET only");
            res.headers.emplace_back("Allow", "GET");
            return res;
        }
        if (r.path == "/metrics" && st.metrics) {
            endpoint = "metrics";
            response res;
            res.headers.emplace_back("Content-Type",
                                     std::string(oauth2cc::prometheus_exporter::content_type));
            res.body = metrics_text(st);
            return res;
        }
        for (const char* prefix : {"/v1/token/", "/v1/auth/"}) {
            const std::string_view p(prefix);
            if (r.path.compare(0, p.size(), p) != 0) continue;
            endpoint = p == "/v1/token/" ? "token" : "auth";
            const std::string wanted = r.path.substr(p.size());
            const auto it = st.profiles.find(wanted);
            if (it == st.profiles.end()) {
                return http_server::error_answer(
                    404, "unknown_profile",
                    "no profile \"" + wanted.substr(0, 64) + "\" in the agent's file");
            }
            name = wanted;
            return token_answer(*it->second, r, endpoint == "auth");
        }
        return http_server::error_answer(
            404, "not_found", "the agent answers /v1/token/PROFILE, /v1/auth/PROFILE and /metrics");
    }

    static std::optional<std::string> parse_query(const std::string& query, token_query& out,
                                                  const oauth2cc::client_config& cfg) {
        out.params = oauth2cc::params_of(cfg);
        std::set<std::string> seen;
        std::vector<std::string> resources;
        // The query is form-encoded, as a token request's body: the library's parser.
        const auto fields = oauth2cc::detail::parse_form(query);
        if (!fields) return std::string("the query is not percent-encoded correctly");
        for (const auto& [key, value] : *fields) {
            if (key == "resource") {
                resources.push_back(value);
                continue;
            }
            if (key != "audience" && key != "scope" && key != "min_valid")
                return "the query takes audience, scope, resource and min_valid";
            if (!seen.insert(key).second) return key + " is given twice";
            if (key == "audience") {
                out.params.audience = value;
            } else if (key == "scope") {
                out.params.scopes = oauth2cc::detail::words(value);
            } else {
                if (value.empty() || value.size() > 6 ||
                    value.find_first_not_of("0123456789") != std::string::npos)
                    return "min_valid is a whole number of seconds, at most 999999";
                out.min_valid = std::chrono::seconds(std::stol(value));
            }
        }
        if (!resources.empty()) out.params.resources = std::move(resources);
        return std::nullopt;
    }

    response token_answer(profile& p, const request& r, bool auth_form) {
        token_query q;
        if (const auto bad = parse_query(r.query, q, p.spec.cfg))
            return http_server::error_answer(400, "invalid_request", *bad);
        std::shared_ptr<const oauth2cc::token> tok;
        try {
            tok = p.tokens->get(q.params);
            const auto enough =
                std::max<std::chrono::steady_clock::duration>(q.min_valid, std::chrono::seconds(1));
            if (time_left(*tok) < enough) {
                // A new token would live long enough: ask for one first.
                const auto lifetime =
                    tok->expires_in.value_or(oauth2cc::refresh_policy{}.lifetime_if_unknown);
                if (lifetime > enough + std::chrono::seconds(1)) {
                    p.tokens->invalidate(q.params, tok.get());
                    tok = p.tokens->get(q.params);
                }
            }
            if (time_left(*tok) < enough) {
                const auto left = std::chrono::duration_cast<std::chrono::seconds>(time_left(*tok));
                log("warning", "no token lives min_valid more seconds",
                    {{"profile", p.name},
                     {"min_valid", q.min_valid.count()},
                     {"left", left.count()}});
                return http_server::error_answer(
                    503, "temporarily_unavailable",
                    "no token that lives " + std::to_string(enough / std::chrono::seconds(1)) +
                        " s more: the one held has " +
                        std::to_string(std::max<long long>(0, left.count())) +
                        " s left, and a new one does not live longer");
            }
        } catch (const oauth2cc::error& e) {
            log("warning", "no token to answer", {{"profile", p.name}, {"error", e.what()}});
            return http_server::error_answer(503, "temporarily_unavailable", e.what());
        }
        const long long expires_in =
            std::chrono::duration_cast<std::chrono::seconds>(time_left(*tok)).count();
        response res;
        if (auth_form) {
            const std::string* method = r.header("x-original-method");
            const std::string* url = r.header("x-original-url");
            if (tok->token_type == "DPoP" && (method == nullptr || url == nullptr)) {
                return http_server::error_answer(
                    400, "invalid_request",
                    "the profile's tokens are DPoP-bound: send X-Original-Method and "
                    "X-Original-URL, the request the proof is for");
            }
            try {
                for (auto& [n, v] :
                     p.tokens->headers_for(*tok, method ? *method : "GET", url ? *url : ""))
                    res.headers.emplace_back(n, std::move(v));
            } catch (const oauth2cc::error& e) {
                return http_server::error_answer(400, "invalid_request", e.what());
            }
            return res;
        }
        nlohmann::json body{{"access_token", tok->access_token.reveal()},
                            {"token_type", tok->token_type},
                            {"expires_in", expires_in}};
        if (!tok->issued_token_type.empty()) body["issued_token_type"] = tok->issued_token_type;
        res.headers.emplace_back("Content-Type", "application/json");
        res.body = body.dump();
        return res;
    }

    void count(const std::string& profile_name, const std::string& endpoint, int status) {
        const std::lock_guard<std::mutex> lock(counts_mutex_);
        ++counts_[std::make_tuple(profile_name, endpoint, status)];
    }

    // The exporters' texts, each series labelled with its profile, each family once; and
    // the agent's own counters.
    std::string metrics_text(const state& st) {
        std::vector<std::string> order;
        std::map<std::string, std::pair<std::string, std::string>> families;  // head, samples
        for (const auto& [name, p] : st.profiles) {
            const std::string text = p->exporter->text();
            std::string family;
            std::size_t at = 0;
            while (at < text.size()) {
                const auto eol = text.find('\n', at);
                const std::string line = text.substr(at, eol == std::string::npos ? eol : eol - at);
                at = eol == std::string::npos ? text.size() : eol + 1;
                if (line.empty()) continue;
                if (line.rfind("# ", 0) == 0) {
                    const auto name_start = line.find(' ', 2) + 1;
                    family = line.substr(name_start, line.find(' ', name_start) - name_start);
                    auto found = families.find(family);
                    if (found == families.end()) {
                        order.push_back(family);
                        found =
                            families.emplace(family, std::make_pair(std::string(), std::string()))
                                .first;
                    }
                    if (found->second.first.find(line.substr(0, 7)) == std::string::npos)
                        found->second.first += line + "\n";
                    continue;
                }
                const auto brace = line.find('{');
                const auto space = line.find(' ');
                const std::string label = "profile=\"" + name + "\"";
                std::string sample =
                    brace != std::string::npos && brace < space
                        ? line.substr(0, brace + 1) + label + "," + line.substr(brace + 1)
                        : line.substr(0, space) + "{" + label + "}" + line.substr(space);
                families[family].second += sample + "\n";
            }
        }
        std::string out;
        for (const auto& f : order) out += families[f].first + families[f].second;
        out +=
            "# HELP oauth2cc_agent_requests_total Requests the agent answered, by profile, "
            "endpoint and status.\n# TYPE oauth2cc_agent_requests_total counter\n";
        {
            const std::lock_guard<std::mutex> lock(counts_mutex_);
            for (const auto& [key, n] : counts_) {
                out += "oauth2cc_agent_requests_total{profile=\"" + std::get<0>(key) +
                       "\",endpoint=\"" + std::get<1>(key) + "\",status=\"" +
                       std::to_string(std::get<2>(key)) + "\"} " + std::to_string(n) + "\n";
            }
        }
        out +=
            "# HELP oauth2cc_agent_entries Tokens a profile holds, keyed entries included.\n"
            "# TYPE oauth2cc_agent_entries gauge\n";
        for (const auto& [name, p] : st.profiles)
            out += "oauth2cc_agent_entries{profile=\"" + name + "\"} " +
                   std::to_string(p->tokens->entries()) + "\n";
        return out;
    }

    // Replaces the sink's file with tok: a new file (0600) beside it, written, flushed to
    // disk, renamed over it; a reader sees the old token or the new one, never a part.
    static void write_file(const sink_spec& s, const oauth2cc::token& tok) {
        std::string content;
        if (s.format == sink_format::raw) {
            content = tok.access_token.reveal();
        } else {
            const long long left =
                std::chrono::duration_cast<std::chrono::seconds>(time_left(tok)).count();
            const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
            nlohmann::json body{{"access_token", tok.access_token.reveal()},
                                {"token_type", tok.token_type},
                                {"expires_in", left},
                                {"expires_at", now + left}};
            if (!tok.issued_token_type.empty()) body["issued_token_type"] = tok.issued_token_type;
            content = body.dump() + "\n";
        }
        std::string tmp = s.path + ".XXXXXX";
        const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
        if (fd < 0)
            throw std::runtime_error("cannot make a file beside " + s.path + ": " +
                                     std::strerror(errno));
        bool ok = ::fchmod(fd, 0600) == 0;
        std::size_t done = 0;
        while (ok && done < content.size()) {
            const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
            ok = n > 0;
            if (ok) done += static_cast<std::size_t>(n);
        }
        ok = ok && ::fsync(fd) == 0;
        const int err = errno;
        ::close(fd);
        oauth2cc::secret gone(std::move(content));
        if (!ok || ::rename(tmp.c_str(), s.path.c_str()) != 0) {
            const int why = ok ? errno : err;
            ::unlink(tmp.c_str());
            throw std::runtime_error("cannot write " + s.path + ": " + std::strerror(why));
        }
    }

    std::vector<listener_spec> listen_;
    mutable std::mutex state_mutex_;
    std::shared_ptr<const state> state_;
    std::mutex counts_mutex_;
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;
    std::map<std::string, std::shared_ptr<const oauth2cc::token>> written_;  // by sink path
};

}  // namespace oauth2cc_agent
