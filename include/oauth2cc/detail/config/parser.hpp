// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/config/parser.hpp: the one parser of a client configuration from settings by name,
// which config_from_environment(), config_from_file() and config_from_settings() share.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../client_config.hpp"
#include "../../error.hpp"
#include "../http/url.hpp"
#include "../text/json_bounded.hpp"
#include "../text/text.hpp"
#include "../text/wipe.hpp"
#include "settings.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace oauth2cc::detail {

/// @brief A space-separated setting as a list.
inline std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t begin = text.find_first_not_of(" \t", at);
        if (begin == std::string::npos) break;
        const std::size_t end = std::min(text.find_first_of(" \t", begin), text.size());
        out.push_back(text.substr(begin, end - begin));
        at = end;
    }
    return out;
}

/// @brief A client configuration from settings by name (setting_names()): the one parser
/// of config_from_environment(), config_from_file() and config_from_settings().
/// @throws error `config` naming the setting that is unknown, missing, out of place or
///         bad (never a secret's value)
inline client_config config_of(const settings_reader& s, const settings_reader::settings& values) {
    for (const auto& [name, value] : values) {
        const auto& known = setting_names();
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            s.fail(name, "no such setting");
        }
        if (name != "client_secret" && has_control(value)) s.fail(name, "has control characters");
    }
    client_config cfg;
    cfg.token_endpoint = s["token_url"];
    cfg.issuer = s["issuer"];
    if (cfg.token_endpoint.empty() && cfg.issuer.empty()) {
        s.fail("token_url", "no token endpoint: set it, or the issuer to discover it from");
    }
    // The one rule a URL breaks, under the name the user gave it; never the URL itself.
    for (const char* url : {"token_url", "issuer", "revocation_url"}) {
        if (s.has(url) && !url_problem(s[url]).empty()) s.fail(url, url_problem(s[url]));
    }
    cfg.client_id = s["client_id"];
    if (cfg.client_id.empty()) s.fail("client_id", "no client id");
    cfg.assertion_audience = s["assertion_audience"];
    apply_authentication(cfg, s);
    apply_secret(cfg, s);
    cfg.scopes = words(s["scope"]);
    cfg.audience = s["audience"];
    cfg.resources = words(s["resource"]);
    cfg.tls.ca_file = s.file("ca_file");
    cfg.revocation_endpoint = s["revocation_url"];
    apply_grant(cfg, s);
    return cfg;
}

/// @brief A client configuration from the text of a configuration file: a JSON object of
/// settings, every value a string (see config_from_file()); where names the file, and
/// shared_mode is its mode ("0644") when users other than its owner may read it (empty
/// when not): a file that holds client_secret itself must be the owner's alone.
/// @throws error `config` naming where and the member (or the line and column where the
///         text is not JSON), never a secret's value
inline client_config config_from_json(std::string_view text, const std::string& where,
                                      const std::string& shared_mode = {}) {
    json_notes notes;
    nlohmann::json doc = parse_json_bounded(text, notes);
    settings_reader::settings values;
    const wipe_at_exit wiper{[&] {
        wipe_strings(doc);
        for (auto& kv : values) wipe(kv.second);
    }};
    if (doc.is_discarded() && notes.error_at != std::string::npos) {
        throw error(error_kind::config, where + " is not JSON: the text stops being JSON at " +
                                            line_and_column(text, notes.error_at));
    }
    if (!doc.is_object())
        throw error(error_kind::config, where + " is not a JSON object of settings");
    const auto label = [&where](std::string_view name) {
        return "\"" + excerpt(name, 100) + "\" in " + where;
    };
    if (!notes.repeated.empty()) {
        throw error(error_kind::config, label(notes.repeated) + ": given twice");
    }
    for (const auto& [name, value] : doc.items()) {
        if (!value.is_string()) {
            throw error(error_kind::config, label(name) + ": not a string (write \"" +
                                                excerpt(name, 100) + "\": \"...\")");
        }
        values.emplace(name, value.get_ref<const std::string&>());
    }
    const auto secret_member = values.find("client_secret");
    if (!shared_mode.empty() && secret_member != values.end() && !secret_member->second.empty()) {
        throw error(error_kind::config,
                    where + " holds client_secret, and its mode " + shared_mode +
                        " lets other users read it: `chmod 600` it, or move the secret to "
                        "a file of its own named by client_secret_file");
    }
    return config_of(settings_reader(values, label), values);
}

}  // namespace oauth2cc::detail
