// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// connection_options.hpp: how oauth2cc connects to a server and what it accepts from it,
// one struct for the token request, the transport and the API client alike.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "secret.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace oauth2cc {

/// @brief TLS settings for a connection.
struct tls_options {
    bool verify = true;            ///< Verify the certificate chain and the host name.
    std::string ca_file;           ///< PEM bundle of trusted CAs; empty: the system store.
    std::string ca_dir;            ///< Hashed directory of trusted CAs; empty: none.
    std::string client_cert_file;  ///< PEM client certificate for mutual TLS.
    std::string client_key_file;   ///< PEM key of the client certificate.
    /// The client certificate as PEM text instead of a file: the certificate, then any
    /// intermediates it needs (a secrets manager's or a vault's answer, say).
    std::string client_cert_pem;
    /// Its unencrypted PEM private key instead of client_key_file; wiped when dropped,
    /// and never in a message.
    secret client_key_pem;

    /// @brief Whether a client certificate is set, from files or from memory.
    bool has_client_certificate() const noexcept {
        return !client_cert_file.empty() || !client_cert_pem.empty();
    }
};

/// @brief How oauth2cc connects to a server and what it accepts from it. client_config
/// (the token endpoint), client_options (an API) and httplib_transport take these fields
/// from here, and one check refuses a bad value for all three.
struct connection_options {
    /// Bounds the TCP connect. With read_timeout it also bounds each whole exchange.
    std::chrono::milliseconds connect_timeout{OAUTH2CC_DEFAULT_CONNECT_TIMEOUT_MS};
    /// Bounds each socket read and write. `connect_timeout + read_timeout` bounds the
    /// whole exchange, so a server that trickles its reply fails too.
    std::chrono::milliseconds read_timeout{OAUTH2CC_DEFAULT_READ_TIMEOUT_MS};
    /// Certificate verification, trust anchors and the client certificate.
    tls_options tls;
    /// Allow plain `http://` to hosts other than loopback (the token request and
    /// authorized_client refuse it otherwise; a bare transport sends what it is given).
    bool allow_insecure_http = false;
    /// Responses with a larger body (after decompression) are refused.
    std::size_t max_response_bytes = OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES;
    /// Sent as User-Agent (by the token request, and by authorized_client unless a call
    /// gives its own); empty: none.
    std::string user_agent = "oauth2cc/" OAUTH2CC_VERSION_STRING;
    /// An HTTP proxy, `http://[user:password@]host[:port]` (port 1080 when absent);
    /// https:// origins are reached through it with CONNECT. Empty: none. Never echoed in
    /// a message, since it may hold credentials. proxy_from_environment() gives the one
    /// curl would use.
    std::string proxy;
    /// Idle kept-alive connections kept per origin for reuse.
    std::size_t max_idle_connections = 4;
};

}  // namespace oauth2cc
