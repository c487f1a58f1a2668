// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// token_store.hpp: where token_manager keeps tokens beyond one process, and their keys.
// SPDX-License-Identifier: MIT
#pragma once

#include "config.hpp"
#include "secret.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace oauth2cc {

/// @brief A token as a store keeps it. Its times are wall-clock times, since a stored
/// token outlives the process, and the steady clock, that got it.
struct stored_token {
    secret access_token;     ///< The token itself.
    std::string token_type;  ///< "Bearer", "DPoP", or "N_A".
    /// The RFC 8693 issued_token_type, when the server named one.
    std::string issued_token_type;
    std::string scope;  ///< The granted scope.
    /// Every other member of the token response.
    nlohmann::json extra = nlohmann::json(nlohmann::json::value_t::object);
    /// When the token was requested.
    std::chrono::system_clock::time_point issued_at{};
    /// When it expires; expires_at - issued_at is its lifetime.
    std::chrono::system_clock::time_point expires_at{};
};

/// @brief While an object of this type lives, other users of one store key wait.
class token_store_lock {
public:
    virtual ~token_store_lock() = default;
};

/// @brief Keeps tokens under keys beyond the life of one token_manager, e.g. in files
/// shared by the runs of a cron job. token_manager reads the store before it makes a
/// request and writes to it after a request succeeds.
///
/// Keys come from store_key(): 64 lower-case hex digits, no secret. A store never sees
/// the client secret. Implementations must be safe to call from several threads.
///
/// Every member may throw an error of kind `transport` when the store cannot be reached
/// (a server down, slow or answering errors): token_manager then goes on without the
/// store, and fails no caller. Other errors are the store refusing on principle.
class token_store {
public:
    virtual ~token_store() = default;

    /// @brief The token stored under key, expired or not; empty when there is none or
    /// it cannot be read as a token (a store ignores what it cannot parse).
    /// @throws error `config` when the store refuses to use what is there, e.g. a file
    ///         that other users may read or write
    virtual std::optional<stored_token> load(const std::string& key) = 0;

    /// @brief Stores entry under key, replacing what was there, all at once: a concurrent
    /// load() sees the old entry or the new one, never a mixture.
    /// @throws error `config` when it cannot be stored
    virtual void save(const std::string& key, const stored_token& entry) = 0;

    /// @brief Removes what is stored under key, if anything.
    /// @throws error `config` when it cannot be removed
    virtual void remove(const std::string& key) = 0;

    /// @brief Holds other users of key (threads and processes) off until the returned
    /// object is destroyed, so that of many clients finding no token, one makes the
    /// request and the others load its token. A store that cannot lock, or that gives up
    /// waiting, returns null and the caller goes on unlocked. The default returns null.
    /// @throws error `config` when the store refuses its lock file
    /// (Declared inline so that the class has no key function: a unit that includes this
    /// header but makes no store emits no vtable.)
    OAUTH2CC_INLINE virtual std::unique_ptr<token_store_lock> lock(const std::string& key);
};

/// @brief The store key of a token_manager::cache_key(): its SHA-256 in lower-case hex.
/// The cache key holds no secret, so neither does this.
std::string store_key(const std::string& cache_key);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
#include "impl/token_store_inl.hpp"
#endif
