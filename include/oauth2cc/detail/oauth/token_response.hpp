// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/oauth/token_response.hpp: turns a token endpoint's response into a token or an error.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../error.hpp"
#include "../../http.hpp"
#include "../../token.hpp"
#include "../text/form.hpp"
#include "../text/json_bounded.hpp"
#include "../text/limits.hpp"
#include "../text/redact.hpp"
#include "../http/retry_after.hpp"
#include "../text/text.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief The media type of a Content-Type value, lower-cased, parameters dropped.
inline std::string media_type(const http_response& res) {
    const std::string value = res.header("Content-Type").value_or("");
    std::string type(trim(std::string_view(value).substr(0, value.find(';'))));
    for (auto& c : type) c = ascii_lower(c);
    return type;
}

/// @brief The body as a JSON value; for older servers, a form body (typed
/// application/x-www-form-urlencoded, or text/plain that is not JSON) as an object of
/// strings. Empty when the body is neither, or is JSON nested too deep.
/// @param notes when given, receives what parse_json_bounded noticed
inline std::optional<nlohmann::json> response_document(const http_response& res,
                                                       json_notes* notes = nullptr) {
    json_notes local;
    json_notes& seen = notes != nullptr ? *notes : local;
    nlohmann::json doc = parse_json_bounded(res.body, seen);
    if (!doc.is_discarded()) return doc;
    if (seen.too_deep) return std::nullopt;
    const std::string type = media_type(res);
    if (type != "application/x-www-form-urlencoded" && type != "text/plain") return std::nullopt;
    auto fields = parse_form(res.body);
    if (!fields || fields->empty()) return std::nullopt;
    nlohmann::json object = nlohmann::json(nlohmann::json::value_t::object);
    for (auto& [name, value] : *fields) {
        if (!object.contains(name)) object[name] = std::move(value);
    }
    return object;
}

/// @brief Reads `expires_in`: a non-negative number or numeric string, or absent/null.
/// @param http_status the response's status, carried by the error
/// @throws error of kind `bad_response` for anything else
inline std::optional<std::chrono::seconds> read_expires_in(const nlohmann::json& v,
                                                           int http_status) {
    const auto bad = [http_status] {
        throw error(error_kind::bad_response, "expires_in is not a non-negative number of seconds",
                    error_details{{}, {}, {}, http_status, {}});
    };
    double seconds = 0;
    if (v.is_null()) return std::nullopt;
    if (v.is_number_unsigned()) {
        const auto n = *v.get_ptr<const nlohmann::json::number_unsigned_t*>();
        return n > static_cast<std::uint64_t>(max_token_lifetime.count())
                   ? max_token_lifetime
                   : std::chrono::seconds(static_cast<std::int64_t>(n));
    }
    if (v.is_number_integer()) {
        seconds = static_cast<double>(*v.get_ptr<const nlohmann::json::number_integer_t*>());
    } else if (v.is_number_float()) {
        seconds = *v.get_ptr<const nlohmann::json::number_float_t*>();
    } else if (v.is_string()) {
        const std::string& text = v.get_ref<const std::string&>();
        // Digits with at most one '.', nothing else: no sign, exponent, space or hex.
        bool dot = false;
        if (text.empty() || text.front() == '.' || text.back() == '.') bad();
        for (char c : text) {
            if (c == '.' && !dot) {
                dot = true;
            } else if (c < '0' || c > '9') {
                bad();
            }
        }
        seconds = std::strtod(text.c_str(), nullptr);
    } else {
        bad();
    }
    if (std::isnan(seconds) || seconds < 0) bad();
    if (!(seconds < static_cast<double>(max_token_lifetime.count()))) return max_token_lifetime;
    return std::chrono::seconds(static_cast<std::int64_t>(seconds));
}

/// @brief A string member of an error response, sanitised for a message; empty otherwise.
inline std::string error_member(const nlohmann::json& doc, const char* name,
                                const redactions& hide) {
    const auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) return {};
    return hide.excerpt_of(it->get_ref<const std::string&>(), 300);
}

