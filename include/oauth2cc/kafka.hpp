// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// kafka.hpp: the token for Kafka's SASL/OAUTHBEARER. kafka_oauthbearer() installs
// librdkafka's token refresh callback on a configuration, fed by a token_manager. An
// add-on, not in oauth2cc.hpp. Header-only, link librdkafka (pkg-config rdkafka); in
// compiled mode a unit sees declarations only and links oauth2cc::kafka (Meson's
// oauth2cc_kafka), which holds the bodies.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "http.hpp"
#include "token.hpp"
#include "token_manager.hpp"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <optional>
#include <string>

namespace oauth2cc {

/// @brief What kafka_oauthbearer() hands librdkafka beside the token.
struct kafka_options {
    /// The entry whose token is sent (its audience, resource, scopes); unset: the
    /// config's own.
    std::optional<token_params> params;
    /// The claim of a JWT access token that names the Kafka principal. A token that is no
    /// JWT, or lacks the claim as a string, gives the client id instead.
    std::string principal_claim = "sub";
    /// SASL extensions sent with the token (RFC 7628 §3.1): keys of letters only, not
    /// `auth`; values of visible characters, spaces and tabs.
    name_value_list extensions;
};

/// @brief Makes conf authenticate with SASL/OAUTHBEARER and tokens' token: sets
/// `sasl.mechanisms=OAUTHBEARER` and installs the
/// token refresh callback, which hands librdkafka (rd_kafka_oauthbearer_set_token) the
/// token with its real lifetime (its expiry in milliseconds since the epoch; a token
/// without expires_in uses its JWT `exp`, else five minutes), the principal (see
/// kafka_options::principal_claim) and the extensions. A token that cannot be had calls
/// rd_kafka_oauthbearer_set_token_failure with the library's message (no secret, no
/// token); librdkafka logs it, tries again later, and fails what waits for a broker.
///
/// It starts the manager's background refresh (token_manager::start_background_refresh),
/// so that each token is renewed at its refresh point, whoever asks. librdkafka asks again
/// at 80% of the lifetime (on a one-second timer): the manager's own lead still decides
/// when a token request goes out, and librdkafka is handed the token the manager holds;
/// one that lives less than a second more (its renewal failed) is replaced first. Set the
/// security protocol yourself (`security.protocol=SASL_SSL`), and leave
/// `sasl.oauthbearer.method` at `default` (librdkafka's own OIDC client is `oidc`). `sasl.oauthbearer.config`
/// holds this binding's name from now on: leave it. As for any refresh callback,
/// librdkafka calls it from rd_kafka_poll() (a producer polls; so does flush()), or on its
/// background thread after rd_kafka_conf_enable_sasl_queue(conf, 1) and, once the client
/// is made, rd_kafka_sasl_background_callbacks_enable(rk).
///
/// The binding (and tokens) lives as long as the process: a configuration may be
/// duplicated and used by any number of clients.
/// @throws error `config` for a null conf or manager, an empty principal_claim, a bad
///         extension, or a librdkafka built without SASL/OAUTHBEARER; `transport` when the
///         refresher thread cannot be started
void kafka_oauthbearer(rd_kafka_conf_t* conf, std::shared_ptr<token_manager> tokens,
                       kafka_options options = {});

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/kafka_inl.hpp"
#endif
