// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// grpc_adapter_unit.cpp: bench/run-peers compiles this, in compiled mode, to measure what
// oauth2cc/grpc.hpp costs a unit beside grpc_plugin_unit.cpp, the same unit with a
// hand-written plugin: call credentials from a token_manager, on a TLS channel.
// SPDX-License-Identifier: MIT

#include <oauth2cc/grpc.hpp>
#include <oauth2cc/oauth2cc.hpp>

#include <grpcpp/create_channel.h>

std::shared_ptr<grpc::Channel> channel_for(const std::string& target,
                                           std::shared_ptr<oauth2cc::token_manager> tokens) {
    return grpc::CreateChannel(
        target, grpc::CompositeChannelCredentials(grpc::SslCredentials({}),
                                                  oauth2cc::grpc_call_credentials(tokens)));
}

int main() { return 0; }
