// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// grpc.hpp: the token on gRPC calls. grpc_call_credentials() makes call credentials that
// put a token_manager's token on every RPC; grpc_retry_unauthenticated() repeats an RPC
// refused UNAUTHENTICATED once, with a new token. An add-on, not in oauth2cc.hpp.
// Header-only, link gRPC++ (pkg-config grpc++); in compiled mode a unit sees declarations
// only and links oauth2cc::grpc (Meson's oauth2cc_grpc), which holds the bodies.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "token.hpp"
#include "token_manager.hpp"

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
#include "impl/grpc_inl.hpp"
#endif
