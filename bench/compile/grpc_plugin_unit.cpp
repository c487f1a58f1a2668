// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// grpc_plugin_unit.cpp: the unit of grpc_adapter_unit.cpp with the plugin written by hand
// (the least a caller would write: the cached token, else a wait, its headers as
// metadata), for bench/run-peers' compile cost.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

namespace {

class token_plugin final : public grpc::MetadataCredentialsPlugin {
public:
    explicit token_plugin(std::shared_ptr<oauth2cc::token_manager> tokens)
        : tokens_(std::move(tokens)) {}
    grpc::Status GetMetadata(grpc::string_ref service_url, grpc::string_ref method_name,
                             const grpc::AuthContext&,
                             std::multimap<grpc::string, grpc::string>* metadata) override {
        try {
            auto tok = tokens_->try_get();
            if (!tok) tok = tokens_->get();
            std::string url(service_url.data(), service_url.size());
            url += '/';
            url.append(method_name.data(), method_name.size());
            for (auto& [name, value] : tokens_->headers_for(*tok, "POST", url)) {
                for (auto& c : name) c = static_cast<char>(std::tolower(c));
                metadata->emplace(name, value);
            }
            return grpc::Status::OK;
        } catch (const std::exception& e) {
            return {grpc::StatusCode::UNAUTHENTICATED, e.what()};
        }
    }

private:
    std::shared_ptr<oauth2cc::token_manager> tokens_;
};

}  // namespace

std::shared_ptr<grpc::Channel> channel_for(const std::string& target,
                                           std::shared_ptr<oauth2cc::token_manager> tokens) {
    return grpc::CreateChannel(
        target, grpc::CompositeChannelCredentials(
                    grpc::SslCredentials({}),
                    grpc::MetadataCredentialsFromPlugin(std::make_unique<token_plugin>(tokens))));
}

int main() { return 0; }
