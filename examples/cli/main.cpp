// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// cli/main.cpp: oauth2cc-cli, tokens and authorized calls for shell scripts and crontabs.
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;
constexpr int exit_oauth = 3;
constexpr int exit_transport = 4;
constexpr int exit_bad_response = 5;
constexpr int exit_api_status = 6;

constexpr const char* help_text = R"(oauth2cc-cli: OAuth 2.0 client-credentials tokens and authorized calls

Usage:
  oauth2cc-cli [OPTIONS] token
      Requests a token and prints the token response as JSON on stdout.
  oauth2cc-cli [OPTIONS] call [-X METHOD] [-d BODY] [-H 'Name: value']... URL
      Calls URL with "Authorization: Bearer <token>" and prints the response body. On a
      401 that says the token is no longer good, it gets a new token and tries once more.

Options (each also read from the environment variable named after it):
  --token-url URL            OAUTH2_TOKEN_URL       the token endpoint
  --client-id ID             OAUTH2_CLIENT_ID
  --client-secret-file FILE  OAUTH2_CLIENT_SECRET_FILE  the secret, read from a file
                             (preferred; a trailing newline is dropped)
                             OAUTH2_CLIENT_SECRET   the secret itself
  --client-secret SECRET     works, but shows in the process list; a warning says so
  --auth basic|post|none     OAUTH2_AUTH_METHOD     client authentication (basic)
  --basic-encoding form|raw  how Basic credentials are encoded (form, RFC 6749 §2.3.1)
  --scope "A B"              OAUTH2_SCOPE           space-separated scopes
  --audience AUD             sent as `audience`
  --resource URI             an RFC 8707 resource; repeat for several
  --ca-file FILE             trust these CA certificates (PEM) instead of the system's
  --allow-insecure-http      allow plain http:// to hosts that are not loopback
  --cache [DIR]              OAUTH2_CACHE_DIR       reuse tokens across runs: keep them in
                             DIR (default $XDG_CACHE_HOME/oauth2cc, else
                             ~/.cache/oauth2cc), a 0700 directory of 0600 files that
                             never hold the secret; runs starting together make one
                             request. --cache=DIR when DIR could be taken for a command.
  -h, --help                 this text

Exit codes:
  0  success
  2  usage or configuration error
  3  the authorization server answered with an OAuth error (its code is printed)
  4  transport or TLS failure: no response
  5  a response that is not what the protocol says
  6  the API answered with a status that is not 2xx (the body is still printed)

Errors go to stderr and never contain the client secret or a token.
)";

struct usage_error {
    std::string message;
};

using oauth2cc_examples::env;
using oauth2cc_examples::split_scopes;

struct call_request {
    std::string method = "GET";
    std::string body;
    bool has_body = false;
    oauth2cc::name_value_list headers;
    std::string url;
};

struct parsed {
    oauth2cc::client_config cfg;
    std::optional<std::string> cache;  ///< the store's directory; "" for the default
    std::string command;
    call_request call;
    bool help = false;
};

