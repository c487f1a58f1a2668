// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// cli/main.cpp: oauth2cc-cli, tokens and authorized calls for shell scripts and crontabs.
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"
#include "../common/fleet_store.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;
constexpr int exit_oauth = 3;
constexpr int exit_transport = 4;
constexpr int exit_bad_response = 5;
constexpr int exit_api_status = 6;

constexpr const char* description =
    R"(oauth2cc-cli: OAuth 2.0 tokens (client credentials, token exchange, JWT bearer) and
authorized calls

  oauth2cc-cli [OPTIONS] token [--format json|raw|header|text|kubectl] [OPTIONS]
      Requests a token and prints it on stdout: the token response as JSON, the token
      alone, an Authorization header, name: value lines, or a kubectl ExecCredential.
  oauth2cc-cli [OPTIONS] revoke [--token-file FILE|-] [OPTIONS]
      Revokes a token (RFC 7009): the file's, or the one the store holds for the client.
  oauth2cc-cli [OPTIONS] call [-X METHOD] [-d BODY] [-H 'Name: value']... URL [OPTIONS]
      Calls URL with "Authorization: Bearer <token>" and prints the response body. On a
      401 that says the token is no longer good, it gets a new token and tries once more.

Options go before or after the command, as in git and curl; each one shown with (Env:)
is also read from that environment variable, and the command line wins.)";

constexpr const char* footer =
    R"(The client secret (basic, post, client_secret_jwt): --client-secret-file, else
OAUTH2_CLIENT_SECRET_FILE (preferred: a mounted file, a trailing newline dropped), else
OAUTH2_CLIENT_SECRET. --client-secret works too, but shows in the process list; a
warning says so. private_key_jwt and client_assertion send no secret: a key signs each
request's assertion, or the platform's assertion file is read afresh for each request.
The subject, actor and assertion files of token_exchange and jwt_bearer are read again
whenever they change, and never printed.
So do --redis and --proxy URLs with a password: give those in OAUTH2_REDIS_URL (or a
0600 file named by --redis-url-file) and https_proxy.

Proxies, as curl reads them: https_proxy or HTTPS_PROXY for https:// URLs, http_proxy
(lower case only) for http:// ones, then all_proxy or ALL_PROXY; no_proxy or NO_PROXY
lists hosts, domains and address ranges to reach directly, or * for all. --proxy
overrides them for both the token endpoint and the API.

Exit codes:
  0  success
  2  usage or configuration error
  3  the authorization server answered with an OAuth error (its code is printed)
  4  transport or TLS failure: no response
  5  a response that is not what the protocol says
  6  the API answered with a status that is not 2xx (the body is still printed)

Errors go to stderr and never contain the client secret, a key, an assertion or a
token.)";

struct usage_error {
    std::string message;
};

/// The program asked only for help, and printed it.
struct help_shown {};

using oauth2cc_examples::env;

struct call_request {
    std::string method = "GET";
    std::string body;
    bool has_body = false;
    oauth2cc::name_value_list headers;
    std::string url;
};

struct parsed {
    oauth2cc::client_config cfg;
    oauth2cc_examples::store_settings store;  ///< --cache, --redis, --seal-key-file
    std::optional<std::string> proxy;         ///< --proxy, for both endpoints; else the environment
    std::string command;
    call_request call;
    std::string revoke_file;      ///< revoke --token-file
    std::string format = "json";  ///< token --format
};

/// The configuration the settings give; an error names the option and the variable of
/// the setting it is about ("OAUTH2_SCOPE (--scope): ..."), not the library's name.
oauth2cc::client_config config_from_options(const std::map<std::string, std::string>& settings,
                                            const CLI::App& app) {
    try {
        return oauth2cc::config_from_settings(settings);
    } catch (const oauth2cc::error& e) {
        // what() is "oauth2cc: <kind> error: <setting>: why".
        std::string what = e.what();
        const std::string prefix =
            "oauth2cc: " + std::string(oauth2cc::to_string(e.kind())) + " error: ";
        if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
        const auto colon = what.find(':');
        std::string variable = "OAUTH2_";
        for (std::size_t i = 0; i < colon && colon != std::string::npos; ++i) {
            variable.push_back(
                static_cast<char>(std::toupper(static_cast<unsigned char>(what[i]))));
        }
        for (const CLI::Option* o : app.get_options()) {
            if (colon == std::string::npos || o->get_envname() != variable) continue;
            throw oauth2cc::error(e.kind(),
                                  variable + " (" + o->get_name() + ")" + what.substr(colon));
        }
        // The secret's options read their variables by hand (the option first, a file
        // before the value).
        if (colon != std::string::npos) {
            const std::string name = what.substr(0, colon);
            const char* flag = name == "client_secret_file" ? "--client-secret-file"
                               : name == "client_secret"    ? "--client-secret"
                                                            : nullptr;
            if (flag != nullptr) {
                throw oauth2cc::error(e.kind(), variable + " (" + flag + ")" + what.substr(colon));
            }
        }
        throw;
    }
}

