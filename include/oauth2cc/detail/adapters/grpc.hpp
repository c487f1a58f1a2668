// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/adapters/grpc.hpp: the gRPC adapter's call-credentials plugin.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../grpc.hpp"

#include "../text/text.hpp"
#include "../text/wipe.hpp"
#include "../../error.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <utility>

namespace oauth2cc::detail {

// The plugin behind grpc_call_credentials(). gRPC asks IsBlocking() before each
// GetMetadata(): with a valid token cached, the plugin runs on the RPC's thread and
// returns at once; without one, on gRPC's pool for plugins that block.
class grpc_token_plugin final : public grpc::MetadataCredentialsPlugin {
public:
    grpc_token_plugin(std::shared_ptr<token_manager> tokens, std::optional<token_params> params)
        : tokens_(std::move(tokens)),
          params_(std::move(params)),
          wait_(tokens_->config().connect_timeout + tokens_->config().read_timeout),
          debug_("oauth2cc call credentials for client \"" +
                 excerpt(tokens_->config().client_id, 100) + "\"") {}

    bool IsBlocking() const override {
        // gRPC first asks when it wraps the plugin, and makes the thread pool for blocking
        // plugins only if the answer is yes; later it asks before each GetMetadata(). The
        // first answer is yes whatever is cached (and starts no request), so that the pool
        // is there for a later cold start.
        if (!asked_.exchange(true)) return true;
        return !cached();
    }

    const char* GetType() const override { return "oauth2cc"; }

    grpc::Status GetMetadata(grpc::string_ref service_url, grpc::string_ref method_name,
                             const grpc::AuthContext& /*channel_auth_context*/,
                             std::multimap<grpc::string, grpc::string>* metadata) override {
        try {
            auto tok = cached();
            if (!tok) tok = params_ ? tokens_->get(*params_, wait_) : tokens_->get(wait_);
            std::string url(service_url.data(), service_url.size());
            // Local credentials' security connector has no scheme: gRPC gives
            // "://authority/package.Service". Their channel has privacy and integrity, as
            // TLS does, so the proof names https.
            if (url.rfind("://", 0) == 0) url.insert(0, "https");
            url += '/';
            url.append(method_name.data(), method_name.size());
            name_value_list headers = tokens_->headers_for(*tok, "POST", url);
            for (auto& [name, value] : headers) {
                if (has_control(value)) {
                    wipe(value);
                    return {grpc::StatusCode::UNAUTHENTICATED,
                            "oauth2cc: the access token holds control characters; it is never "
                            "sent"};
                }
                std::string key = name;
                for (auto& c : key) c = ascii_lower(c);  // gRPC metadata keys are lower case
                metadata->emplace(std::move(key), value);
                wipe(value);
            }
            return grpc::Status::OK;
        } catch (const std::exception& e) {
            // error::what() carries neither secret nor token.
            return {grpc::StatusCode::UNAUTHENTICATED, e.what()};
        }
    }

    grpc::string DebugString() override { return debug_; }

private:
    std::shared_ptr<const token> cached() const {
        return params_ ? tokens_->try_get(*params_) : tokens_->try_get();
    }

    std::shared_ptr<token_manager> tokens_;
    std::optional<token_params> params_;
    std::chrono::milliseconds wait_;
    std::string debug_;
    mutable std::atomic<bool> asked_{false};
};

}  // namespace oauth2cc::detail