parsed parse(int argc, char** argv) {
    parsed p;
    auto& cfg = p.cfg;
    cfg.token_endpoint = env("OAUTH2_TOKEN_URL");
    cfg.client_id = env("OAUTH2_CLIENT_ID");
    std::optional<std::string> secret_file, secret_value;
    if (!env("OAUTH2_CLIENT_SECRET_FILE").empty()) secret_file = env("OAUTH2_CLIENT_SECRET_FILE");
    if (!env("OAUTH2_CLIENT_SECRET").empty()) secret_value = env("OAUTH2_CLIENT_SECRET");
    std::string auth = env("OAUTH2_AUTH_METHOD");
    std::string scope = env("OAUTH2_SCOPE");
    if (!env("OAUTH2_CACHE_DIR").empty()) p.cache = env("OAUTH2_CACHE_DIR");

    std::vector<std::string> args(argv + 1, argv + argc);
    std::size_t i = 0;
    const auto value = [&](const std::string& flag) -> std::string {
        if (i + 1 >= args.size()) throw usage_error{flag + " needs a value"};
        return args[++i];
    };
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-h" || a == "--help") {
            p.help = true;
            return p;
        } else if (a == "--token-url") {
            cfg.token_endpoint = value(a);
        } else if (a == "--client-id") {
            cfg.client_id = value(a);
        } else if (a == "--client-secret-file") {
            secret_file = value(a);
            secret_value.reset();
        } else if (a == "--client-secret") {
            secret_value = value(a);
            secret_file.reset();
            std::cerr << "oauth2cc-cli: warning: --client-secret shows the secret in the process "
                         "list; prefer --client-secret-file or OAUTH2_CLIENT_SECRET_FILE\n";
        } else if (a == "--auth") {
            auth = value(a);
        } else if (a == "--basic-encoding") {
            const std::string e = value(a);
            if (e == "form") {
                cfg.basic_encoding = oauth2cc::credential_encoding::form_urlencoded;
            } else if (e == "raw") {
                cfg.basic_encoding = oauth2cc::credential_encoding::raw;
            } else {
                throw usage_error{"--basic-encoding wants form or raw"};
            }
        } else if (a == "--scope") {
            scope = value(a);
        } else if (a == "--audience") {
            cfg.audience = value(a);
        } else if (a == "--resource") {
            cfg.resources.push_back(value(a));
        } else if (a == "--ca-file") {
            cfg.tls.ca_file = value(a);
        } else if (a == "--allow-insecure-http") {
            cfg.allow_insecure_http = true;
        } else if (a == "--cache") {
            // DIR is optional: the next word is a directory unless it is a command or
            // another option.
            const bool has_dir = i + 1 < args.size() && !args[i + 1].empty() &&
                                 args[i + 1].front() != '-' && args[i + 1] != "token" &&
                                 args[i + 1] != "call";
            p.cache = has_dir ? args[++i] : std::string();
        } else if (a.rfind("--cache=", 0) == 0) {
            p.cache = a.substr(8);
            if (p.cache->empty()) throw usage_error{"--cache= needs a directory"};
        } else if (a == "token" || a == "call") {
            p.command = a;
            ++i;
            break;
        } else {
            throw usage_error{"unknown option " + a};
        }
    }
    if (p.command.empty()) throw usage_error{"say token or call"};
    if (p.command == "call") {
        for (; i < args.size(); ++i) {
            const std::string& a = args[i];
            if (a == "-X") {
                p.call.method = value(a);
            } else if (a == "-d") {
                p.call.body = value(a);
                p.call.has_body = true;
                if (p.call.method == "GET") p.call.method = "POST";
            } else if (a == "-H") {
                const std::string h = value(a);
                const auto colon = h.find(':');
                if (colon == std::string::npos || colon == 0) {
                    throw usage_error{"-H wants 'Name: value'"};
                }
                std::string v = h.substr(colon + 1);
                while (!v.empty() && v.front() == ' ') v.erase(0, 1);
                p.call.headers.emplace_back(h.substr(0, colon), v);
            } else if (!a.empty() && a.front() == '-') {
                throw usage_error{"unknown call option " + a};
            } else if (p.call.url.empty()) {
                p.call.url = a;
            } else {
                throw usage_error{"call takes one URL"};
            }
        }
        if (p.call.url.empty()) throw usage_error{"call needs a URL"};
    } else if (i < args.size()) {
        throw usage_error{"token takes no arguments"};
    }

    if (auth.empty() || auth == "basic") {
        cfg.auth = oauth2cc::auth_method::client_secret_basic;
    } else if (auth == "post") {
        cfg.auth = oauth2cc::auth_method::client_secret_post;
    } else if (auth == "none") {
        cfg.auth = oauth2cc::auth_method::none;
    } else {
        throw usage_error{"--auth wants basic, post or none"};
    }
    cfg.scopes = split_scopes(scope);
    if (cfg.token_endpoint.empty()) throw usage_error{"no token URL: --token-url or OAUTH2_TOKEN_URL"};
    if (cfg.client_id.empty()) throw usage_error{"no client id: --client-id or OAUTH2_CLIENT_ID"};
    if (secret_file) {
        try {
            cfg.client_secret = oauth2cc_examples::read_secret_file(*secret_file);
        } catch (const std::runtime_error& e) {
            throw usage_error{e.what()};
        }
    } else if (secret_value) {
        cfg.client_secret = oauth2cc::secret{*secret_value};
    } else if (cfg.auth != oauth2cc::auth_method::none) {
        throw usage_error{"no client secret: --client-secret-file or OAUTH2_CLIENT_SECRET_FILE"};
    }
    return p;
}