/// The client configuration of the command line's options and the OAUTH2_* variables.
oauth2cc::client_config client_from_options(std::map<std::string, std::string>& settings,
                                            const CLI::App& app, const CLI::Option* value_opt,
                                            const CLI::Option* file_opt, std::string secret_file,
                                            std::string secret_value,
                                            const std::vector<std::string>& resources, bool dpop) {
    if (settings["token_url"].empty() && settings["issuer"].empty()) {
        throw usage_error{
            "no token URL: --token-url or OAUTH2_TOKEN_URL, or --issuer or OAUTH2_ISSUER"};
    }
    if (settings["client_id"].empty()) {
        throw usage_error{"no client id: --client-id or OAUTH2_CLIENT_ID"};
    }
    if (dpop) settings["dpop"] = "1";
    for (const auto& r : resources) settings["resource"] += r + " ";
    // The command line first, then the environment; a file before the value itself.
    if (value_opt->count() > 0) {
        std::cerr << "oauth2cc-cli: warning: --client-secret shows the secret in the process "
                     "list; prefer --client-secret-file or OAUTH2_CLIENT_SECRET_FILE\n";
    } else if (file_opt->count() == 0) {
        secret_file = env("OAUTH2_CLIENT_SECRET_FILE");
        if (secret_file.empty()) secret_value = env("OAUTH2_CLIENT_SECRET");
    }
    settings["client_secret_file"] = secret_file;
    settings["client_secret"] = secret_value;
    oauth2cc::client_config cfg = config_from_options(settings, app);
    if (!oauth2cc_examples::sends_secret(cfg.auth) &&
        (value_opt->count() > 0 || file_opt->count() > 0)) {
        throw usage_error{"the " + std::string(oauth2cc::to_string(cfg.auth)) +
                          " method sends no client secret; drop --client-secret(-file)"};
    }
    return cfg;
}

/// The edit distance of a and b (insertions, deletions, substitutions, swaps of two
/// neighbours), for "did you mean".
std::size_t distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                                d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

/// The candidate nearest to typed, when it is near enough to be what was meant.
std::optional<std::string> nearest(std::string_view typed,
                                   const std::vector<std::string>& candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = 0;
    for (const auto& c : candidates) {
        const std::size_t d = distance(typed, c);
        if (!best || d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    if (!best || best_distance > std::max<std::size_t>(2, typed.size() / 3)) return std::nullopt;
    return best;
}

/// What a parse error says, without any value that was typed (a secret typed in the
/// wrong place, say, must not reach a log): an unknown option by its name, with the
/// nearest one; a stray argument by its position; an unknown command by its name only
/// when it is near a command's.
std::string argument_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
    std::vector<std::string> options, commands;
    const auto add_options = [&options](const CLI::App& a) {
        for (const CLI::Option* o : a.get_options()) {
            for (const auto& n : o->get_lnames()) options.push_back("--" + n);
            for (const auto& n : o->get_snames()) options.push_back("-" + n);
        }
    };
    add_options(app);
    for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
        commands.push_back(command->get_name());
        add_options(*command);
    }
    const auto position = [argc, argv](const std::string& arg) {
        for (int i = 1; i < argc; ++i) {
            if (arg == argv[i]) return std::to_string(i);
        }
        return std::string("?");
    };
    const std::vector<std::string> extras = app.remaining(true);
    for (const std::string& extra : extras) {
        if (extra.size() > 1 && extra.front() == '-' && extra != "--") {
            // The name alone: what follows '=' is a value.
            const std::string name = extra.substr(0, extra.find('='));
            std::string message = "unknown option " + name;
            if (const auto meant = nearest(name, options))
                message += "; did you mean " + *meant + "?";
            return message;
        }
    }
    if (!extras.empty()) {
        const std::string& stray = extras.front();
        if (app.get_subcommands().empty()) {
            if (const auto meant = nearest(stray, commands)) {
                return "unknown command \"" + stray + "\"; did you mean " + *meant + "?";
            }
            return "argument " + position(stray) +
                   " is not a command: the commands are token, revoke and call";
        }
        return "argument " + position(stray) + " was not expected (" +
               app.get_subcommands().front()->get_name() + " takes " +
               (app.get_subcommands().front()->get_name() == "call" ? "one URL" : "no argument") +
               "; options are written --name VALUE)";
    }
    if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
        return "no command: oauth2cc-cli [OPTIONS] token|revoke|call ...";
    }
    const std::string what = e.what();
    if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) {
        // "--format: <value> not in {...}": the option's name, never the value.
        return what.substr(0, what.find(':')) + ": not one of the values it takes";
    }
    if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
        return "a value is not of the kind its option takes";
    }
    // The rest (a missing value or argument, options that exclude each other) name
    // options only.
    return what;
}