/// @brief Throws for an error response of the authorization server: an `error` member is
/// an `oauth` error whatever the status; another non-2xx is `http_status`.
/// @param who  names the endpoint in messages, e.g. "the token endpoint"
/// @sa RFC 6749 §5.2
inline void throw_for_error_response(const http_response& res,
                                     const std::optional<nlohmann::json>& doc,
                                     const redactions& given,
                                     std::chrono::system_clock::time_point now_system,
                                     const std::string& who) {
    const bool oauth_error = doc && doc->is_object() && doc->contains("error");
    if (!oauth_error && res.status >= 200 && res.status <= 299) return;
    // A token in an answer that is refused is still a token: its value stays out of the
    // message (a server answering 500 with {"access_token": ...}, say).
    redactions hide = given.copy();
    if (doc && doc->is_object()) {
        for (const char* name : {"access_token", "refresh_token", "id_token"}) {
            const auto it = doc->find(name);
            if (it != doc->end() && it->is_string()) hide.add(it->get_ref<const std::string&>());
        }
    }
    error_details details;
    details.http_status = res.status;
    if (auto ra = res.header("Retry-After"))
        details.retry_after = parse_retry_after(*ra, now_system);
    if (oauth_error) {
        details.oauth_error = error_member(*doc, "error", hide);
        details.error_description = error_member(*doc, "error_description", hide);
        details.error_uri = error_member(*doc, "error_uri", hide);
        if (details.oauth_error.empty()) details.oauth_error = "invalid_response";
        std::string message =
            who + " answered " + details.oauth_error + " (HTTP " + std::to_string(res.status) + ")";
        if (!details.error_description.empty()) message += ": " + details.error_description;
        throw error(error_kind::oauth, message, std::move(details));
    }
    if (res.status < 200 || res.status > 299) {
        std::string message = who + " answered HTTP " + std::to_string(res.status);
        if (res.status >= 300 && res.status <= 399) {
            message += " (a redirect, which is never followed here)";
        } else if (!res.body.empty()) {
            message += ": " + hide.excerpt_of(res.body, 120);
        }
        throw error(error_kind::http_status, message, std::move(details));
    }
}

/// @brief Turns a token endpoint's response into a token.
/// @param res             the response
/// @param requested_scope the scope asked for, granted when the response names none
/// @param obtained_at     when the response arrived (steady clock)
/// @param now_system      the wall-clock time, for a Retry-After given as a date
/// @param hide            credentials to keep out of server-echoed text in errors
/// @param rules what else the request allows (token_rules)
/// @throws error `oauth` for an `error` member (any status), `http_status` for another
///         non-2xx, `bad_response` for a 2xx that is not a valid token response
/// @sa RFC 6749 §5.1, §5.2; RFC 6750 §4; RFC 9449 §5
/// @brief What a token request allows its response beyond a Bearer access token.
struct token_rules {
    /// The request carried a DPoP proof: token_type `DPoP` is accepted (case-insensitively)
    /// and kept as "DPoP".
    bool dpop = false;
    /// A token exchange: `issued_token_type` is required (RFC 8693 §2.2.1).
    bool exchange = false;
    /// The exchange asked for something other than an access token: token_type `N_A` is
    /// accepted (case-insensitively) and kept as "N_A".
    bool not_applicable = false;
};

/// @brief The token_type member as kept: "Bearer", "DPoP" or "N_A" where rules allow them
/// (compared case-insensitively).
/// @throws error `bad_response` for another type, named only when it is short and no part
///         of the token
inline std::string read_token_type(const nlohmann::json& value, const nlohmann::json& doc,
                                   const token& t, const token_rules& rules, const redactions& hide,
                                   int status) {
    const auto bad = [status](const std::string& why) {
        throw error(error_kind::bad_response, why, error_details{{}, {}, {}, status, {}});
    };
    if (!value.is_string()) bad("token_type is not a string");
    const std::string& type = value.get_ref<const std::string&>();
    if (rules.dpop && iequals(type, "DPoP")) return "DPoP";
    if (rules.not_applicable && iequals(type, "N_A")) return "N_A";
    if (iequals(type, "Bearer")) return "Bearer";
    if (iequals(type, "N_A")) {
        bad("token_type N_A (not an access token) answers only a token exchange whose "
            "requested_token_type names something other than an access token (RFC 8693 "
            "§2.2.1)");
    }
    // A short type is named; anything that could be (part of) the token is not. (The
    // token may have been moved out of the document already.)
    const auto token_member = doc.find("access_token");
    const bool names_token =
        !type.empty() &&
        (t.access_token.reveal().find(type) != std::string::npos ||
         (token_member != doc.end() && token_member->is_string() &&
          token_member->get_ref<const std::string&>().find(type) != std::string::npos));
    bad((type.size() <= 16 && !names_token
             ? "token_type \"" + hide.excerpt_of(type, 16) + "\""
             : "a token_type of " + std::to_string(type.size()) + " bytes") +
        (rules.dpop ? " is not supported; only Bearer (RFC 6750) and DPoP (RFC 9449) are"
                    : " is not supported; only Bearer (RFC 6750) is, and DPoP (RFC "
                      "9449) with client_config::dpop_key"));
    return {};
}

