// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// transport.hpp: what carries an HTTP request to a server and its response back.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "http.hpp"

namespace oauth2cc {

/// @brief Sends HTTP requests. httplib_transport is the default; tests and users with
/// their own HTTP stack supply others.
class transport {
public:
    virtual ~transport() = default;

    /// @brief Sends one request and returns the response, whatever its status. Never
    /// follows a redirect.
    /// @throws error of kind `transport` or `tls` when no response arrives;
    ///         `bad_response` when one arrives that no protocol allows (a body over the
    ///         size cap)
    virtual http_response send(const http_request& request) = 0;

protected:
    transport() = default;                             ///< For derived classes.
    transport(const transport&) = default;             ///< For derived classes.
    transport& operator=(const transport&) = default;  ///< For derived classes.
};

}  // namespace oauth2cc
