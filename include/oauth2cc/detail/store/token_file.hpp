// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/store/token_file.hpp: the JSON text of a stored token, written and read back.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../token_store.hpp"
#include "../text/json_bounded.hpp"
#include "../text/wipe.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace oauth2cc::detail {

/// @brief Refuses keys that are not plain names (a file name, a Redis key part):
/// store_key() gives 64 hex digits.
inline void check_store_key(const std::string& key) {
    const bool plain =
        !key.empty() && key.size() <= 128 && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c == '_' || c == '-';
        });
    if (!plain) {
        throw error(error_kind::config,
                    "a token store key must be 1 to 128 letters, digits, '_' or '-' "
                    "(oauth2cc::store_key() gives such keys)");
    }
}

/// @brief Names the format, so that a later version can tell its files from these.
inline constexpr const char* token_file_format = "oauth2cc-token/1";

inline std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

/// @brief The file text of entry: one JSON object. Times are whole Unix seconds; the
/// expiry is rounded down, so a loaded token never outlives the one stored.
/// The caller wipes the returned text once written.
inline std::string token_file_text(const stored_token& entry) {
    // Member by member, not from an initializer list: the same document (an object's
    // members are kept sorted), with one template compiled instead of one per name.
    nlohmann::json doc = nlohmann::json(nlohmann::json::value_t::object);
    doc["format"] = token_file_format;
    doc["access_token"] = entry.access_token.reveal();
    doc["token_type"] = entry.token_type;
    doc["scope"] = entry.scope;
    if (!entry.issued_token_type.empty()) doc["issued_token_type"] = entry.issued_token_type;
    doc["issued_at"] = unix_seconds(entry.issued_at);
    doc["expires_at"] = unix_seconds(entry.expires_at);
    doc["extra"] =
        entry.extra.is_object() ? entry.extra : nlohmann::json(nlohmann::json::value_t::object);
    std::string text = doc.dump();
    wipe(doc["access_token"].get_ref<std::string&>());
    text += '\n';
    return text;
}

/// @brief The token in a file's text; empty when the text is not a whole, well-formed
/// token file (truncated, corrupt, another format), which the store then ignores.
inline std::optional<stored_token> parse_token_file(const std::string& text) {
    json_notes notes;
    nlohmann::json doc = parse_json_bounded(text, notes);
    std::optional<stored_token> out;
    if (!doc.is_object() || !notes.repeated.empty()) return out;
    const auto string_at = [&doc](const char* name) -> const std::string* {
        const auto it = doc.find(name);
        return it != doc.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
    };
    const auto seconds_at = [&doc](const char* name) -> std::optional<std::int64_t> {
        const auto it = doc.find(name);
        if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
        return it->get<std::int64_t>();
    };
    const std::string* format = string_at("format");
    const std::string* access_token = string_at("access_token");
    const std::string* token_type = string_at("token_type");
    const std::string* scope = string_at("scope");
    const std::string* issued_type = string_at("issued_token_type");  // optional
    const auto issued_at = seconds_at("issued_at");
    const auto expires_at = seconds_at("expires_at");
    const auto extra = doc.find("extra");
    const bool whole = format != nullptr && *format == token_file_format &&
                       access_token != nullptr && !access_token->empty() && token_type != nullptr &&
                       scope != nullptr && issued_at && expires_at &&
                       // Dates before 1970 or past 2255 are not ours, and the latter
                       // would overflow system_clock's nanoseconds.
                       *issued_at >= 0 && *expires_at > *issued_at && *expires_at < 9'000'000'000 &&
                       extra != doc.end() && extra->is_object();
    bool printable = whole;
    if (whole) {
        for (const unsigned char c : *access_token) {
            if (c < 0x20 || c == 0x7f) printable = false;
        }
    }
    if (printable) {
        out.emplace();
        out->access_token = secret{*access_token};
        out->token_type = *token_type;
        out->scope = *scope;
        if (issued_type != nullptr) out->issued_token_type = *issued_type;
        out->extra = *extra;
        out->issued_at = std::chrono::system_clock::time_point(std::chrono::seconds(*issued_at));
        out->expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(*expires_at));
    }
    if (access_token != nullptr) wipe(doc["access_token"].get_ref<std::string&>());
    return out;
}

}  // namespace oauth2cc::detail