parsed parse(int argc, char** argv) {
    parsed p;
    auto& cfg = p.cfg;
    // The settings by the names of oauth2cc::config_from_settings(), each option's value
    // or else its variable's: the library's one parser gives them their meaning.
    std::map<std::string, std::string> settings;
    std::string secret_file, secret_value, encoding = "form", cache;
    std::string proxy, config_file;
    std::vector<std::string> resources;
    bool dpop = false, allow_insecure_http = false;
    std::vector<std::string> header_lines;

    CLI::App app{description, "oauth2cc-cli"};
    app.footer(footer);
    app.get_formatter()->column_width(34);
    // Options of the program are taken after the command too.
    app.fallthrough();
    app.require_subcommand(1, 1);
    app.set_version_flag("--version", "oauth2cc-cli " + std::string(oauth2cc::version_string));
    app.add_option("--config", config_file,
                   "the client configuration from a JSON file of settings, by the\n"
                   "names of OAUTH2_* in lower case without the prefix (token_url,\n"
                   "client_id, client_secret_file, scope, ...); the client options\n"
                   "and OAUTH2_* variables are then not read")
        ->type_name("FILE");
    app.add_option("--token-url", settings["token_url"], "the token endpoint")
        ->type_name("URL")
        ->envname("OAUTH2_TOKEN_URL");
    app.add_option("--issuer", settings["issuer"],
                   "the authorization server's issuer; without --token-url, the\n"
                   "token endpoint comes from its metadata (RFC 8414)")
        ->type_name("URL")
        ->envname("OAUTH2_ISSUER");
    app.add_option("--client-id", settings["client_id"])
        ->type_name("ID")
        ->envname("OAUTH2_CLIENT_ID");
    auto* file_opt =
        app.add_option("--client-secret-file", secret_file, "the client secret, read from a file")
            ->type_name("FILE");
    auto* value_opt = app.add_option("--client-secret", secret_value,
                                     "the client secret itself (shows in the process list)")
                          ->type_name("SECRET");
    file_opt->excludes(value_opt);
    app.add_option("--auth", settings["auth_method"],
                   "client authentication: basic, post, none, client_secret_jwt,\n"
                   "private_key_jwt, client_assertion, tls_client_auth or\n"
                   "self_signed_tls_client_auth (the RFC 8414 names of basic and\n"
                   "post too); default: private_key_jwt with\n"
                   "--client-key, client_assertion with --client-assertion-file,\n"
                   "else basic")
        ->envname("OAUTH2_AUTH_METHOD")
        ->type_name("METHOD")
        ->check(CLI::IsMember({"basic", "post", "none", "client_secret_basic", "client_secret_post",
                               "client_secret_jwt", "private_key_jwt", "client_assertion",
                               "tls_client_auth", "self_signed_tls_client_auth"}));
    app.add_option("--client-key", settings["client_key_file"],
                   "private_key_jwt: the private key (PEM) that signs the assertions")
        ->type_name("FILE")
        ->envname("OAUTH2_CLIENT_KEY_FILE");
    app.add_option("--client-key-id", settings["client_key_id"],
                   "the key's id, sent as the assertions' kid")
        ->type_name("KID")
        ->envname("OAUTH2_CLIENT_KEY_ID");
    app.add_option("--client-key-alg", settings["client_key_alg"],
                   "the key's algorithm; default the key's own (RSA: RS256)")
        ->type_name("ALG")
        ->envname("OAUTH2_CLIENT_KEY_ALG")
        ->check(CLI::IsMember({"RS256", "PS256", "ES256", "ES384", "EdDSA"}));
    app.add_option("--client-assertion-file", settings["client_assertion_file"],
                   "client_assertion: a JWT that the platform writes and rotates\n"
                   "(e.g. a projected service-account token), read for each request")
        ->type_name("FILE")
        ->envname("OAUTH2_CLIENT_ASSERTION_FILE");
    app.add_option("--cert", settings["client_cert_file"],
                   "mutual TLS: the client certificate (PEM), for the tls methods\n"
                   "and certificate-bound tokens (RFC 8705)")
        ->type_name("FILE")
        ->envname("OAUTH2_CLIENT_CERT_FILE");
    app.add_option("--key", settings["client_cert_key_file"],
                   "the client certificate's private key (PEM)")
        ->type_name("FILE")
        ->envname("OAUTH2_CLIENT_CERT_KEY_FILE");
    app.add_flag("--dpop", dpop,
                 "DPoP-bound tokens (RFC 9449) under a new key for this run;\n"
                 "call sends a proof with every request");
    app.add_option("--dpop-key", settings["dpop_key_file"],
                   "DPoP under this key (PEM), so that --cache tokens stay usable")
        ->type_name("FILE")
        ->envname("OAUTH2_DPOP_KEY_FILE");
    app.add_option("--assertion-audience", settings["assertion_audience"],
                   "the assertions' aud; default the token endpoint")
        ->type_name("AUD")
        ->envname("OAUTH2_ASSERTION_AUDIENCE");
    app.add_option("--grant", settings["grant"],
                   "the grant: client_credentials, token_exchange (RFC 8693) or\n"
                   "jwt_bearer (RFC 7523); default: token_exchange with\n"
                   "--subject-token-file, jwt_bearer with --assertion-file or\n"
                   "--grant-key, else client_credentials")
        ->type_name("GRANT")
        ->envname("OAUTH2_GRANT")
        ->check(CLI::IsMember({"client_credentials", "token_exchange", "jwt_bearer"}));
    app.add_option("--subject-token-file", settings["subject_token_file"],
                   "token_exchange: the subject token (a workload's or a caller's),\n"
                   "read again whenever the file changes")
        ->type_name("FILE")
        ->envname("OAUTH2_SUBJECT_TOKEN_FILE");
    app.add_option("--subject-token-type", settings["subject_token_type"],
                   "its type: access_token (default), jwt, id_token, refresh_token,\n"
                   "saml1, saml2, or a URI")
        ->type_name("TYPE")
        ->envname("OAUTH2_SUBJECT_TOKEN_TYPE");
    app.add_option("--actor-token-file", settings["actor_token_file"],
                   "token_exchange: the actor token, for delegation")
        ->type_name("FILE")
        ->envname("OAUTH2_ACTOR_TOKEN_FILE");
    app.add_option("--actor-token-type", settings["actor_token_type"],
                   "its type, as --subject-token-type (default access_token)")
        ->type_name("TYPE")
        ->envname("OAUTH2_ACTOR_TOKEN_TYPE");
    app.add_option("--requested-token-type", settings["requested_token_type"],
                   "token_exchange: the type to issue, as --subject-token-type; a\n"
                   "token that is no access token (N_A) is printed, never sent")
        ->type_name("TYPE")
        ->envname("OAUTH2_REQUESTED_TOKEN_TYPE");
    app.add_option("--assertion-file", settings["assertion_file"],
                   "jwt_bearer: a JWT that a platform writes and rotates, sent as\n"
                   "the grant's assertion")
        ->type_name("FILE")
        ->envname("OAUTH2_ASSERTION_FILE");
    app.add_option("--grant-key", settings["grant_key_file"],
                   "jwt_bearer: a private key (PEM) that signs a new assertion for\n"
                   "each request: iss the client id, sub --assertion-subject, aud\n"
                   "--assertion-audience")
        ->type_name("FILE")
        ->envname("OAUTH2_GRANT_KEY_FILE");
    app.add_option("--grant-key-id", settings["grant_key_id"], "the grant key's id, sent as kid")
        ->type_name("KID")
        ->envname("OAUTH2_GRANT_KEY_ID");
    app.add_option("--assertion-subject", settings["assertion_subject"],
                   "the signed assertion's sub (the user or service it is for);\n"
                   "default the client id")
        ->type_name("SUB")
        ->envname("OAUTH2_ASSERTION_SUBJECT");
    app.add_option("--basic-encoding", encoding,
                   "Basic credentials: form (RFC 6749 §2.3.1, default) or raw")
        ->type_name("form|raw")
        ->check(CLI::IsMember({"form", "raw"}));
    app.add_option("--scope", settings["scope"], "space-separated scopes")
        ->type_name("\"A B\"")
        ->envname("OAUTH2_SCOPE");
    app.add_option("--audience", settings["audience"], "sent as `audience`")
        ->type_name("AUD")
        ->envname("OAUTH2_AUDIENCE");
    app.add_option("--resource", resources, "an RFC 8707 resource; repeat for several")
        ->type_name("URI")
        ->envname("OAUTH2_RESOURCE");
    app.add_option("--ca-file", settings["ca_file"],
                   "trust these CA certificates (PEM) instead of the system's")
        ->type_name("FILE")
        ->envname("OAUTH2_CA_FILE");
    app.add_option("--revocation-url", settings["revocation_url"],
                   "the revocation endpoint (RFC 7009); default the issuer's")
        ->type_name("URL")
        ->envname("OAUTH2_REVOCATION_URL");
    app.add_flag("--allow-insecure-http", allow_insecure_http,
                 "allow plain http:// to hosts that are not loopback");
    auto* cache_opt =
        app.add_option("--cache", cache,
                       "reuse tokens across runs, in DIR (default $XDG_CACHE_HOME/oauth2cc,\n"
                       "else ~/.cache/oauth2cc): 0700, files 0600, never the secret;\n"
                       "runs starting together make one request")
            ->expected(0, 1)
            ->type_name("[DIR]")
            ->envname("OAUTH2_CACHE_DIR");
    app.add_option("--redis", p.store.redis_url,
                   "share tokens in Redis, with every process of every host on it:\n"
                   "redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]")
        ->type_name("URL")
        ->envname("OAUTH2_REDIS_URL");
    app.add_option("--redis-url-file", p.store.redis_url_file,
                   "the --redis URL, read from FILE (0600): for a URL with a password,\n"
                   "which the command line would show in the process list")
        ->type_name("FILE")
        ->envname("OAUTH2_REDIS_URL_FILE");
    app.add_option("--seal-key-file", p.store.seal_key_file,
                   "seal stored tokens (AES-256-GCM) under the key in FILE (0600;\n"
                   "16 bytes or more, e.g. `openssl rand -base64 32`)")
        ->type_name("FILE")
        ->envname("OAUTH2_SEAL_KEY_FILE");
    auto* proxy_opt =
        app.add_option("--proxy", proxy,
                       "an HTTP proxy, http://[user:password@]host[:port];\n\"\" for none")
            ->type_name("URL");

    auto* token = app.add_subcommand("token", "request a token and print it (--format)");
    token
        ->add_option("--format", p.format,
                     "json (the token response, default), raw (the token alone, for\n"
                     "curl --oauth2-bearer), header (an Authorization header), text\n"
                     "(name: value lines), or kubectl (an ExecCredential, for a\n"
                     "kubeconfig's exec credential plugin)")
        ->type_name("FORMAT")
        ->check(CLI::IsMember({"json", "raw", "header", "text", "kubectl"}));
    auto* revoke =
        app.add_subcommand("revoke",
                           "revoke the token of --token-file (- for stdin), or else the one the\n"
                           "store (--cache, --redis) holds for this client, which it then forgets");
    revoke->add_option("--token-file", p.revoke_file, "the token to revoke; - reads stdin")
        ->type_name("FILE");
    auto* call = app.add_subcommand("call", "call URL with the token and print the body");
    call->add_option("-X,--request", p.call.method, "the method (GET, or POST with -d)")
        ->type_name("METHOD");
    auto* data_opt =
        call->add_option("-d,--data", p.call.body, "a JSON body to send")->type_name("BODY");
    call->add_option("-H,--header", header_lines, "'Name: value'; repeat for several")
        ->type_name("HEADER");
    call->add_option("url", p.call.url, "the URL to call")->type_name("URL")->required();

    // Extras are gathered rather than thrown, so that argument_error() names them without
    // their values; any left after a parse that succeeded are refused the same way.
    app.allow_extras();
    for (CLI::App* command : {token, revoke, call}) command->allow_extras();
    try {
        app.parse(argc, argv);
        if (!app.remaining(true).empty()) {
            throw CLI::ExtrasError(app.get_name(), std::vector<std::string>{});
        }
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {  // --help (on the program or a command), --version
            app.exit(e);
            throw help_shown{};
        }
        throw usage_error{argument_error(app, e, argc, argv)};
    }
    p.command = app.get_subcommands().front()->get_name();
    oauth2cc_examples::warn_of_passwords_in_argv(
        argc, argv,
        {{"--redis", "OAUTH2_REDIS_URL or --redis-url-file"},
         {"--proxy", "the https_proxy (or http_proxy) variable"}},
        "oauth2cc-cli", std::cerr);

    if (data_opt->count() > 0) {
        p.call.has_body = true;
        if (call->get_option("-X")->count() == 0) p.call.method = "POST";
    }
    for (const std::string& h : header_lines) {
        const auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0) throw usage_error{"-H wants 'Name: value'"};
        std::string v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        p.call.headers.emplace_back(h.substr(0, colon), v);
    }
    if (cache_opt->count() > 0) p.store.directory = cache;
    if (proxy_opt->count() > 0) p.proxy = proxy;
    if (!config_file.empty()) {
        cfg = oauth2cc::config_from_file(config_file);
    } else {
        cfg = client_from_options(settings, app, value_opt, file_opt, secret_file, secret_value,
                                  resources, dpop);
    }
    cfg.allow_insecure_http = allow_insecure_http;
    cfg.basic_encoding = encoding == "raw" ? oauth2cc::credential_encoding::raw
                                           : oauth2cc::credential_encoding::form_urlencoded;
    // The proxy of the token endpoint, or of the issuer that will name it.
    cfg.proxy = p.proxy ? *p.proxy
                        : oauth2cc::proxy_from_environment(
                              cfg.token_endpoint.empty() ? cfg.issuer : cfg.token_endpoint);
    return p;
}

