// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/text/json_bounded.hpp: JSON from servers and files, parsed no deeper than a limit,
// with a repeated top-level member noticed and no copy of a string value left behind.
// SPDX-License-Identifier: MIT
#pragma once

#include "wipe.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief No response or file of ours nests deeper; deeper ones are refused, so that the
/// recursive parts of nlohmann::json (dump, comparison) never meet a deep document.
inline constexpr int max_json_depth = 32;

/// @brief What parse_json_bounded noticed besides the value.
struct json_notes {
    bool too_deep = false;  ///< nested deeper than max_json_depth (the value is discarded)
    std::string repeated;   ///< a member name the top-level object has twice, if any
    /// Where the text stopped being JSON: a byte offset, for a line and column in a
    /// message (never the text there); npos when it did not.
    std::size_t error_at = std::string::npos;
};

/// @brief "line L, column C" (both from 1) of the byte at offset in text.
inline std::string line_and_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

/// @brief Wipes every string value in a document (member names stay); for documents
/// that held a credential, before they are destroyed.
inline void wipe_strings(nlohmann::json& doc) noexcept {
    if (doc.is_string()) {
        wipe(doc.get_ref<std::string&>());
    } else if (doc.is_structured()) {
        // A parsed document is at most max_json_depth deep.
        for (auto& child : doc) wipe_strings(child);
    }
}

/// @brief Builds the document from nlohmann::json's SAX events. Each string value is
/// moved out of the parser's buffer and the buffer wiped, so that a token in a response
/// lives in the document alone, where the caller can wipe it.
class bounded_document_builder {
public:
    using json = nlohmann::json;

    bounded_document_builder(json& root, json_notes& notes) : root_(root), notes_(notes) {}

    bool null() { return put(nullptr); }
    bool boolean(bool v) { return put(v); }
    bool number_integer(json::number_integer_t v) { return put(v); }
    bool number_unsigned(json::number_unsigned_t v) { return put(v); }
    bool number_float(json::number_float_t v, const std::string&) { return put(v); }
    bool string(std::string& v) {
        json value(std::move(v));
        wipe(v);
        return put(std::move(value));
    }
    // Only the binary formats produce binary values; JSON text never does.
    bool binary(json::binary_t&) { return false; }
    bool start_object(std::size_t) { return open(json::value_t::object); }
    bool start_array(std::size_t) { return open(json::value_t::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string& k) {
        json& object = *stack_.back();
        if (stack_.size() == 1 && notes_.repeated.empty() && object.contains(k)) {
            notes_.repeated = k;
        }
        member_ = &object[k];
        return true;
    }
    bool parse_error(std::size_t at, const std::string&, const nlohmann::detail::exception&) {
        // nlohmann::json counts the offending byte as read: at is one past it.
        notes_.error_at = at > 0 ? at - 1 : 0;
        return false;
    }

private:
    template <class Value>
    bool put(Value&& v) {
        json* slot = place();
        *slot = json(std::forward<Value>(v));
        return true;
    }
    json* place() {
        if (stack_.empty()) return &root_;
        json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(nullptr);
            return &parent.back();
        }
        return member_;
    }
    bool open(json::value_t type) {
        // Stopped at once instead of reading the rest of a deep document.
        if (stack_.size() >= static_cast<std::size_t>(max_json_depth)) {
            notes_.too_deep = true;
            return false;
        }
        json* slot = place();
        *slot = json(type);
        stack_.push_back(slot);
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }

    json& root_;
    json_notes& notes_;
    std::vector<json*> stack_;
    json* member_ = nullptr;
};

/// @brief Feeds text to the builder as JSON. nlohmann::json's public sax_parse picks
/// its input format at run time, so it compiles the readers of every binary format
/// (CBOR, MessagePack, UBJSON, BSON) too; where its JSON parser has the interface of
/// the 3.10 to 3.12 releases, that parser is called alone.
inline bool sax_parse_json(std::string_view text, bounded_document_builder& builder) {
#if NLOHMANN_JSON_VERSION_MAJOR == 3 && NLOHMANN_JSON_VERSION_MINOR >= 10 && \
    NLOHMANN_JSON_VERSION_MINOR <= 12
    const char* first = text.data();
    auto input = nlohmann::detail::input_adapter(first, first + text.size());
    return nlohmann::detail::parser<nlohmann::json, decltype(input)>(std::move(input))
        .sax_parse(&builder, true);
#else
    return nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
#endif
}

/// @brief Parses text as JSON. The result is discarded when the text is not JSON or nests
/// deeper than max_json_depth. A top-level member given twice keeps its last value, and
/// notes.repeated names it: which one a server meant is anyone's guess (RFC 8259 §4).
inline nlohmann::json parse_json_bounded(std::string_view text, json_notes& notes) {
    nlohmann::json doc;
    bounded_document_builder builder(doc, notes);
    if (!sax_parse_json(text, builder)) {
        wipe_strings(doc);
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
    return doc;
}

}  // namespace oauth2cc::detail
