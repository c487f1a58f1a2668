// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// oauth2cc.hpp: the one header users include; it includes every public concept.
// SPDX-License-Identifier: MIT
#pragma once

// The layers, each using only those below it (tools/check-headers.py checks detail/'s):
//   public headers (this folder)   declarations users name
//   impl/                          their bodies, under OAUTH2CC_WITH_BODIES
//   detail/manager/                the token holder: state, fetches, refresher, guard
//   detail/store/                  token files, Redis links, the Redis store's bodies
//   detail/oauth/                  requests, responses, assertions, DPoP, discovery
//   detail/http/                   URLs, proxies, deadlines, cpp-httplib glue
//   detail/crypto/                 SHA-256, JOSE, sealing, PEM reads
//   detail/text/                   form encoding, redaction, wiping, bounded JSON

#include "config.hpp"
#include "version.hpp"

#include "authorized_client.hpp"
#include "client_config.hpp"
#include "config_sources.hpp"
#include "clock.hpp"
#include "discovery.hpp"
#include "error.hpp"
#include "file_token_store.hpp"
#include "http.hpp"
#include "httplib_transport.hpp"
#include "introspection.hpp"
#include "metrics.hpp"
#include "proxy.hpp"
#include "revocation.hpp"
#include "secret.hpp"
#include "server_metadata.hpp"
#include "signing_key.hpp"
#include "token.hpp"
#include "token_client.hpp"
#include "token_manager.hpp"
#include "token_store.hpp"
#include "tracing.hpp"
#include "transport.hpp"
#include "www_authenticate.hpp"