int exit_code_for(const oauth2cc::error& e) {
    switch (e.kind()) {
        case oauth2cc::error_kind::config:
            return exit_usage;
        case oauth2cc::error_kind::oauth:
            return exit_oauth;
        case oauth2cc::error_kind::transport:
        case oauth2cc::error_kind::tls:
            return exit_transport;
        case oauth2cc::error_kind::http_status:
        case oauth2cc::error_kind::bad_response:
            return exit_bad_response;
    }
    return exit_bad_response;
}

void report(const oauth2cc::error& e) {
    std::cerr << "oauth2cc-cli: " << e.what() << "\n";
    if (e.kind() == oauth2cc::error_kind::oauth) {
        std::cerr << "oauth2cc-cli: error=" << e.oauth_error();
        if (!e.error_description().empty())
            std::cerr << " error_description=" << e.error_description();
        std::cerr << "\n";
    }
}

// The token store the options ask for (--cache, --redis), or null.
std::shared_ptr<oauth2cc::token_store> store_of(const parsed& p) {
    try {
        return oauth2cc_examples::make_store(p.store);
    } catch (const oauth2cc::error&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw usage_error{e.what()};
    }
}

// A token manager for cfg, keeping its tokens in the file store when asked to.
std::unique_ptr<oauth2cc::token_manager> make_manager(const parsed& p) {
    auto tokens = std::make_unique<oauth2cc::token_manager>(p.cfg);
    if (auto store = store_of(p)) tokens->set_store(std::move(store));
    return tokens;
}

