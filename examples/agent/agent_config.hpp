// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// agent/agent_config.hpp: oauth2cc-agent's configuration file: listeners, profiles (each
// a client configuration by config_from_file()'s member names, read by the library's one
// parser), callers allowed, file sinks. Every message names the file and the member,
// never a value that may be a secret.
// SPDX-License-Identifier: MIT
#pragma once

#include "../common/fleet_store.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <iterator>
#include <string>
#include <vector>

namespace oauth2cc_agent {

/// @brief Where the agent listens: a UNIX socket, or a loopback TCP address.
struct listener_spec {
    bool is_unix = true;
    std::string path;  ///< the socket's path, for a UNIX socket
    std::string host;  ///< 127.0.0.1 (any 127/8 address) or ::1, for TCP
    int port = 0;      ///< for TCP; 0 takes a free port
    std::string text;  ///< as the file gives it
};

/// @brief How a sink writes a token: the token alone, or the /v1/token answer.
enum class sink_format { raw, json };

/// @brief A file that holds a profile's token, replaced whenever the token is.
struct sink_spec {
    std::string profile;
    std::string path;
    sink_format format = sink_format::raw;
};

/// @brief A named client: its configuration, its store, and the text it came from (to
/// tell a changed profile from an unchanged one on reload).
struct profile_spec {
    oauth2cc::client_config cfg;
    oauth2cc_examples::store_settings store;
    std::size_t max_entries = 1000;            ///< keyed entries (audiences, scopes) it holds
    std::size_t new_entries_per_second = 100;  ///< new keyed entries it makes per second
    std::string source;                        ///< the profile's JSON, as read
};

/// @brief The whole file.
struct agent_config {
    std::vector<listener_spec> listen;
    std::map<std::string, profile_spec> profiles;
    std::string access_token_file;
    oauth2cc::secret access_token;  ///< the file's contents, read once per load
    std::set<uid_t> allow_uids;
    std::vector<sink_spec> sinks;
    bool metrics = true;
};

namespace detail {

[[noreturn]] inline void bad(const std::string& file, const std::string& member,
                             const std::string& why) {
    throw oauth2cc::error(oauth2cc::error_kind::config, file + ": " + member + ": " + why);
}

/// A profile's name goes into URLs, metric labels and log lines: a short token.
inline bool good_profile_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

/// A relative path of the file is taken from the configuration file's folder, so that
/// the agent reads the same files whatever its working directory (systemd's is /).
inline std::string beside(const std::string& config_path, const std::string& path) {
    if (path.empty() || path.front() == '/') return path;
    const auto slash = config_path.rfind('/');
    if (slash == std::string::npos) return path;
    return config_path.substr(0, slash + 1) + path;
}

inline listener_spec parse_listener(const std::string& file, const std::string& member,
                                    const std::string& text) {
    listener_spec out;
    out.text = text;
    if (text.rfind("unix:", 0) == 0) {
        out.path = text.substr(5);
        if (out.path.empty() || out.path.front() != '/')
            bad(file, member,
                "\"unix:\" takes an absolute path: \"unix:/run/oauth2cc-agent/agent.sock\"");
        if (out.path.size() >= 100) bad(file, member, "the socket path is over 100 bytes");
        return out;
    }
    out.is_unix = false;
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size())
        bad(file, member, "not \"unix:PATH\" or \"127.0.0.1:PORT\"");
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const std::string port = text.substr(colon + 1);
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) > 65535)
        bad(file, member, "the port is not a number from 0 to 65535");
    out.port = std::stoi(port);
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        if ((ntohl(v4.s_addr) >> 24) != 127)
            bad(file, member,
                "the agent listens on loopback only (127.0.0.1 or [::1]): a token agent "
                "on the network would give tokens to any host; put a proxy with TLS in "
                "front of it if other hosts must reach it");
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6))
            bad(file, member, "the agent listens on loopback only (127.0.0.1 or [::1])");
    } else {
        bad(file, member, "the host is not an IP address; write 127.0.0.1 or [::1]");
    }
    out.host = host;
    return out;
}

inline std::size_t count_member(const std::string& file, const std::string& member,
                                const nlohmann::json& value, std::size_t max) {
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max)
        bad(file, member, "a whole number from 0 to " + std::to_string(max));
    return static_cast<std::size_t>(value.get<std::uint64_t>());
}

inline profile_spec parse_profile(const std::string& file, const std::string& name,
                                  const nlohmann::json& object) {
    const std::string where = "profiles." + name;
    if (!object.is_object()) bad(file, where, "not an object of client settings");
    profile_spec out;
    out.source = object.dump();
    std::map<std::string, std::string> settings;
    for (const auto& [key, value] : object.items()) {
        const std::string member = where + "." + key;
        if (key == "max_entries") {
            out.max_entries = count_member(file, member, value, 10'000'000);
            if (out.max_entries == 0) bad(file, member, "at least 1");
            continue;
        }
        if (key == "new_entries_per_second") {
            out.new_entries_per_second = count_member(file, member, value, 1'000'000);
            continue;
        }
        if (!value.is_string()) bad(file, member, "not a string (every client setting is one)");
        const std::string text = value.get<std::string>();
        if (key == "cache") {
            out.store.directory = text.empty() ? text : beside(file, text);
        } else if (key == "redis_url") {
            if (oauth2cc_examples::url_has_password(text))
                bad(file, member,
                    "the URL has a password; put it in a file (0600) and name "
                    "that file in redis_url_file");
            out.store.redis_url = text;
        } else if (key == "redis_url_file") {
            out.store.redis_url_file = beside(file, text);
        } else if (key == "seal_key_file") {
            out.store.seal_key_file = beside(file, text);
        } else {
            const bool is_file = key.size() > 5 && key.compare(key.size() - 5, 5, "_file") == 0;
            settings[key] = is_file ? beside(file, text) : text;
        }
    }
    try {
        out.cfg = oauth2cc::config_from_settings(settings);
    } catch (const oauth2cc::error& e) {
        // The library's message names the setting; it gets the profile's place in the file.
        std::string why = e.what();
        const std::string prefix = "oauth2cc: config error: ";
        if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
        throw oauth2cc::error(oauth2cc::error_kind::config, file + ": " + where + ": " + why);
    }
    for (auto& kv : settings) const oauth2cc::secret gone(std::move(kv.second));
    return out;
}

}  // namespace detail

