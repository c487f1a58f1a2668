// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/json_bounded.hpp: JSON from servers and files, parsed no deeper than a limit and
// with a repeated top-level member noticed.
// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief No response or file of ours nests deeper; deeper ones are refused, so that the
/// recursive parts of nlohmann::json (dump, comparison) never meet a deep document.
inline constexpr int max_json_depth = 32;

/// @brief What parse_json_bounded noticed besides the value.
struct json_notes {
    bool too_deep = false;  ///< nested deeper than max_json_depth (the value is discarded)
    std::string repeated;   ///< a member name the top-level object has twice, if any
};

/// @brief Parses text as JSON. The result is discarded when the text is not JSON or nests
/// deeper than max_json_depth. A top-level member given twice keeps its last value, and
/// notes.repeated names it: which one a server meant is anyone's guess (RFC 8259 §4).
inline nlohmann::json parse_json_bounded(std::string_view text, json_notes& notes) {
    struct too_deep {};
    std::set<std::string> top_level;
    bool top_is_object = false;
    const nlohmann::json::parser_callback_t watch =
        [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
            using event_t = nlohmann::json::parse_event_t;
            if (event == event_t::object_start || event == event_t::array_start) {
                // Thrown to stop at once instead of reading the rest of a deep document.
                if (depth >= max_json_depth) throw too_deep{};
                if (depth == 0) top_is_object = event == event_t::object_start;
            } else if (event == event_t::key && depth == 1 && top_is_object &&
                       notes.repeated.empty()) {
                const auto& name = parsed.get_ref<const std::string&>();
                if (!top_level.insert(name).second) notes.repeated = name;
            }
            return true;
        };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), watch, /*allow_exceptions=*/false);
    } catch (const too_deep&) {
        notes.too_deep = true;
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
}

}  // namespace oauth2cc::detail