/// @brief Members of a token response that are credentials in their own right: never kept
/// in token::extra (where they would outlive the response unwiped), but wiped with it. A
/// client-credentials client has no use for them (RFC 6749 §4.4.3: no refresh token).
inline bool is_credential_member(std::string_view name) noexcept {
    return name == "refresh_token" || name == "id_token";
}

inline token parse_token_response(const http_response& res, const std::string& requested_scope,
                                  std::chrono::steady_clock::time_point obtained_at,
                                  std::chrono::system_clock::time_point now_system,
                                  const redactions& hide = redactions{}, token_rules rules = {}) {
    json_notes notes;
    auto doc = response_document(res, &notes);
    // The token is moved out of the document; whatever else it held is wiped with it.
    const wipe_at_exit wiper{[&doc] {
        if (doc) wipe_strings(*doc);
    }};
    throw_for_error_response(res, doc, hide, now_system, "the token endpoint");
    const auto bad = [&](const std::string& why) {
        throw error(error_kind::bad_response, why, error_details{{}, {}, {}, res.status, {}});
    };
    if (notes.too_deep) {
        bad("the token response nests JSON deeper than " + std::to_string(max_json_depth) +
            " levels");
    }
    if (!notes.repeated.empty()) {
        bad("the token response has the member \"" + hide.excerpt_of(notes.repeated, 40) +
            "\" twice");
    }
    if (!doc) {
        bad("the token response is not JSON (Content-Type \"" +
            hide.excerpt_of(media_type(res), 60) + "\")");
    }
    if (!doc->is_object()) bad("the token response is not a JSON object");

    token t;
    t.obtained_at = obtained_at;
    t.scope = requested_scope;  // RFC 6749 §5.1: no scope (or null) means the one requested
    // Iterators rather than items(): the same walk, with fewer templates compiled.
    for (auto member = doc->begin(); member != doc->end(); ++member) {
        const std::string& name = member.key();
        nlohmann::json& value = *member;
        if (name == "access_token") {
            if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
                bad("access_token is missing, empty or not a string");
            }
            // RFC 6749 A.12: access-token = 1*VSCHAR. A control or a byte past ASCII (a
            // form body's %FF, say) could not go in a header or a JSON output as it is.
            if (!all_vschar(value.get_ref<const std::string&>())) {
                bad("access_token holds a control character or a byte outside printable "
                    "ASCII (RFC 6749 A.12: VSCHAR, %x20-7E)");
            }
            t.access_token = secret(std::move(value.get_ref<std::string&>()));
        } else if (name == "token_type") {
            t.token_type = read_token_type(value, *doc, t, rules, hide, res.status);
        } else if (name == "issued_token_type" &&
                   (rules.exchange ||
                    (value.is_string() && !has_control(value.get_ref<const std::string&>())))) {
            // Checked for an exchange, which needs it; another grant's server may send
            // anything here, kept in extra when it is no type.
            if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
                has_control(value.get_ref<const std::string&>())) {
                bad("issued_token_type is not a non-empty string without control characters");
            }
            t.issued_token_type = value.get_ref<const std::string&>();
        } else if (name == "expires_in") {
            t.expires_in = read_expires_in(value, res.status);
        } else if (name == "scope") {
            if (value.is_string()) {
                t.scope = value.get_ref<const std::string&>();
            } else if (!value.is_null()) {
                bad("scope is neither a string nor null");
            }
        } else if (!is_credential_member(name)) {
            t.extra[name] = value;
        }
    }
    if (t.access_token.empty()) bad("access_token is missing, empty or not a string");
    if (t.token_type.empty()) t.token_type = "Bearer";
    if (rules.exchange && t.issued_token_type.empty()) {
        bad("the token exchange response has no issued_token_type (RFC 8693 §2.2.1)");
    }
    return t;
}

}  // namespace oauth2cc::detail