/// @brief The configuration in the JSON file at path.
/// @throws oauth2cc::error `config` naming the file and the member
inline agent_config load_config(const std::string& path) {
    using detail::bad;
    std::ifstream in(path, std::ios::binary);
    if (!in) bad(path, "the file", "cannot be read");
    // The file may hold a secret inline: its text is wiped once parsed.
    const oauth2cc::secret text(
        std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    const nlohmann::json doc = nlohmann::json::parse(text.reveal(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        bad(path, "the file", "not a JSON object (see docs/agent.md for its members)");

    agent_config out;
    static const std::set<std::string> known{"listen",     "profiles", "access_token_file",
                                             "allow_uids", "sinks",    "metrics"};
    for (const auto& [key, value] : doc.items()) {
        (void)value;
        if (known.count(key) == 0)
            bad(path, key,
                "not a member of the agent's file (listen, profiles, "
                "access_token_file, allow_uids, sinks, metrics)");
    }

    if (!doc.contains("listen") || !doc["listen"].is_array() || doc["listen"].empty())
        bad(path, "listen",
            "an array of listeners, such as [\"unix:/run/oauth2cc-agent/agent.sock\"]");
    for (std::size_t i = 0; i < doc["listen"].size(); ++i) {
        const auto& item = doc["listen"][i];
        const std::string member = "listen[" + std::to_string(i) + "]";
        if (!item.is_string()) bad(path, member, "not a string");
        out.listen.push_back(detail::parse_listener(path, member, item.get<std::string>()));
    }

    if (!doc.contains("profiles") || !doc["profiles"].is_object() || doc["profiles"].empty())
        bad(path, "profiles",
            "an object of named client configurations, such as "
            "{\"reports\": {\"token_url\": ..., \"client_id\": ...}}");
    for (const auto& [name, object] : doc["profiles"].items()) {
        if (!detail::good_profile_name(name))
            bad(path, "profiles." + name.substr(0, 64),
                "a profile's name is 1 to 64 letters, digits, '-', '_' or '.'");
        out.profiles.emplace(name, detail::parse_profile(path, name, object));
    }

    if (doc.contains("access_token_file")) {
        if (!doc["access_token_file"].is_string() ||
            doc["access_token_file"].get<std::string>().empty())
            bad(path, "access_token_file",
                "the path of a file (0600) that holds the callers' token");
        out.access_token_file = detail::beside(path, doc["access_token_file"].get<std::string>());
        try {
            out.access_token =
                oauth2cc_examples::read_private_file(out.access_token_file, "access token");
        } catch (const std::runtime_error& e) {
            bad(path, "access_token_file", e.what());
        }
        if (out.access_token.reveal().size() < 16) {
            bad(path, "access_token_file",
                "the token in the file is shorter than 16 bytes; "
                "make one with `openssl rand -hex 32`");
        }
    }
    for (const auto& l : out.listen) {
        if (!l.is_unix && out.access_token_file.empty())
            bad(path, "access_token_file",
                "the TCP listener " + l.text +
                    " needs it: every TCP caller must present "
                    "the token it holds (a UNIX socket checks the caller's uid instead)");
    }

    if (doc.contains("allow_uids")) {
        if (!doc["allow_uids"].is_array()) bad(path, "allow_uids", "an array of user ids");
        for (std::size_t i = 0; i < doc["allow_uids"].size(); ++i) {
            out.allow_uids.insert(static_cast<uid_t>(
                detail::count_member(path, "allow_uids[" + std::to_string(i) + "]",
                                     doc["allow_uids"][i], 4'294'967'294u)));
        }
    }

    if (doc.contains("sinks")) {
        if (!doc["sinks"].is_array())
            bad(path, "sinks", "an array of {\"profile\", \"path\", \"format\"}");
        for (std::size_t i = 0; i < doc["sinks"].size(); ++i) {
            const auto& item = doc["sinks"][i];
            const std::string member = "sinks[" + std::to_string(i) + "]";
            if (!item.is_object()) bad(path, member, "not an object");
            sink_spec s;
            for (const auto& [key, value] : item.items()) {
                if (key != "profile" && key != "path" && key != "format")
                    bad(path, member + "." + key, "not a member of a sink (profile, path, format)");
                if (!value.is_string()) bad(path, member + "." + key, "not a string");
            }
            s.profile = item.value("profile", "");
            if (out.profiles.count(s.profile) == 0)
                bad(path, member + ".profile", "names no profile of the file");
            s.path = detail::beside(path, item.value("path", ""));
            if (s.path.empty() || s.path.back() == '/')
                bad(path, member + ".path", "the path of the file to write");
            const std::string format = item.value("format", "raw");
            if (format == "json") {
                s.format = sink_format::json;
            } else if (format != "raw") {
                bad(path, member + ".format", "\"raw\" or \"json\"");
            }
            out.sinks.push_back(std::move(s));
        }
    }

    if (doc.contains("metrics")) {
        if (!doc["metrics"].is_boolean()) bad(path, "metrics", "true or false");
        out.metrics = doc["metrics"].get<bool>();
    }
    return out;
}

}  // namespace oauth2cc_agent
