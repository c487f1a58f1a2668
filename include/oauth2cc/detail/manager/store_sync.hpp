// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/manager/store_sync.hpp: how a token_manager shares its tokens through a token_store with
// other managers and processes: which stored token it takes, when it takes the store's
// lock, what it saves, and what invalidate() removes.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../token.hpp"
#include "../../token_manager.hpp"
#include "../../token_store.hpp"
#include "../text/limits.hpp"
#include "../crypto/sha256.hpp"
#include "../text/text.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief A stored token worth taking, with how long it has left and its whole lifetime.
struct stored_pick {
    token tok;
    std::chrono::steady_clock::duration left;
    std::chrono::steady_clock::duration lifetime;
};

/// @brief What a fetch may not take from the store.
struct store_exclusions {
    const token* replacing = nullptr;  ///< the token being replaced, if any
    std::string dropped_digest;        ///< SHA-256 of the token last dropped, if any
    /// DPoP-bound tokens: left unless the manager has a DPoP key (then the store key
    /// already names that key's thumbprint).
    bool dpop_bound = true;
    /// Tokens of token_type N_A are taken (accepts_not_applicable() of the config).
    bool not_applicable = false;
};

/// @brief The stored entry as a token, unless it is the token being replaced or the one
/// last dropped, is neither Bearer nor (when allowed) DPoP or N_A, or is within the refresh lead
/// of its stored lifetime.
inline std::optional<stored_pick> usable_stored(const refresh_policy& policy,
                                                std::optional<stored_token> entry,
                                                const store_exclusions& not_these,
                                                std::chrono::steady_clock::time_point started) {
    using duration = std::chrono::steady_clock::duration;
    if (!entry || entry->access_token.empty()) return std::nullopt;
    const std::string& value = entry->access_token.reveal();
    if (not_these.replacing != nullptr && not_these.replacing->access_token.reveal() == value) {
        return std::nullopt;
    }
    if (!not_these.dropped_digest.empty() && sha256_hex(value) == not_these.dropped_digest) {
        return std::nullopt;
    }
    const bool dpop = !not_these.dpop_bound && iequals(entry->token_type, "DPoP");
    const bool not_applicable = not_these.not_applicable && iequals(entry->token_type, "N_A");
    if (!dpop && !not_applicable && !iequals(entry->token_type, "Bearer")) return std::nullopt;
    // Clamped as a response's expires_in is: no stored entry lives longer than a year.
    const std::chrono::system_clock::duration longest = max_token_lifetime;
    const auto stored_lifetime = std::min(entry->expires_at - entry->issued_at, longest);
    if (stored_lifetime <= std::chrono::system_clock::duration::zero()) return std::nullopt;
    // A wall clock set back must not lengthen a token's life.
    const auto remaining =
        std::min(entry->expires_at - std::chrono::system_clock::now(), stored_lifetime);
    const auto lifetime = std::chrono::duration_cast<duration>(stored_lifetime);
    const auto left = std::chrono::duration_cast<duration>(remaining);
    if (left <= token_manager::lead_for(lifetime, policy)) return std::nullopt;
    stored_pick pick{token{}, left, lifetime};
    pick.tok.access_token = std::move(entry->access_token);
    pick.tok.token_type = dpop ? "DPoP" : not_applicable ? "N_A" : "Bearer";
    pick.tok.issued_token_type = std::move(entry->issued_token_type);
    pick.tok.scope = std::move(entry->scope);
    pick.tok.extra = std::move(entry->extra);
    pick.tok.expires_in = std::chrono::duration_cast<std::chrono::seconds>(left);
    pick.tok.obtained_at = started;
    return pick;
}

/// @brief The `config` error of a store that threw something other than an error.
inline error store_failure(const char* what) {
    return error(error_kind::config, std::string("the token store failed: ") + what);
}

/// @brief What a look at the store found: a token to take, or the store's lock, held
/// until the token requested meanwhile is saved (another process requesting then waits
/// for it, and takes it); or that the store could not be reached.
struct store_look {
    std::optional<stored_pick> picked;
    std::unique_ptr<token_store_lock> held;
    std::string unavailable;  ///< why the store could not be reached, if it could not
};

/// @brief Looks for a usable stored token; when there is none, takes the store's lock and
/// looks again (another process may be requesting; its token arrives with the lock). A
/// store that cannot be reached (an error of kind `transport`) is gone without.
/// @throws error the store's other errors, or a `config` error for anything else it threw
inline store_look look_in_store(token_store& store, const std::string& key,
                                const refresh_policy& policy, const store_exclusions& not_these,
                                std::chrono::steady_clock::time_point started) {
    store_look look;
    try {
        look.picked = usable_stored(policy, store.load(key), not_these, started);
        if (!look.picked) {
            look.held = store.lock(key);
            look.picked = usable_stored(policy, store.load(key), not_these, started);
        }
    } catch (const error& e) {
        if (e.kind() != error_kind::transport) throw;
        look.picked.reset();
        look.unavailable = e.what();
    } catch (const std::exception& e) {
        throw store_failure(e.what());
    } catch (...) {
        throw store_failure("a non-exception was thrown");
    }
    return look;
}

/// @brief Why a token could not be saved.
struct save_problem {
    std::string what;          ///< empty when it was saved
    bool unavailable = false;  ///< the store could not be reached
};

/// @brief Saves a token just requested, with its lifetime on the wall clock.
inline save_problem save_to_store(token_store& store, const std::string& key, const token& got,
                                  std::chrono::system_clock::time_point issued_at,
                                  std::chrono::seconds lifetime) noexcept {
    try {
        stored_token entry;
        entry.access_token = got.access_token;
        entry.token_type = got.token_type;
        entry.issued_token_type = got.issued_token_type;
        entry.scope = got.scope;
        entry.extra = got.extra;
        entry.issued_at = issued_at;
        entry.expires_at = issued_at + lifetime;
        store.save(key, entry);
        return {};
    } catch (const std::exception& e) {
        const auto* ours = dynamic_cast<const error*>(&e);
        try {
            return {e.what(), ours != nullptr && ours->kind() == error_kind::transport};
        } catch (...) {
            return {"the token store failed", false};
        }
    } catch (...) {
        return {"a non-exception was thrown", false};
    }
}

/// @brief Removes the stored token if it is still the one dropped, under the store's lock
/// so that a token another process has just saved stays.
/// @returns `ok`, or `unavailable` when the store could not be reached, else `failure`
inline store_result drop_stored(token_store& store, const std::string& key,
                                const secret& dropped) noexcept {
    try {
        const auto held = store.lock(key);
        const auto entry = store.load(key);
        if (entry && entry->access_token.reveal() == dropped.reveal()) store.remove(key);
        return store_result::ok;
    } catch (const error& e) {
        return e.kind() == error_kind::transport ? store_result::unavailable
                                                 : store_result::failure;
    } catch (...) {
        return store_result::failure;
    }
}

}  // namespace oauth2cc::detail
