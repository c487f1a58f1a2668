// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/kafka_inl.hpp: the bodies of kafka.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include "../kafka.hpp"

#include "../detail/adapters/kafka.hpp"
#include "../error.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE void kafka_oauthbearer(rd_kafka_conf_t* conf, std::shared_ptr<token_manager> tokens,
                                       kafka_options options) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    if (conf == nullptr) fail("kafka_oauthbearer: the rd_kafka_conf_t is null");
    if (!tokens) fail("kafka_oauthbearer: the token_manager is null");
    detail::kafka_check(options);
    tokens->start_background_refresh();
    auto& registry = detail::kafka_registry::instance();
    std::string name;
    {
        const std::lock_guard<std::mutex> lock(registry.mutex);
        name = "oauth2cc-" + std::to_string(++registry.next);
    }
    char why[512] = {0};
    for (const auto& [key, value] :
         {std::pair<const char*, const char*>{"sasl.mechanisms", "OAUTHBEARER"},
          {"sasl.oauthbearer.config", name.c_str()}}) {
        if (rd_kafka_conf_set(conf, key, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
            fail("kafka_oauthbearer: librdkafka refused " + std::string(key) + "=" + value + ": " +
                 why + " (a librdkafka built with SASL/OAUTHBEARER is needed)");
        }
    }
    {
        const std::lock_guard<std::mutex> lock(registry.mutex);
        registry.bindings[name] = std::make_shared<const detail::kafka_binding>(
            detail::kafka_binding{std::move(tokens), std::move(options)});
    }
    rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, &detail::kafka_refresh);
}

}  // namespace oauth2cc
