// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// httplib_transport.hpp: the default transport, on cpp-httplib, with kept-alive connections.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "config.hpp"
#include "connection_options.hpp"
#include "http.hpp"
#include "transport.hpp"

#include <memory>

namespace oauth2cc {

/// @brief Sends requests with cpp-httplib: HTTPS with certificate and host-name
/// verification, every timeout set, redirects never followed, bodies capped, and
/// connections kept alive and reused per origin.
///
/// Thread-safe: concurrent send() calls each use their own connection; a connection is
/// reused by the next request to the same origin once it is idle.
class httplib_transport final : public transport {
public:
    /// @brief A transport that connects as options say (a client_config is one; its
    /// allow_insecure_http and user_agent are the requests' business, not the transport's).
    /// @throws error `config` when options fail check_connection's rules, or when
    ///         tls.ca_file, tls.ca_dir or the client certificate cannot be loaded
    explicit httplib_transport(connection_options options = {});
    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that includes this header but makes none emits no vtable and
    // no code. In compiled mode they are the library's, with its vtable.
    OAUTH2CC_INLINE ~httplib_transport() override;
    httplib_transport(const httplib_transport&) = delete;
    httplib_transport& operator=(const httplib_transport&) = delete;

    /// @brief Sends one request over a kept-alive connection to its origin.
    /// @throws error `tls` when the handshake or verification fails; `transport` when the
    ///         connection fails or the exchange passes its deadline; `bad_response` when
    ///         the body is over max_response_bytes; `config` for a URL or header it
    ///         cannot send
    OAUTH2CC_INLINE http_response send(const http_request& request) override;

    /// @brief The options this transport was made with.
    const connection_options& options() const noexcept;

private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/httplib_transport_inl.hpp"
#endif
