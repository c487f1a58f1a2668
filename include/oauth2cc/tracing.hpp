// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// tracing.hpp: spans for token acquisitions and HTTP attempts, for a tracing system to
// record (OpenTelemetry and the like, through a small adapter): never a secret or a token.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "metrics.hpp"

#include <memory>
#include <string_view>

namespace oauth2cc {

/// @brief What a span stands for.
enum class span_kind {
    /// A token a token_manager served, or a token request (request_token(),
    /// token_client::fetch()): its attempts are its children.
    token_acquisition,
    /// One HTTP request and its response: to the token, introspection or revocation
    /// endpoint, or an authorized_client call.
    http_attempt
};

/// @brief The span's name: "oauth2cc.token" or "oauth2cc.http".
std::string_view to_string(span_kind kind) noexcept;

/// @brief How a token acquisition was served.
enum class cache_outcome {
    hit,   ///< from the manager's cache, with no request
    miss,  ///< by a token request (the span's attempts are its)
    wait   ///< by a token request another caller's get() had started, waited for
};

/// @brief The outcome's name: "hit", "miss", "wait".
std::string_view to_string(cache_outcome outcome) noexcept;

/// @brief What a span is about, known when it starts. The views live until start_span()
/// returns. Never a secret or a token.
struct span_start {
    span_kind kind = span_kind::http_attempt;  ///< what the span stands for
    std::string_view client_id;                ///< the client's id
    std::string_view server;  ///< host[:port] of the endpoint or API the span talks to
    std::string_view grant;   ///< to_string(grant_type) of a token span or token attempt
    /// An attempt's endpoint: "token", "introspection", "revocation", or "resource" for
    /// an authorized_client call.
    std::string_view endpoint;
    std::string_view method;  ///< an attempt's HTTP method
    /// An attempt's number within its acquisition or call: 0 the first, 1 the retry
    /// (a DPoP nonce, a rotated secret, a 401's new token), and so on.
    unsigned attempt = 0;
};

/// @brief How a span ended.
struct span_end {
    request_outcome outcome = request_outcome::success;  ///< success, or the error's kind
    int http_status = 0;                                 ///< the response's; 0 when none
    std::string_view oauth_error;  ///< the RFC 6749 §5.2 `error`, or a 401's Bearer error
    cache_outcome cache = cache_outcome::miss;  ///< a token acquisition's
};

/// @brief A span a tracer started: ended exactly once, by the thread that started it.
class trace_span {
public:
    virtual ~trace_span() = default;
    /// @brief The span is over. Must not throw.
    virtual void end(const span_end& how) noexcept = 0;
};

/// @brief Starts spans: set as client_config::tracer, it is called for every token
/// acquisition and HTTP attempt the configuration makes, from the thread that makes it.
/// It must be thread-safe, quick, and not throw (a throw is taken as no span). A
/// token_manager's cached get() that its thread's copy answers starts no span (it costs
/// nanoseconds); the first get() of a thread for a token, every wait and every request do.
class tracer {
public:
    virtual ~tracer() = default;
    /// @brief A new span, or null for none.
    /// @param what   what the span is about
    /// @param parent the span this one is part of (an attempt's acquisition), or null
    virtual std::unique_ptr<trace_span> start_span(const span_start& what, trace_span* parent) = 0;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/tracing_inl.hpp"
#endif