/// An RFC 3339 UTC timestamp.
std::string rfc3339(std::chrono::system_clock::time_point t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return out;
}

/// The ExecCredential kubectl wants of an exec plugin: the apiVersion it asked for in
/// KUBERNETES_EXEC_INFO (v1beta1 when it names none), the token, and when it expires.
nlohmann::json exec_credential(const oauth2cc::token& t) {
    std::string version = "client.authentication.k8s.io/v1beta1";
    const std::string info = env("KUBERNETES_EXEC_INFO");
    if (!info.empty()) {
        const auto asked = nlohmann::json::parse(info, nullptr, false);
        if (asked.is_object() &&
            asked.value("apiVersion", "") == "client.authentication.k8s.io/v1") {
            version = "client.authentication.k8s.io/v1";
        }
    }
    nlohmann::json status{{"token", t.access_token.reveal()}};
    if (t.expires_in) {
        status["expirationTimestamp"] = rfc3339(std::chrono::system_clock::now() + *t.expires_in);
    }
    return {{"apiVersion", version}, {"kind", "ExecCredential"}, {"status", status}};
}

int print_token(const parsed& p) {
    // Without a store, one request; with one, a stored token when it is still good.
    const bool stored = p.store.directory || !p.store.redis_url.empty() ||
                        !p.store.redis_url_file.empty() || !p.store.seal_key_file.empty();
    const oauth2cc::token t = stored ? *make_manager(p)->get() : oauth2cc::request_token(p.cfg);
    if (p.format == "raw") {
        std::cout << t.access_token.reveal() << "\n";
        return exit_ok;
    }
    if (p.format == "header" || p.format == "kubectl") {
        // What is sent as it is must be a Bearer access token.
        if (t.token_type == "N_A" || t.token_type == "DPoP") {
            throw oauth2cc::error(
                oauth2cc::error_kind::config,
                "the token is " +
                    std::string(t.token_type == "DPoP" ? "DPoP-bound: each request needs a proof"
                                                       : "no access token (N_A)") +
                    "; --format " + p.format + " cannot carry it");
        }
    }
    if (p.format == "header") {
        std::cout << "Authorization: Bearer " << t.access_token.reveal() << "\n";
        return exit_ok;
    }
    if (p.format == "kubectl") {
        std::cout << exec_credential(t).dump() << "\n";
        return exit_ok;
    }
    nlohmann::json out = t.extra.is_object() ? t.extra : nlohmann::json::object();
    out["access_token"] = t.access_token.reveal();
    out["token_type"] = t.token_type;
    if (!t.issued_token_type.empty()) out["issued_token_type"] = t.issued_token_type;
    if (t.expires_in) out["expires_in"] = t.expires_in->count();
    if (!t.scope.empty()) out["scope"] = t.scope;
    if (p.format == "json") {
        std::cout << out.dump() << "\n";
        return exit_ok;
    }
    if (t.expires_in) out["expires_at"] = rfc3339(std::chrono::system_clock::now() + *t.expires_in);
    for (const auto& [name, value] : out.items()) {
        std::cout << name << ": " << (value.is_string() ? value.get<std::string>() : value.dump())
                  << "\n";
    }
    return exit_ok;
}

