// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// impl/grpc_inl.hpp: the bodies of grpc.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include "../grpc.hpp"

#include "../detail/adapters/grpc.hpp"
#include "../error.hpp"

#include <memory>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::shared_ptr<grpc::CallCredentials> grpc_call_credentials(
    std::shared_ptr<token_manager> tokens, std::optional<token_params> params) {
    if (!tokens)
        throw error(error_kind::config, "grpc_call_credentials: the token_manager is null");
    return grpc::MetadataCredentialsFromPlugin(
        std::make_unique<detail::grpc_token_plugin>(std::move(tokens), std::move(params)));
}

}  // namespace oauth2cc