int exit_code_for(const oauth2cc::error& e) {
    switch (e.kind()) {
        case oauth2cc::error_kind::config: return exit_usage;
        case oauth2cc::error_kind::oauth: return exit_oauth;
        case oauth2cc::error_kind::transport:
        case oauth2cc::error_kind::tls: return exit_transport;
        case oauth2cc::error_kind::http_status:
        case oauth2cc::error_kind::bad_response: return exit_bad_response;
    }
    return exit_bad_response;
}

void report(const oauth2cc::error& e) {
    std::cerr << "oauth2cc-cli: " << e.what() << "\n";
    if (e.kind() == oauth2cc::error_kind::oauth) {
        std::cerr << "oauth2cc-cli: error=" << e.oauth_error();
        if (!e.error_description().empty()) std::cerr << " error_description=" << e.error_description();
        std::cerr << "\n";
    }
}

// A token manager for cfg, keeping its tokens in the file store when asked to.
std::unique_ptr<oauth2cc::token_manager> make_manager(const parsed& p) {
    auto tokens = std::make_unique<oauth2cc::token_manager>(p.cfg);
    if (p.cache) tokens->set_store(std::make_shared<oauth2cc::file_token_store>(*p.cache));
    return tokens;
}

int print_token(const parsed& p) {
    // Without a cache, one request; with one, a stored token when it is still good.
    const oauth2cc::token t = p.cache ? *make_manager(p)->get() : oauth2cc::request_token(p.cfg);
    nlohmann::json out = t.extra.is_object() ? t.extra : nlohmann::json::object();
    out["access_token"] = t.access_token.reveal();
    out["token_type"] = t.token_type;
    if (t.expires_in) out["expires_in"] = t.expires_in->count();
    if (!t.scope.empty()) out["scope"] = t.scope;
    std::cout << out.dump() << "\n";
    return exit_ok;
}

int make_call(const parsed& p) {
    const oauth2cc::client_config& cfg = p.cfg;
    const call_request& call = p.call;
    // The URL's origin is the client's base; its path and query are the call's path.
    const std::size_t scheme_end = call.url.find("://");
    if (scheme_end == std::string::npos) throw usage_error{"the URL must be absolute"};
    const std::size_t path_start = call.url.find_first_of("/?", scheme_end + 3);
    const std::string base = call.url.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "/" : call.url.substr(path_start);
    if (path.front() == '?') path.insert(0, "/");

    const auto tokens = make_manager(p);
    oauth2cc::client_options options;
    options.tls = cfg.tls;
    options.allow_insecure_http = cfg.allow_insecure_http;
    oauth2cc::authorized_client api(base, *tokens, options);
    const std::string content_type = call.has_body ? "application/json" : "";
    const oauth2cc::http_response res =
        api.send(call.method, path, call.body, content_type, call.headers);
    std::cout << res.body;
    if (!res.body.empty() && res.body.back() != '\n') std::cout << "\n";
    if (res.status < 200 || res.status > 299) {
        std::cerr << "oauth2cc-cli: the API answered HTTP " << res.status;
        if (const auto challenge = oauth2cc::find_bearer_challenge(res)) {
            if (!challenge->error.empty()) std::cerr << " error=" << challenge->error;
            if (!challenge->scope.empty()) std::cerr << " scope=\"" << challenge->scope << "\"";
        }
        std::cerr << "\n";
        return exit_api_status;
    }
    return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const parsed p = parse(argc, argv);
        if (p.help) {
            std::cout << help_text;
            return exit_ok;
        }
        return p.command == "token" ? print_token(p) : make_call(p);
    } catch (const usage_error& e) {
        std::cerr << "oauth2cc-cli: " << e.message << " (see --help)\n";
        return exit_usage;
    } catch (const oauth2cc::error& e) {
        report(e);
        return exit_code_for(e);
    }
}
