// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_config.cpp: libFuzzer target for the configuration file parser (config_from_file()'s
// text): whatever the input, a configuration or an oauth2cc::error `config`, and never a
// client_secret's value in the message (only the message's own words, which another
// secret leaves as they are).
// SPDX-License-Identifier: MIT

#include "fuzz_check.hpp"

#include <oauth2cc/detail/config/parser.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

using oauth2cc_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    try {
        const oauth2cc::client_config cfg = oauth2cc::detail::config_from_json(input, "fuzz");
        require(!cfg.client_id.empty(), "a configuration names its client");
        require(!cfg.token_endpoint.empty() || !cfg.issuer.empty(), "and where to ask");
    } catch (const oauth2cc::error& e) {
        require(e.kind() == oauth2cc::error_kind::config, "a config error");
        const auto doc = nlohmann::json::parse(input, nullptr, false);
        if (doc.is_object() && doc.contains("client_secret") && doc["client_secret"].is_string()) {
            const std::string secret = doc["client_secret"].get<std::string>();
            const std::string message = e.what();
            if (secret.size() >= 6 && message.find(secret) != std::string::npos) {
                // Found: the message's own words may hold it ("auth2cc:" is in every
                // prefix). Then the same input with another secret of its length gives
                // the same message; a message that quotes the secret changes with it.
                const std::string quoted = nlohmann::json(secret).dump();
                const char fill = secret.find('Z') == std::string::npos ? 'Z' : 'Y';
                const std::string other = "\"" + std::string(quoted.size() - 2, fill) + "\"";
                std::string input_other = input;
                bool replaced = false;
                for (auto at = input_other.find(quoted); at != std::string::npos;
                     at = input_other.find(quoted, at + other.size())) {
                    input_other.replace(at, quoted.size(), other);
                    replaced = true;
                }
                std::string message_other;
                try {
                    oauth2cc::detail::config_from_json(input_other, "fuzz");
                } catch (const oauth2cc::error& again) {
                    message_other = again.what();
                }
                require(replaced && message_other == message, "no client_secret in the message");
            }
        }
    }
    return 0;
}
