// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// grpc.hpp, beside the single header, of oauth2cc 0.2.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

#include "oauth2cc.hpp"

// ---- oauth2cc/grpc.hpp ----

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <optional>
#include <utility>

namespace oauth2cc {

/// @brief Call credentials that put tokens' token on every RPC made with them:
/// `authorization: Bearer <token>`, or for a DPoP-bound token `authorization: DPoP <token>`
/// and a `dpop` proof for `POST` and the RPC's URL (the service URL gRPC gives, a `/`, and
/// the method: `https://host:port/package.Service/Method`; gRPC's local credentials give
/// no scheme, and the proof names `https` there too), with the latest nonce that origin
/// gave (RFC 9449).
///
/// A cached token is attached on the RPC's own thread without waiting (try_get()). With no
/// valid token, gRPC runs the credentials on its thread pool for executors that block, and
/// the RPC waits there for the token request under way (at most the config's
/// connect_timeout + read_timeout); an RPC whose deadline comes first ends with
/// DEADLINE_EXCEEDED at its deadline. No token to be had fails the RPC with the library's
/// message (no secret, no token): the credentials give UNAUTHENTICATED, which gRPC 1.51
/// turns into UNAVAILABLE "Getting metadata from plugin failed with error: <message>".
///
/// Compose them with the channel's: `grpc::CompositeChannelCredentials(
/// grpc::SslCredentials(...), creds)`, or per call with `ClientContext::set_credentials`.
/// gRPC sends them only on a channel with privacy and integrity (TLS, or local credentials
/// over a UNIX socket); on an insecure channel, or local credentials over TCP, it fails the
/// RPC rather than send the token in clear.
/// @param tokens where the tokens come from; the credentials share it
/// @param params the entry whose token is sent; unset: the config's own
/// @throws error `config` for a null manager
std::shared_ptr<grpc::CallCredentials> grpc_call_credentials(
    std::shared_ptr<token_manager> tokens, std::optional<token_params> params = std::nullopt);

/// @brief Makes an RPC, and once more when the server refused it `UNAUTHENTICATED` with a
/// token this manager gave: that token is dropped first (token_manager::invalidate, with
/// its rejection guard), so the repeat carries a new one. gRPC never repeats an RPC for
/// UNAUTHENTICATED itself. A refusal while the rejection guard keeps the token, or with no
/// token sent, stands; an RPC that succeeds reports its token as accepted.
///
/// rpc makes the whole call and returns its status; it runs twice at most, so it makes a
/// new `grpc::ClientContext` each time (a context serves one RPC):
///
/// ```cpp
/// auto status = oauth2cc::grpc_retry_unauthenticated(*tokens, [&] {
///     grpc::ClientContext context;
///     context.set_deadline(std::chrono::system_clock::now() + 5s);
///     return stub->SayHello(&context, request, &reply);
/// });
/// ```
/// @param tokens the manager behind the call credentials
/// @param rpc    `grpc::Status()`: one RPC
/// @param params the entry the credentials send; unset: the config's own
template <class Rpc>
grpc::Status grpc_retry_unauthenticated(token_manager& tokens, Rpc&& rpc,
                                        const std::optional<token_params>& params = std::nullopt) {
    const auto current = [&] { return params ? tokens.try_get(*params) : tokens.try_get(); };
    grpc::Status status = rpc();
    const auto sent = current();
    if (status.error_code() != grpc::StatusCode::UNAUTHENTICATED) {
        if (status.ok() && sent) {
            params ? tokens.note_accepted(*params, *sent) : tokens.note_accepted(*sent);
        }
        return status;
    }
    if (!sent) return status;
    if (params) {
        tokens.invalidate(*params, sent.get());
    } else {
        tokens.invalidate(sent.get());
    }
    if (current() == sent) return status;  // kept by the rejection guard
    return rpc();
}

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
// ---- oauth2cc/impl/grpc_inl.hpp ----

// ---- oauth2cc/detail/adapters/grpc.hpp ----

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
#endif  // OAUTH2CC_WITH_BODIES