/// The token named by revoke --token-file, without its trailing newline.
oauth2cc::secret token_to_revoke(const std::string& file) {
    std::string text;
    if (file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw usage_error{"cannot read the token file " + file};
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) throw usage_error{"the token file " + file + " is empty"};
    return oauth2cc::secret{std::move(text)};
}

int revoke_token(const parsed& p) {
    if (!p.revoke_file.empty()) {
        oauth2cc::revoke(p.cfg, token_to_revoke(p.revoke_file));
        return exit_ok;
    }
    const auto store = store_of(p);
    if (!store) throw usage_error{"revoke what? --token-file, or a store (--cache, --redis)"};
    // The store's key of this configuration's own token, as `token --cache` keeps it.
    const std::string key = oauth2cc::store_key(oauth2cc::token_manager(p.cfg).cache_key());
    const auto locked = store->lock(key);
    const auto held = store->load(key);
    if (!held) {
        std::cerr << "oauth2cc-cli: the store holds no token of this client; nothing revoked\n";
        return exit_ok;
    }
    oauth2cc::revoke(p.cfg, held->access_token);
    store->remove(key);
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
    options.proxy = p.proxy ? *p.proxy : oauth2cc::proxy_from_environment(call.url);
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
        if (p.command == "token") return print_token(p);
        if (p.command == "revoke") return revoke_token(p);
        return make_call(p);
    } catch (const help_shown&) {
        return exit_ok;
    } catch (const usage_error& e) {
        std::cerr << "oauth2cc-cli: " << e.message << " (see --help)\n";
        return exit_usage;
    } catch (const oauth2cc::error& e) {
        report(e);
        return exit_code_for(e);
    } catch (const std::exception&) {
        // Never an abort: what() may quote what it was given, so it is not shown.
        std::cerr << "oauth2cc-cli: an unexpected failure (a bug: please report it with the "
                     "command line, without its secrets)\n";
        return exit_bad_response;
    } catch (...) {
        std::cerr << "oauth2cc-cli: an unexpected failure (a bug: please report it)\n";
        return exit_bad_response;
    }
}
