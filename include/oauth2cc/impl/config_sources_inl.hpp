// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/config_sources_inl.hpp: the bodies of config_from_environment(), config_from_file()
// and config_from_settings().
// SPDX-License-Identifier: MIT
#pragma once

#include "../config_sources.hpp"

#include "../detail/config/parser.hpp"
#include "../detail/store/private_files.hpp"
#include "../detail/text/text.hpp"
#include "../detail/text/wipe.hpp"
#include "../error.hpp"

#include <cctype>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <sys/stat.h>

namespace oauth2cc {

OAUTH2CC_INLINE client_config config_from_environment(std::string_view prefix) {
    const auto variable = [prefix](std::string_view name) {
        std::string out(prefix);
        for (const char c : name)
            out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        return out;
    };
    detail::settings_reader::settings values;
    const detail::wipe_at_exit wiper{[&values] {
        for (auto& kv : values) detail::wipe(kv.second);
    }};
    for (const std::string_view name : detail::setting_names()) {
        const char* value = std::getenv(variable(name).c_str());
        if (value != nullptr && *value != '\0') values.emplace(std::string(name), value);
    }
    return detail::config_of(detail::settings_reader(values, variable), values);
}

OAUTH2CC_INLINE client_config config_from_file(const std::string& path) {
    std::string text = detail::read_credential_file(path, 1024 * 1024, "the configuration file");
    const detail::wipe_at_exit wiper{[&text] { detail::wipe(text); }};
    // A file that holds the secret itself is checked as the token cache's files are.
    struct stat st {};
    const std::string shared =
        ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0
            ? detail::octal_mode(st.st_mode & 07777)
            : std::string();
    return detail::config_from_json(
        text, "the configuration file \"" + detail::excerpt(path, 200) + "\"", shared);
}

OAUTH2CC_INLINE client_config
config_from_settings(const std::map<std::string, std::string>& settings) {
    detail::settings_reader::settings values(settings.begin(), settings.end());
    const detail::wipe_at_exit wiper{[&values] {
        for (auto& kv : values) detail::wipe(kv.second);
    }};
    return detail::config_of(
        detail::settings_reader(values, [](std::string_view name) { return std::string(name); }),
        values);
}

}  // namespace oauth2cc
