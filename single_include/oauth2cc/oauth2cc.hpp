// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// Single-header edition of oauth2cc 0.2.0.
// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT
// SPDX-License-Identifier: MIT
#pragma once

// ---- oauth2cc/oauth2cc.hpp ----

// The layers, each using only those below it (tools/check-headers.py checks detail/'s):
//   public headers (this folder)   declarations users name
//   impl/                          their bodies, under OAUTH2CC_WITH_BODIES
//   detail/manager/                the token holder: state, fetches, refresher, guard
//   detail/store/                  token files, Redis links, the Redis store's bodies
//   detail/oauth/                  requests, responses, assertions, DPoP, discovery
//   detail/http/                   URLs, proxies, deadlines, cpp-httplib glue
//   detail/crypto/                 SHA-256, JOSE, sealing, PEM reads
//   detail/text/                   form encoding, redaction, wiping, bounded JSON

// ---- oauth2cc/config.hpp ----

/// @brief Major version: changes when the public API breaks.
#define OAUTH2CC_VERSION_MAJOR 0
/// @brief Minor version: changes when the public API grows.
#define OAUTH2CC_VERSION_MINOR 2
/// @brief Patch version: changes for fixes only.
#define OAUTH2CC_VERSION_PATCH 0
/// @brief The version as text, "MAJOR.MINOR.PATCH".
#define OAUTH2CC_VERSION_STRING "0.2.0"
/// @brief The version as one comparable number: MAJOR * 10000 + MINOR * 100 + PATCH.
#define OAUTH2CC_VERSION \
    (OAUTH2CC_VERSION_MAJOR * 10000 + OAUTH2CC_VERSION_MINOR * 100 + OAUTH2CC_VERSION_PATCH)

/// @brief 1 when the library is used header-only (the default): every unit that
/// includes a header gets its bodies, as inline functions. 0 with OAUTH2CC_COMPILED_LIB:
/// units see declarations only, and the bodies are compiled once, in the unit that defines
/// OAUTH2CC_IMPLEMENTATION (src/oauth2cc.cpp, or one unit of the user's with the single
/// header).
#if defined(OAUTH2CC_COMPILED_LIB)
#define OAUTH2CC_HEADER_ONLY 0
#else
#define OAUTH2CC_HEADER_ONLY 1
#endif

/// @brief 1 in a unit that compiles the library's bodies: every unit in header-only mode,
/// and the one unit that defines OAUTH2CC_IMPLEMENTATION in compiled mode.
#if OAUTH2CC_HEADER_ONLY || defined(OAUTH2CC_IMPLEMENTATION)
#define OAUTH2CC_WITH_BODIES 1
#else
#define OAUTH2CC_WITH_BODIES 0
#endif

/// @brief Marks the non-template bodies under impl/: inline when header-only, so that the
/// library links cleanly when included from many translation units; ordinary functions,
/// defined once, in compiled mode.
#ifndef OAUTH2CC_INLINE
#if OAUTH2CC_HEADER_ONLY
#define OAUTH2CC_INLINE inline
#else
#define OAUTH2CC_INLINE
#endif
#endif

/// @brief Seeds client_config::connect_timeout, in milliseconds.
#ifndef OAUTH2CC_DEFAULT_CONNECT_TIMEOUT_MS
#define OAUTH2CC_DEFAULT_CONNECT_TIMEOUT_MS 5000
#endif
/// @brief Seeds client_config::read_timeout, in milliseconds.
#ifndef OAUTH2CC_DEFAULT_READ_TIMEOUT_MS
#define OAUTH2CC_DEFAULT_READ_TIMEOUT_MS 10000
#endif
/// @brief Seeds client_config::max_response_bytes.
#ifndef OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES
#define OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES (1024 * 1024)
#endif

#if defined(_MSVC_LANG)
#define OAUTH2CC_CPLUSPLUS _MSVC_LANG
#else
#define OAUTH2CC_CPLUSPLUS __cplusplus
#endif
#if OAUTH2CC_CPLUSPLUS < 201703L
#error "oauth2cc requires C++17 or later"
#endif

// Every translation unit that compiles the bodies must see the same cpp-httplib class
// layout, and the library speaks HTTPS: the build exports (CMake target, Meson
// dependency, pkg-config file) define this macro. A unit that lacks it was not built
// against those exports. In compiled mode, units that see declarations only need nothing
// of cpp-httplib.
#if OAUTH2CC_WITH_BODIES && !defined(CPPHTTPLIB_OPENSSL_SUPPORT)
#error \
    "oauth2cc needs cpp-httplib's flags (CPPHTTPLIB_OPENSSL_SUPPORT and the rest). With the single header, build as: c++ -std=c++17 -I single_include main.cpp $(pkg-config --cflags --libs cpp-httplib) -lssl -lcrypto -pthread (with a header-only cpp-httplib: -DCPPHTTPLIB_OPENSSL_SUPPORT instead of the pkg-config part). With CMake link oauth2cc::oauth2cc, with Meson use dependency('oauth2cc'), else take the flags from pkg-config --cflags --libs oauth2cc"
// A missing file is a fatal error: the compiler stops here, and the error above is the
// only one it shows (no errors from the rest of the header, nor from the unit's code).
#include <oauth2cc: the build stops at the error above>
#endif
// ---- oauth2cc/version.hpp ----

#include <string_view>

namespace oauth2cc {

/// @brief A library version, comparable as a whole.
struct version_info {
    int major = 0;  ///< Changes when the public API breaks.
    int minor = 0;  ///< Changes when the public API grows.
    int patch = 0;  ///< Changes for fixes only.

    /// @brief Orders versions by major, then minor, then patch.
    /// @returns a negative number, zero or a positive number.
    constexpr int compare(const version_info& other) const noexcept {
        if (major != other.major) return major < other.major ? -1 : 1;
        if (minor != other.minor) return minor < other.minor ? -1 : 1;
        if (patch != other.patch) return patch < other.patch ? -1 : 1;
        return 0;
    }
};

/// @brief The version of the oauth2cc headers this unit was compiled against.
inline constexpr version_info version{OAUTH2CC_VERSION_MAJOR, OAUTH2CC_VERSION_MINOR,
                                      OAUTH2CC_VERSION_PATCH};

/// @brief The same version as text, "MAJOR.MINOR.PATCH".
inline constexpr std::string_view version_string{OAUTH2CC_VERSION_STRING};

}  // namespace oauth2cc

// ---- oauth2cc/authorized_client.hpp ----

// ---- oauth2cc/client_config.hpp ----

// ---- oauth2cc/connection_options.hpp ----

// ---- oauth2cc/secret.hpp ----

#include <iosfwd>
#include <string>

namespace oauth2cc {

/// @brief Owns a sensitive string: a client secret, an access token, an assertion.
///
/// It streams as `***`, never as its value, and its memory is wiped (OPENSSL_cleanse)
/// when it is destroyed, reassigned or moved from. reveal() is the one way to the value.
class secret {
public:
    /// @brief An empty secret, with no value given.
    secret() noexcept = default;
    /// @brief Takes the value; the moved-from argument's buffer is wiped.
    /// @param value the sensitive text
    explicit secret(std::string value) noexcept;
    /// @brief A copy in a buffer of its own.
    secret(const secret& other);
    /// @brief Takes other's value; other is left empty.
    secret(secret&& other) noexcept;
    /// @brief Wipes the old value, then copies.
    secret& operator=(const secret& other);
    /// @brief Wipes the old value, then takes other's; other is left empty.
    secret& operator=(secret&& other) noexcept;
    ~secret();

    /// @brief The value. Keep the reference short-lived and never log it.
    const std::string& reveal() const noexcept { return value_; }
    /// @brief True when the value is the empty string.
    bool empty() const noexcept { return value_.empty(); }
    /// @brief True when a value was given, even an empty one: a secret made from a string
    /// (or copied or moved from one), as opposed to a default-constructed or moved-from
    /// one. Lets an option tell "not asked for" from "asked for, but empty" (an empty
    /// key file).
    bool has_value() const noexcept { return given_; }

private:
    std::string value_;
    bool given_ = false;
};

/// @brief Writes `***`, whatever the value.
std::ostream& operator<<(std::ostream& os, const secret& s);

}  // namespace oauth2cc

#include <chrono>
#include <cstddef>
#include <string>

namespace oauth2cc {

/// @brief TLS settings for a connection.
struct tls_options {
    bool verify = true;            ///< Verify the certificate chain and the host name.
    std::string ca_file;           ///< PEM bundle of trusted CAs; empty: the system store.
    std::string ca_dir;            ///< Hashed directory of trusted CAs; empty: none.
    std::string client_cert_file;  ///< PEM client certificate for mutual TLS.
    std::string client_key_file;   ///< PEM key of the client certificate.
    /// The client certificate as PEM text instead of a file: the certificate, then any
    /// intermediates it needs (a secrets manager's or a vault's answer, say).
    std::string client_cert_pem;
    /// Its unencrypted PEM private key instead of client_key_file; wiped when dropped,
    /// and never in a message.
    secret client_key_pem;

    /// @brief Whether a client certificate is set, from files or from memory.
    bool has_client_certificate() const noexcept {
        return !client_cert_file.empty() || !client_cert_pem.empty();
    }
};

/// @brief How oauth2cc connects to a server and what it accepts from it. client_config
/// (the token endpoint), client_options (an API) and httplib_transport take these fields
/// from here, and one check refuses a bad value for all three.
struct connection_options {
    /// Bounds the TCP connect. With read_timeout it also bounds each whole exchange.
    std::chrono::milliseconds connect_timeout{OAUTH2CC_DEFAULT_CONNECT_TIMEOUT_MS};
    /// Bounds each socket read and write. `connect_timeout + read_timeout` bounds the
    /// whole exchange, so a server that trickles its reply fails too.
    std::chrono::milliseconds read_timeout{OAUTH2CC_DEFAULT_READ_TIMEOUT_MS};
    /// Certificate verification, trust anchors and the client certificate.
    tls_options tls;
    /// Allow plain `http://` to hosts other than loopback (the token request and
    /// authorized_client refuse it otherwise; a bare transport sends what it is given).
    bool allow_insecure_http = false;
    /// Responses with a larger body (after decompression) are refused.
    std::size_t max_response_bytes = OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES;
    /// Sent as User-Agent (by the token request, and by authorized_client unless a call
    /// gives its own); empty: none.
    std::string user_agent = "oauth2cc/" OAUTH2CC_VERSION_STRING;
    /// An HTTP proxy, `http://[user:password@]host[:port]` (port 1080 when absent);
    /// https:// origins are reached through it with CONNECT. Empty: none. Never echoed in
    /// a message, since it may hold credentials. proxy_from_environment() gives the one
    /// curl would use.
    std::string proxy;
    /// Idle kept-alive connections kept per origin for reuse.
    std::size_t max_idle_connections = 4;
};

}  // namespace oauth2cc
// ---- oauth2cc/signing_key.hpp ----

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

// OpenSSL's key type, declared here so that this header does not include OpenSSL's.
struct evp_pkey_st;

namespace oauth2cc {

/// @brief JWS signature algorithms (RFC 7518 §3, RFC 8037 §3.1).
enum class jws_alg {
    rs256,  ///< RSASSA-PKCS1-v1_5 with SHA-256; an RSA key of 2048 bits or more.
    ps256,  ///< RSASSA-PSS with SHA-256 and MGF1 with SHA-256; an RSA key.
    es256,  ///< ECDSA on P-256 with SHA-256; the signature is R || S, 64 bytes.
    es384,  ///< ECDSA on P-384 with SHA-384; the signature is R || S, 96 bytes.
    eddsa,  ///< Ed25519.
    hs256,  ///< HMAC with SHA-256 under the client secret (client_secret_jwt); no key.
};

/// @brief The JWS `alg` name of an algorithm, e.g. "ES256".
std::string_view to_string(jws_alg alg) noexcept;

/// @brief A private key that signs, held by OpenSSL: RSA (RS256, PS256), EC P-256
/// (ES256), P-384 (ES384) or Ed25519 (EdDSA). Copies share the one immutable key, and
/// any number of threads may sign with it at once. The private key never leaves it: no
/// accessor, message or JWK shows it.
/// @sa RFC 7515, RFC 7517, RFC 7518, RFC 7638
class signing_key {
public:
    /// @brief A key from PEM text: PKCS#8 (`PRIVATE KEY`) or traditional (`RSA PRIVATE
    /// KEY`, `EC PRIVATE KEY`).
    /// @param pem the PEM text
    /// @param kid the key id sent as the JWS header's `kid`; empty for none
    /// @param alg the algorithm; by default the key's own (RSA: rs256; P-256: es256;
    ///            P-384: es384; Ed25519: eddsa). ps256 is the other choice for RSA.
    /// @throws error `config` for text that holds no private key, an encrypted key, a
    ///         key of another type or curve, an RSA key under 2048 bits, or an alg the
    ///         key cannot make; the message never quotes the text
    static signing_key from_pem(std::string_view pem, std::string kid = {},
                                std::optional<jws_alg> alg = {});
    /// @brief A key from a PEM file, read as from_pem reads text.
    /// @throws error `config` naming the file (never its content) when it cannot be read
    ///         or from_pem refuses it
    static signing_key from_pem_file(const std::string& path, std::string kid = {},
                                     std::optional<jws_alg> alg = {});
    /// @brief A new random key for alg (RSA keys have 2048 bits). Its kid is its
    /// jwk_thumbprint(), so that it can be registered and rotated as it is.
    /// @throws error `config` for hs256, which takes a secret, not a key
    static signing_key generate(jws_alg alg = jws_alg::es256);

    /// @brief The algorithm it signs with.
    jws_alg alg() const noexcept { return alg_; }
    /// @brief The key id; empty when it has none.
    const std::string& kid() const noexcept { return kid_; }
    /// @brief The PEM file the key was read from (from_pem_file()); empty for the others.
    /// A client_config::client_key read from a file is read again when the file changes
    /// and after an `invalid_client` answer, so that a replaced key is taken up (with the
    /// same kid and alg); when the file is removed, the key last read goes on signing.
    const std::string& file() const noexcept { return file_; }
    /// @brief The public key as a JWK (RFC 7517): `kty` and the public members
    /// (`n`, `e`; or `crv`, `x`, `y`; or `crv`, `x`), `alg`, `use` `sig`, and `kid`
    /// when set. Never a private member.
    nlohmann::json public_jwk() const;
    /// @brief The RFC 7638 thumbprint: base64url (no padding) of the SHA-256 of the
    /// public JWK's required members in canonical form.
    std::string jwk_thumbprint() const;
    /// @brief The JWS signature of data (RFC 7515 §5.1), raw bytes: for ES256/ES384 the
    /// fixed-size R || S of RFC 7518 §3.4, not DER.
    /// @throws error `config` when OpenSSL cannot sign (e.g. a provider refuses the key)
    std::string sign(std::string_view data) const;

private:
    signing_key(std::shared_ptr<evp_pkey_st> key, jws_alg alg, std::string kid);
    static signing_key from_pem_named(std::string_view pem, std::string kid,
                                      std::optional<jws_alg> alg, const std::string& source);
    static signing_key from_openssl(std::shared_ptr<evp_pkey_st> key, std::string kid,
                                    std::optional<jws_alg> alg, const std::string& source);

    std::shared_ptr<evp_pkey_st> key_;
    jws_alg alg_;
    std::string kid_;
    std::string file_;
};

}  // namespace oauth2cc

// ---- oauth2cc/tracing.hpp ----

// ---- oauth2cc/metrics.hpp ----

// ---- oauth2cc/error.hpp ----

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief What kind of failure an error is; each calls for another remedy. Only `oauth`
/// and `http_status` mean that a server said so; a decision made here (a refused
/// configuration, a deadline, a backoff) is never an `oauth` error.
enum class error_kind {
    /// Unusable input, found before anything is sent or where nothing can be sent: the
    /// client_config, a key or certificate file, a URL or header, a token source. Retrying
    /// changes nothing; fix the configuration.
    config,
    /// No usable response: connection refused or reset, name not resolved, the deadline
    /// (connect_timeout + read_timeout) passed, or a store that cannot be reached. Worth
    /// retrying later.
    transport,
    /// The TLS handshake failed: certificate chain or host name not verified, a client
    /// certificate refused or unusable. Fix the trust or the certificate.
    tls,
    /// A non-2xx response that is not an OAuth error response (a 503, a proxy's 502); the
    /// status and a short, sanitised excerpt of the body come with it.
    http_status,
    /// An RFC 6749 §5.2 (or RFC 8693, RFC 9449) error response from the server: an `error`
    /// member, whatever the status; oauth_error() has its code.
    oauth,
    /// A response that arrived but is not what the protocol allows: a 2xx that is not a
    /// valid token response, a body over max_response_bytes, a Content-Encoding not asked
    /// for, HTML where JSON was due.
    bad_response,
};

/// @brief The kind's name, e.g. "oauth".
std::string_view to_string(error_kind kind) noexcept;

/// @brief The parts of a failure that came from the server, when it answered.
struct error_details {
    std::string oauth_error;        ///< RFC 6749 §5.2 `error`, e.g. "invalid_client".
    std::string error_description;  ///< §5.2 `error_description`, sanitised.
    std::string error_uri;          ///< §5.2 `error_uri`.
    int http_status = 0;            ///< The response status; 0 when there was none.
    std::optional<std::chrono::seconds> retry_after;  ///< From a `Retry-After` header.
};

/// @brief The exception oauth2cc throws. what() names the failure and never contains a
/// client secret, an access token, an `Authorization` header or a request body.
class error : public std::runtime_error {
public:
    /// @param kind    what kind of failure
    /// @param message a sentence for people; callers never put secrets in it
    /// @param details what the server said, if it answered
    error(error_kind kind, const std::string& message, error_details details = {});

    /// @brief What kind of failure this is.
    error_kind kind() const noexcept { return kind_; }
    /// @brief The RFC 6749 §5.2 error code, e.g. "invalid_scope"; empty when none.
    const std::string& oauth_error() const noexcept { return details_.oauth_error; }
    /// @brief The server's `error_description`, sanitised; empty when none.
    const std::string& error_description() const noexcept { return details_.error_description; }
    /// @brief The server's `error_uri`; empty when none.
    const std::string& error_uri() const noexcept { return details_.error_uri; }
    /// @brief The HTTP status of the response; 0 when no response arrived.
    int http_status() const noexcept { return details_.http_status; }
    /// @brief How long the server asked the client to wait (`Retry-After`), if it did.
    std::optional<std::chrono::seconds> retry_after() const noexcept {
        return details_.retry_after;
    }

private:
    error_kind kind_;
    error_details details_;
};

}  // namespace oauth2cc

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace oauth2cc {

class token_manager;

/// @brief How a token request ended: `success`, or the kind of its error.
enum class request_outcome { success, config, transport, tls, http_status, oauth, bad_response };

/// @brief The outcome's name, e.g. "success", "oauth": the values of the `outcome` label.
std::string_view to_string(request_outcome outcome) noexcept;

/// @brief The outcome of a failed request, by its error's kind.
request_outcome outcome_of(error_kind kind) noexcept;

/// @brief One token request a token_manager made (a token taken from the store is not
/// one; it is a store_event).
struct token_request_event {
    std::string_view client_id;  ///< the manager's client id, as in its log lines
    request_outcome outcome = request_outcome::success;  ///< success, or the error's kind
    int http_status = 0;                  ///< the response's status; 0 when none came
    std::string_view oauth_error;         ///< the RFC 6749 §5.2 `error` of an `oauth` failure
    std::chrono::nanoseconds latency{0};  ///< from the request's start to its outcome
    bool retry = false;                   ///< made after a failed request
    /// Requests the token endpoint answered with `use_dpop_nonce` and this request
    /// repeated with the nonce it gave (RFC 9449 §8): 0 or 1.
    unsigned dpop_nonce_retries = 0;
    /// Credential files rotated that this request took up (read after the file
    /// changed, or after an `invalid_client` answer): a new client secret from
    /// client_config::client_secret_file, a new key from the file of a
    /// client_config::client_key, new client certificate files (tls_options): 0 or more.
    unsigned credential_rotations = 0;
};

/// @brief What a token_manager asked of its token_store.
enum class store_operation { load, save, remove };

/// @brief How a store operation went: `hit` (a usable token loaded), `miss` (none, or one
/// not worth taking), `ok` (saved, removed), `failure` (the store refused, e.g. a file
/// others may read), `unavailable` (the store could not be reached, e.g. Redis down).
enum class store_result { hit, miss, ok, failure, unavailable };

/// @brief The operation's name: "load", "save", "remove".
std::string_view to_string(store_operation operation) noexcept;

/// @brief The result's name: "hit", "miss", "ok", "failure", "unavailable".
std::string_view to_string(store_result result) noexcept;

/// @brief One operation of a token_manager on its token_store.
struct store_event {
    std::string_view client_id;                         ///< the manager's client id
    store_operation operation = store_operation::load;  ///< what was asked
    store_result result = store_result::miss;           ///< how it went
};

/// @brief Where a request answered with `use_dpop_nonce` was repeated with the nonce given.
enum class nonce_origin { token_endpoint, resource_server };

/// @brief The origin's name: "token_endpoint", "resource_server".
std::string_view to_string(nonce_origin origin) noexcept;

/// @brief Receives what a token_manager does, for a metrics system
/// (token_manager::set_observer()). Every function has an empty default; override the
/// ones wanted. Events are reported after the work is done, outside every lock of the
/// manager, on the thread that did it (a worker or the background thread for requests
/// and the store, the caller's thread for waits, invalidate() and an authorized_client's
/// retries); a request and its store operations are reported before the callers
/// waiting for it are woken. An observer shared by several managers is called from
/// several threads at once; it may call the manager as its logger may. An exception an
/// observer throws is swallowed.
///
/// Cache hits are not events: a cached get() costs no more with an observer than
/// without. They are counted in token_manager::stats(), which an observer reads when it
/// is scraped, for each manager it was attached to (on_attach()).
class metrics_observer {
public:
    virtual ~metrics_observer() = default;

    /// @brief A token request ended.
    virtual void on_token_request(const token_request_event& event) { (void)event; }

    /// @brief A get() (or request_headers(), authorization_header(), an
    /// authorized_client call) waited for a token request.
    /// @param client_id the client of the manager that the caller waited on
    /// @param waited    how long it waited
    /// @param got_token false when the wait ended in an error
    virtual void on_wait(std::string_view client_id, std::chrono::nanoseconds waited,
                         bool got_token) {
        (void)client_id, (void)waited, (void)got_token;
    }

    /// @brief A token store operation ended.
    virtual void on_store(const store_event& event) { (void)event; }

    /// @brief An authorized_client got a 401 for a token that is no longer good, dropped
    /// it, and repeats the call once with a new one.
    virtual void on_unauthorized_retry(std::string_view client_id) { (void)client_id; }

    /// @brief A request answered with `use_dpop_nonce` is repeated with the server's new
    /// nonce (RFC 9449 §8, §9).
    virtual void on_dpop_nonce_retry(std::string_view client_id, nonce_origin where) {
        (void)client_id, (void)where;
    }

    /// @brief manager now reports here. Until on_detach() for it returns, the observer
    /// may call its stats() from any thread (on_attach() and on_detach() included): the
    /// manager is not destroyed before then.
    virtual void on_attach(const token_manager& manager, std::string_view client_id) {
        (void)manager, (void)client_id;
    }

    /// @brief manager reports here no more: it is being destroyed (after its last token
    /// request), or was given another observer. The observer must not touch it once this
    /// returns.
    virtual void on_detach(const token_manager& manager) { (void)manager; }
};

}  // namespace oauth2cc

#include <memory>
#include <string_view>

namespace oauth2cc {

/// @brief What a span stands for.
enum class span_kind {
    /// A token a token_manager served, or a token request (request_token(),
    /// token_client::fetch()): its attempts are its children.
    token_acquisition,
    /// One HTTP request and its response: to the token, introspection or revocation
    /// endpoint, or an authorized_client call.
    http_attempt
};

/// @brief The span's name: "oauth2cc.token" or "oauth2cc.http".
std::string_view to_string(span_kind kind) noexcept;

/// @brief How a token acquisition was served.
enum class cache_outcome {
    hit,   ///< from the manager's cache, with no request
    miss,  ///< by a token request (the span's attempts are its)
    wait   ///< by a token request another caller's get() had started, waited for
};

/// @brief The outcome's name: "hit", "miss", "wait".
std::string_view to_string(cache_outcome outcome) noexcept;

/// @brief What a span is about, known when it starts. The views live until start_span()
/// returns. Never a secret or a token.
struct span_start {
    span_kind kind = span_kind::http_attempt;  ///< what the span stands for
    std::string_view client_id;                ///< the client's id
    std::string_view server;  ///< host[:port] of the endpoint or API the span talks to
    std::string_view grant;   ///< to_string(grant_type) of a token span or token attempt
    /// An attempt's endpoint: "token", "introspection", "revocation", or "resource" for
    /// an authorized_client call.
    std::string_view endpoint;
    std::string_view method;  ///< an attempt's HTTP method
    /// An attempt's number within its acquisition or call: 0 the first, 1 the retry
    /// (a DPoP nonce, a rotated secret, a 401's new token), and so on.
    unsigned attempt = 0;
};

/// @brief How a span ended.
struct span_end {
    request_outcome outcome = request_outcome::success;  ///< success, or the error's kind
    int http_status = 0;                                 ///< the response's; 0 when none
    std::string_view oauth_error;  ///< the RFC 6749 §5.2 `error`, or a 401's Bearer error
    cache_outcome cache = cache_outcome::miss;  ///< a token acquisition's
};

/// @brief A span a tracer started: ended exactly once, by the thread that started it.
class trace_span {
public:
    virtual ~trace_span() = default;
    /// @brief The span is over. Must not throw.
    virtual void end(const span_end& how) noexcept = 0;
};

/// @brief Starts spans: set as client_config::tracer, it is called for every token
/// acquisition and HTTP attempt the configuration makes, from the thread that makes it.
/// It must be thread-safe, quick, and not throw (a throw is taken as no span). A
/// token_manager's cached get() that its thread's copy answers starts no span (it costs
/// nanoseconds); the first get() of a thread for a token, every wait and every request do.
class tracer {
public:
    virtual ~tracer() = default;
    /// @brief A new span, or null for none.
    /// @param what   what the span is about
    /// @param parent the span this one is part of (an attempt's acquisition), or null
    virtual std::unique_ptr<trace_span> start_span(const span_start& what, trace_span* parent) = 0;
};

}  // namespace oauth2cc

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief How the client authenticates at the token endpoint.
/// @sa RFC 6749 §2.3.1, RFC 7591 §2 (the method names), RFC 7523 §2.2, OpenID Connect
/// Core §9
enum class auth_method {
    client_secret_basic,  ///< HTTP Basic with the form-encoded id and secret (the default).
    client_secret_post,   ///< `client_id` and `client_secret` in the request body.
    none,                 ///< A public client: `client_id` in the body, no secret.
    /// A JWT signed with HS256 under client_secret (32 bytes or more, RFC 7518 §3.2),
    /// sent as `client_assertion`; the secret itself never travels.
    client_secret_jwt,
    /// A JWT signed with client_key, sent as `client_assertion`.
    private_key_jwt,
    /// A JWT issued elsewhere (e.g. a Kubernetes projected service-account token),
    /// taken from the client_assertion function for every request.
    client_assertion,
    /// Mutual TLS with a certificate from a CA the server trusts (RFC 8705 §2.1): the
    /// connection presents tls.client_cert_file, and `client_id` goes in the body.
    tls_client_auth,
    /// Mutual TLS with a self-signed certificate registered at the server (RFC 8705
    /// §2.2): as tls_client_auth.
    self_signed_tls_client_auth,
};

/// @brief The method's RFC 7591 §2 name, as `token_endpoint_auth_method` and discovery's
/// `token_endpoint_auth_methods_supported` spell it (client_assertion, which has none
/// there, as "client_assertion").
std::string_view to_string(auth_method method) noexcept;

/// @brief How the id and secret are encoded before they are joined for HTTP Basic.
enum class credential_encoding {
    /// RFC 6749 §2.3.1: each is form-encoded (application/x-www-form-urlencoded) first.
    form_urlencoded,
    /// Joined as they are, for servers that do not decode them (many PHP and Java
    /// servers). A client id with ':' is sent as it is, but a server that splits at the
    /// first ':' (RFC 7617 §2) then sees another id: use form_urlencoded or post.
    raw,
};

/// @brief The grant a client asks for its token with.
enum class grant_type {
    /// RFC 6749 §4.4: the client's own credentials are the grant (the default).
    client_credentials,
    /// RFC 8693: a subject token (a platform's, a caller's, another manager's), and an
    /// actor token for delegation, exchanged for a new token.
    token_exchange,
    /// RFC 7523 §2.1: a signed JWT is the grant (a service account's, or one a platform
    /// issued).
    jwt_bearer,
};

/// @brief The grant's short name, as `oauth2cc-cli --grant` takes it:
/// "client_credentials", "token_exchange", "jwt_bearer".
std::string_view to_string(grant_type grant) noexcept;

/// @brief The token type identifiers of RFC 8693 §3, for subject_token_type,
/// actor_token_type and requested_token_type.
namespace token_types {
/// An OAuth 2.0 access token.
inline constexpr const char* access_token = "urn:ietf:params:oauth:token-type:access_token";
/// An OAuth 2.0 refresh token.
inline constexpr const char* refresh_token = "urn:ietf:params:oauth:token-type:refresh_token";
/// An OpenID Connect ID token.
inline constexpr const char* id_token = "urn:ietf:params:oauth:token-type:id_token";
/// A base64url-encoded SAML 1.1 assertion.
inline constexpr const char* saml1 = "urn:ietf:params:oauth:token-type:saml1";
/// A base64url-encoded SAML 2.0 assertion.
inline constexpr const char* saml2 = "urn:ietf:params:oauth:token-type:saml2";
/// A JWT (RFC 7519), of any issuer: a platform's service-account token, say.
inline constexpr const char* jwt = "urn:ietf:params:oauth:token-type:jwt";
}  // namespace token_types

/// @brief Everything that shapes a token request: what to ask for, how to authenticate,
/// and (from connection_options) how to reach the token endpoint.
/// @sa RFC 6749 §4.4.2
struct client_config : connection_options {
    /// `https://...`; plain `http://` only to loopback or when allow_insecure_http is set.
    /// May be left empty when issuer is set.
    std::string token_endpoint;
    /// The authorization server's issuer URL. With token_endpoint empty, the token
    /// endpoint comes from the issuer's metadata (discover()) when first needed, once,
    /// and again after a failure; the server must list the configured auth method.
    std::string issuer;
    /// The RFC 7009 revocation endpoint for revoke(); empty: the issuer's discovered
    /// `revocation_endpoint`.
    std::string revocation_endpoint;
    std::string client_id;  ///< The client's id at the authorization server.
    secret client_secret;   ///< Its secret; unused by auth_method::none.
    /// A file that holds the secret instead (client_secret left empty; a trailing newline
    /// is not part of it): read when first needed, again when the file's metadata changes
    /// (one stat() a token request), and again after an `invalid_client` answer, which is
    /// then retried once with the new contents. A secret rotated by replacing the file
    /// (a Kubernetes Secret, a vault agent) is taken up without a restart.
    std::string client_secret_file;
    /// How the client authenticates.
    auth_method auth = auth_method::client_secret_basic;
    /// How client_secret_basic encodes the id and secret.
    credential_encoding basic_encoding = credential_encoding::form_urlencoded;
    std::vector<std::string> scopes;     ///< Each an RFC 6749 §3.3 scope-token; sent space-joined.
    std::string audience;                ///< Sent as `audience` when not empty.
    std::vector<std::string> resources;  ///< RFC 8707 `resource`, one parameter each.
    /// Further body parameters. `grant_type`, `client_id`, `client_secret` and `scope` are
    /// refused: they have their own fields.
    std::vector<std::pair<std::string, std::string>> extra_params;

    /// The key that signs assertions for auth_method::private_key_jwt.
    std::optional<signing_key> client_key;
    /// The assertions' `aud`; empty: the token endpoint (RFC 7523 §3). Some servers want
    /// their issuer instead.
    std::string assertion_audience;
    /// From an assertion's `iat` to its `exp`.
    std::chrono::seconds assertion_lifetime{60};
    /// For auth_method::client_assertion: called for every token request (retries too)
    /// and returns the assertion to send. Throwing or returning an empty string fails
    /// that request with a `config` error; a token_manager tries again after its backoff.
    std::function<std::string()> client_assertion;

    /// With a key, tokens are DPoP-bound (RFC 9449): every token request carries a proof
    /// signed with it, a `DPoP` token_type is accepted, and token_manager's
    /// request_headers() and authorized_client send a proof with every call. Load it from
    /// a PEM file to keep using stored tokens across runs, or signing_key::generate() one
    /// per process.
    std::optional<signing_key> dpop_key;

    /// The grant asked for; every auth method, DPoP and mTLS work with each.
    grant_type grant = grant_type::client_credentials;
    /// For grant_type::token_exchange: the subject token (RFC 8693 §2.1). A token_manager
    /// calls it in every get() to learn the current subject, and serves a token exchanged
    /// for that subject: a new subject means a new exchange. Make it cheap
    /// (assertion_from_file(), subject_token_of()). Throwing or returning an empty string
    /// is a `config` error, and nothing is sent.
    std::function<std::string()> subject_token;
    /// Its type (RFC 8693 §3).
    std::string subject_token_type = token_types::access_token;
    /// For delegation: the actor token, sent with actor_token_type when set.
    std::function<std::string()> actor_token;
    std::string actor_token_type;  ///< Needed with actor_token.
    /// Sent as `requested_token_type` when not empty. With a type other than an access
    /// token, a token of token_type `N_A` is accepted: it is never attached to a request.
    std::string requested_token_type;
    /// For grant_type::jwt_bearer: the assertion, called for every request
    /// (jwt_bearer_assertion() signs a new one each time; assertion_from_file() reads
    /// one a platform issued).
    std::function<std::string()> grant_assertion;

    /// When set, called for every token, introspection and revocation request and every
    /// authorized_client call (once per call, for its retries and redirects too); its
    /// value, when it is a W3C Trace Context `traceparent` (version 00), is sent as the
    /// `traceparent` header. A throw, an empty or a malformed value sends none: tracing
    /// never fails a request.
    std::function<std::string()> traceparent;
    /// When set, starts a span for every token acquisition and HTTP attempt (see tracer).
    std::shared_ptr<oauth2cc::tracer> tracer;
};

/// @brief A source for client_assertion, subject_token, actor_token or grant_assertion
/// that reads a file a platform writes and rotates (a Kubernetes projected
/// service-account token, an Azure or GCP workload identity token). The file is read on
/// the first call and again whenever it has changed (its inode, size, modification or
/// change time), so a call costs one stat() while it stays the same. White space around
/// the content is dropped.
/// @returns a function that throws error `config` naming the file (never its content)
///          when the file cannot be read or is empty
std::function<std::string()> assertion_from_file(std::string path);

/// @brief A grant_assertion source that signs a new JWT for every call (RFC 7523 §2.1,
/// §3): header `alg` (of key), `typ` `JWT`, `kid` when key has one; claims `iss`, `sub`,
/// `aud`, `iat`, `exp` = iat + lifetime, a new `jti` of 128 random bits, then the members of
/// extra_claims (an object, or null for none).
/// @throws error `config` when issuer, subject or audience is empty or holds control
///         characters, lifetime is not from 1 second to 1 hour, or extra_claims is not an
///         object or names one of the six claims above
std::function<std::string()> jwt_bearer_assertion(
    signing_key key, std::string issuer, std::string subject, std::string audience,
    std::chrono::seconds lifetime = std::chrono::seconds(60),
    nlohmann::json extra_claims = nlohmann::json());

/// @brief The request parameters of one token: a token_manager holds one token per
/// distinct token_params. In a request made for a token_params its four fields replace
/// the config's; an empty field sends none. Two token_params that differ only in the order
/// of their scopes, resources or extra parameters ask for the same token.
struct token_params {
    std::vector<std::string> scopes;     ///< Sent space-joined as `scope`.
    std::string audience;                ///< Sent as `audience` when not empty.
    std::vector<std::string> resources;  ///< RFC 8707 `resource`, one parameter each.
    std::vector<std::pair<std::string, std::string>> extra_params;  ///< Sent in order.
};

/// @brief The config's own token_params, so that one field can be changed:
/// `auto p = params_of(cfg); p.audience = "https://api.example.com";`.
token_params params_of(const client_config& cfg);

/// @brief True when a and b ask for the same token: the same scopes, resources and extra
/// parameters in any order, the same audience (as a token store's key sees them).
bool operator==(const token_params& a, const token_params& b);
/// @brief Not a == b.
bool operator!=(const token_params& a, const token_params& b);

}  // namespace oauth2cc

// ---- oauth2cc/http.hpp ----

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief Name-value pairs: request headers, or query parameters.
using name_value_list = std::vector<std::pair<std::string, std::string>>;

/// @brief An HTTP request as oauth2cc hands it to a transport.
struct http_request {
    std::string method;  ///< "GET", "POST", ...
    std::string url;     ///< Absolute: scheme, host, optional port, path and query.
    std::vector<std::pair<std::string, std::string>> headers;  ///< Name-value, in order.
    std::string body;  ///< The body as sent; empty for none.
};

/// @brief An HTTP response as a transport hands it back.
struct http_response {
    int status = 0;                                            ///< The HTTP status code.
    std::vector<std::pair<std::string, std::string>> headers;  ///< Name-value, in order.
    std::string body;                                          ///< The body, decompressed.

    /// @brief The first header of that name, compared case-insensitively.
    std::optional<std::string> header(std::string_view name) const;
};

}  // namespace oauth2cc

// ---- oauth2cc/token_manager.hpp ----

// ---- oauth2cc/clock.hpp ----

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace oauth2cc {

/// @brief Where token_manager reads the time. The default is std::chrono::steady_clock,
/// so wall-clock jumps change nothing; tests inject a manual_clock.
class clock_source {
public:
    using time_point = std::chrono::steady_clock::time_point;  ///< steady_clock's
    using duration = std::chrono::steady_clock::duration;      ///< steady_clock's

    virtual ~clock_source() = default;

    /// @brief The current time.
    virtual time_point now() const = 0;

    /// @brief True when only explicit calls move this clock: a wait then ends when the
    /// clock says it has moved (see subscribe), not when real time passes.
    virtual bool is_manual() const noexcept { return false; }

    /// @brief Calls moved() after each explicit move of a manual clock.
    /// @returns an id for unsubscribe
    virtual std::uint64_t subscribe(std::function<void()> moved) {
        (void)moved;
        return 0;
    }

    /// @brief Stops the calls of a subscription; once it returns, none is running.
    virtual void unsubscribe(std::uint64_t id) { (void)id; }

protected:
    clock_source() = default;                                ///< For derived classes.
    clock_source(const clock_source&) = default;             ///< For derived classes.
    clock_source& operator=(const clock_source&) = default;  ///< For derived classes.
};

/// @brief std::chrono::steady_clock as a clock_source.
class steady_clock_source final : public clock_source {
public:
    time_point now() const override { return std::chrono::steady_clock::now(); }
};

/// @brief A clock that stands still until advance() or set() moves it. Thread-safe.
class manual_clock final : public clock_source {
public:
    /// @param start the time it shows first; an hour past the epoch by default, so that
    ///        times before it exist
    explicit manual_clock(time_point start = time_point(std::chrono::hours(1)));

    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that includes this header but makes none emits no vtable and
    // no code. In compiled mode they are the library's, with its vtable.
    OAUTH2CC_INLINE time_point now() const override;
    bool is_manual() const noexcept override { return true; }
    OAUTH2CC_INLINE std::uint64_t subscribe(std::function<void()> moved) override;
    OAUTH2CC_INLINE void unsubscribe(std::uint64_t id) override;

    /// @brief Moves the clock forward by by, then tells every subscriber.
    void advance(duration by);
    /// @brief Moves the clock to to (never backwards), then tells every subscriber.
    void set(time_point to);

private:
    void moved();

    mutable std::mutex mutex_;
    time_point now_;
    // Held while subscribers run, so that unsubscribe() waits for a running call.
    std::mutex calling_;
    std::map<std::uint64_t, std::function<void()>> subscribers_;
    std::uint64_t last_id_ = 0;
};

}  // namespace oauth2cc

// ---- oauth2cc/token.hpp ----

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace oauth2cc {

/// @brief An access token from a successful token response.
/// @sa RFC 6749 §5.1
struct token {
    secret access_token;  ///< The token itself; never in a message or a log line.
    /// "Bearer" (RFC 6750), or "DPoP" (RFC 9449) when client_config::dpop_key is set and
    /// the server bound the token to it, or "N_A" (RFC 8693 §2.2.1) for an exchanged token
    /// that is not an access token, when one was requested: such a token is never attached
    /// to a request. Other types are refused.
    std::string token_type;
    /// The type of the token issued, an RFC 8693 §3 identifier: required in the answer to a
    /// token exchange, kept from any grant whose server sends it, else empty.
    std::string issued_token_type;
    /// The granted scope: the server's `scope`, or the requested scope when it sent none.
    std::string scope;
    /// The lifetime the server gave; empty when it sent no `expires_in`.
    std::optional<std::chrono::seconds> expires_in;
    /// When the response arrived, on the clock that measures expiry.
    std::chrono::steady_clock::time_point obtained_at{};
    /// Every other member of the response, as the server sent it, but for the credentials
    /// a response may carry (`refresh_token`, `id_token`), which are wiped, never kept.
    nlohmann::json extra = nlohmann::json(nlohmann::json::value_t::object);

    /// @brief obtained_at + expires_in; empty when the lifetime is unknown.
    std::optional<std::chrono::steady_clock::time_point> expires_at() const {
        if (!expires_in) return std::nullopt;
        return obtained_at + *expires_in;
    }
};

}  // namespace oauth2cc
// ---- oauth2cc/token_store.hpp ----

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

// ---- oauth2cc/transport.hpp ----

namespace oauth2cc {

/// @brief Sends HTTP requests. httplib_transport is the default; tests and users with
/// their own HTTP stack supply others.
class transport {
public:
    virtual ~transport() = default;

    /// @brief Sends one request and returns the response, whatever its status. Never
    /// follows a redirect.
    /// @throws error of kind `transport` or `tls` when no response arrives;
    ///         `bad_response` when one arrives that no protocol allows (a body over the
    ///         size cap)
    virtual http_response send(const http_request& request) = 0;

protected:
    transport() = default;                             ///< For derived classes.
    transport(const transport&) = default;             ///< For derived classes.
    transport& operator=(const transport&) = default;  ///< For derived classes.
};

}  // namespace oauth2cc

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc {

namespace detail {
class manager_core;
struct current_subject;
}  // namespace detail

/// @brief When token_manager refreshes and how it retries.
struct refresh_policy {
    /// Refresh at least this long before expiry...
    std::chrono::seconds early{60};
    /// ...or this fraction of the lifetime before it, whichever is more; never more than
    /// half the lifetime: lead = min(max(early, early_fraction * lifetime), lifetime / 2).
    double early_fraction = 0.1;
    /// The lifetime of a token whose response had no `expires_in`.
    std::chrono::seconds lifetime_if_unknown{300};
    /// The ceiling of the first backoff after a failure; it doubles per failure...
    std::chrono::milliseconds retry_initial{1000};
    /// ...up to this, which is also the wait after failures that retrying cannot cure.
    std::chrono::milliseconds retry_max{60000};
    /// Seeds the backoff jitter; 0 seeds it from std::random_device.
    std::uint64_t jitter_seed = 0;
    /// The most tokens (entries) a manager holds, the config's own counted; beyond it the
    /// least recently read entry is dropped, the config's own never.
    std::size_t max_entries = 1000;
    /// An entry not read for this long is not refreshed in the background and is dropped
    /// soon after; the config's own never.
    std::chrono::seconds idle_after{3600};
    /// The most new entries a manager makes per second (and at once): beyond it get(params)
    /// for new parameters is refused (a `config` error, counted in
    /// manager_stats::entries_refused), so that callers who choose audiences cannot flood
    /// the authorization server with requests. 0: no bound.
    std::size_t new_entries_per_second = 100;
    /// Each token's refresh point is drawn between `expiry - lead` and
    /// `expiry - (1 - refresh_jitter) * lead`, so that tokens issued together, in one
    /// process or across a fleet, are not refreshed together. In [0, 1].
    double refresh_jitter = 0.2;
};

/// @brief How much a log line matters.
enum class log_level { debug, info, warning, error };

/// @brief The name of a log level: "debug", "info", "warning", "error".
std::string_view to_string(log_level level) noexcept;

/// @brief Counters of a token_manager since it was made, for a metrics system.
struct manager_stats {
    std::uint64_t fetches = 0;         ///< Token requests made.
    std::uint64_t successes = 0;       ///< Requests that gave a token.
    std::uint64_t failures = 0;        ///< Requests that failed.
    std::uint64_t retries = 0;         ///< Requests made after a failure.
    std::uint64_t cache_hits = 0;      ///< get() calls answered from the cached token.
    std::uint64_t waits = 0;           ///< get() calls that waited for a request.
    std::uint64_t fast_failures = 0;   ///< get() calls given the last error during backoff.
    std::uint64_t store_loads = 0;     ///< Tokens taken from the token store, not requested.
    std::uint64_t store_failures = 0;  ///< Token store operations that failed.
    /// The error of the most recent failed request, if any request has failed.
    std::optional<error> last_error;
    /// Failures since the last success.
    std::uint64_t consecutive_failures = 0;
    /// True while a token request (or a look at the token store) is under way.
    bool in_flight = false;
    /// When the next request may be made, while backing off after a failure.
    std::optional<std::chrono::steady_clock::time_point> next_attempt;
    /// Tokens held now: one per token_params asked for, the config's own included.
    std::size_t entries = 0;
    /// Entries dropped: beyond max_entries, or idle for idle_after.
    std::uint64_t evictions = 0;
    /// New entries refused beyond refresh_policy::new_entries_per_second.
    std::uint64_t entries_refused = 0;
};

/// @brief What get_async() hands its callback: the token, or the error of the request
/// that was to give it.
struct token_result {
    std::shared_ptr<const token> tok;  ///< null when the request failed
    std::optional<error> failure;      ///< set when the request failed
    /// @brief True when there is a token.
    explicit operator bool() const noexcept { return tok != nullptr; }
};

/// @brief Holds client-credentials tokens for many threads and keeps them fresh: the
/// config's own, and one per token_params asked for (an audience, a resource, a scope set
/// per API), each an entry with its own single flight, lead, backoff, cache key and store
/// entry.
///
/// - A get() while the config's own token is fresh is answered from a per-thread copy: no
///   lock, no shared write. So is a keyed get(params), from the thread's copy of that
///   entry, found by its parameters (a thread keeps copies of at most 128 entries of a
///   manager; beyond that it starts over).
/// - From the refresh point on, every caller still gets the valid token at once while
///   exactly one refresh runs off the callers' threads, on the process's workers.
/// - Token requests of every manager run on one bounded pool of workers (see
///   set_refresh_workers), background refreshes are started by one refresher thread, and
///   every exchange's deadline is kept by one watchdog: no thread per manager or entry.
/// - With no valid token, callers wait for one shared request and all see its token or
///   its error.
/// - A failed request is retried with exponential backoff and full jitter, never
///   sooner than Retry-After; between attempts callers get the last error at once.
///
/// A config of grant_type::token_exchange (and of grant_type::jwt_bearer with an assertion
/// made elsewhere, whose `iss` and `sub` only the assertion tells) follows its subject:
/// every get() calls the subject source (and the actor source) and serves a token
/// exchanged for what they give now. Each subject is an entry of its own, keyed by the
/// SHA-256 of its tokens and bounded like keyed entries (max_entries, idle_after); its
/// requests send the subject it was made for, from whatever thread.
///
/// Every member function is thread-safe. Destruction waits for a request in progress,
/// which the transport's timeouts bound.
class token_manager {
public:
    /// @param cfg    what to ask for, where, and how to authenticate
    /// @param policy when to refresh and how to retry
    /// @param via    the transport; null makes an httplib_transport from cfg
    /// @param clock  the clock expiry runs on; null means std::chrono::steady_clock
    /// @throws error `config` when cfg or policy is unusable
    explicit token_manager(client_config cfg, refresh_policy policy = {},
                           std::shared_ptr<transport> via = nullptr,
                           std::shared_ptr<clock_source> clock = nullptr);
    ~token_manager();
    token_manager(const token_manager&) = delete;
    token_manager& operator=(const token_manager&) = delete;

    /// @brief A valid token, from the cache or from one shared request.
    /// @throws error the error of the request this call waited for, or the last error
    ///         while backing off
    std::shared_ptr<const token> get();

    /// @brief As get(), waiting at most max_wait for a request; a year or more waits
    /// as long as get() does.
    /// @throws error of kind `transport` when no token arrives within max_wait
    std::shared_ptr<const token> get(std::chrono::milliseconds max_wait);

    /// @brief The valid token at once, or null: never waits for a token request, never
    /// throws. With no valid token it starts a request (unless one is under way, or a
    /// failed one's backoff has not ended), so that a later try_get() finds its token;
    /// stats().last_error tells why there is none after a failure. For event loops,
    /// with get_async() to learn when the token is there.
    std::shared_ptr<const token> try_get() noexcept;

    /// @brief Hands a valid token, or the error of the request that was to give it, to
    /// done, never waiting for a request on this thread. With a valid token (or the last
    /// error while backing off), done runs here at once; otherwise a request starts (or
    /// the one under way is joined) and done runs on the thread that made it (a worker, or
    /// the background thread) once it ends, outside every lock, before the next request.
    /// An event loop posts the result to itself from there (asio::post, say). done may call
    /// this manager as a logger may (get() there never waits); an exception it throws is
    /// swallowed. Every done given is called exactly once, at the latest by the destructor.
    /// @param done called with the token or the error
    void get_async(std::function<void(token_result)> done);

    /// @brief "Bearer <token>" for an Authorization header (RFC 6750 §2.1).
    /// @throws error as get() does; `config` when the token is DPoP-bound, since each
    ///         request then needs its own proof: use request_headers()
    std::string authorization_header();

    /// @brief The headers one resource request needs: `Authorization: Bearer <token>`,
    /// or for a DPoP-bound token `Authorization: DPoP <token>` and a new `DPoP` proof for
    /// this method and URL, with `ath` and the latest nonce the URL's origin gave (RFC
    /// 9449 §7). Send them with that request only; a proof is good for one request.
    /// @param method the request's method, e.g. "GET"
    /// @param url    the request's absolute URL; its query and fragment are not signed
    /// @throws error as get() does; `config` for a DPoP-bound token and a URL that is not
    ///         an absolute http(s) URL
    name_value_list request_headers(std::string_view method, std::string_view url);

    /// @brief Keeps a nonce a resource server gave in its `DPoP-Nonce` header (with a 401
    /// `use_dpop_nonce`, or any other response), so that request_headers() puts it in
    /// the next proofs for that URL's origin (RFC 9449 §9). authorized_client does this
    /// itself; callers with their own HTTP client call it. A value that is not a nonce
    /// is ignored.
    /// @returns true when the nonce is new for that origin: a request refused with
    ///          `use_dpop_nonce` is then worth one more try
    bool set_dpop_nonce(std::string_view url, std::string_view nonce);

    /// @brief Drops the cached token, but only if it is still seen (any token when null),
    /// so that many callers refused with one token make one new request.
    ///
    /// The rejection guard: when two tokens in a row are dropped before any call
    /// succeeded with them (authorized_client reports its successes), each within
    /// retry_max of its issue, the API rejects every token. The second one is then kept
    /// for a backoff (exponential with jitter, from retry_initial to retry_max): get()
    /// serves it, invalidate() leaves it, and no token request is made until the backoff
    /// ends; nothing is thrown, and a warning is logged. A token that a call had
    /// succeeded with is never evidence: its rejection (a revocation, a rotated key)
    /// gets a new token at once.
    void invalidate(const token* seen = nullptr);

    /// @brief The token of params: as get(), for the entry of params (made on first use;
    /// params_of(config) is the config's own). Entries never serve each other's tokens.
    /// @throws error as get(); `config` when params cannot be asked for
    std::shared_ptr<const token> get(const token_params& params);
    /// @brief As get(params), waiting at most max_wait (see get(max_wait)).
    std::shared_ptr<const token> get(const token_params& params,
                                     std::chrono::milliseconds max_wait);
    /// @brief As try_get(), for the entry of params.
    std::shared_ptr<const token> try_get(const token_params& params) noexcept;
    /// @brief As get_async(), for the entry of params.
    void get_async(const token_params& params, std::function<void(token_result)> done);
    /// @brief As request_headers(), with the token of params.
    name_value_list request_headers(const token_params& params, std::string_view method,
                                    std::string_view url);
    /// @brief As invalidate(), for the entry of params (nothing when there is none).
    void invalidate(const token_params& params, const token* seen = nullptr);

    /// @brief Revokes every token the manager holds (RFC 7009, see oauth2cc::revoke(); the
    /// endpoint is found once), and drops each from the cache and the store whether the
    /// server took the revocation or not: the next get() asks for a new token. For a
    /// job that is done with its tokens, before it exits.
    /// @throws error the first failure, once every token was tried (`config` when there
    ///         is no revocation endpoint: then nothing is dropped)
    void revoke();

    /// @brief The headers one resource request needs with tok, a token this manager gave:
    /// as request_headers(), without getting a token (for a caller that keeps the one it
    /// sent, as authorized_client does).
    name_value_list headers_for(const token& tok, std::string_view method, std::string_view url);

    /// @brief Reports that a call succeeded with tok, a token this manager gave for
    /// params: its rejection later is taken for a revocation, not for an API that rejects
    /// every token (see invalidate()). authorized_client calls it.
    void note_accepted(const token_params& params, const token& tok) noexcept;
    /// @brief As above, for the config's own token.
    void note_accepted(const token& tok) noexcept;

    /// @brief The tokens held now: one per token_params asked for, the config's own
    /// included (see refresh_policy::max_entries and idle_after).
    std::size_t entries() const;

    /// @brief The configuration the manager was made with.
    const client_config& config() const noexcept;

    /// @brief The observer set with set_observer(), if any.
    std::shared_ptr<metrics_observer> observer() const;

    /// @brief Refreshes every entry at its refresh point, on the process's refresher, so
    /// callers never wait once the first token is there; an entry (other than the
    /// config's own) not read for idle_after is dropped instead. Idempotent.
    /// @throws error `transport` when the refresher thread cannot be started
    void start_background_refresh();

    /// @brief Ends background refreshing and waits for the requests in progress. get()
    /// still works afterwards, refreshing on demand.
    /// @throws error `config` when called from this manager's logger
    void stop();

    /// @brief Counters since construction, summed over the entries (those dropped
    /// included), with the number of entries and evictions.
    manager_stats stats() const;

    /// @brief The most workers that run token requests at once, for every manager of the
    /// process (1 to 256; default 4). Background refreshes and the fetches that callers
    /// start both run on them; a request beyond them waits for one to be free.
    static void set_refresh_workers(std::size_t count);

    /// @brief Receives log lines: client id, endpoint host, HTTP status and timings, never
    /// a secret or a token. Called on the worker that made the request, after the
    /// request is over and outside every lock; the next request for the same token (the
    /// same entry) waits until it returns, so it should be quick.
    ///
    /// A logger may call this manager's methods. get() there, for any entry, never starts
    /// or waits for a request: it returns a valid token or throws the last error at once.
    /// stop() there throws a `config` error, since it would wait for the logger's request.
    /// A logger must not destroy the manager; an exception it throws is swallowed.
    void set_logger(std::function<void(log_level, std::string_view)> logger);

    /// @brief Reports token requests (outcome, latency), waits, store operations, and the
    /// retries of authorized_client (401, DPoP nonce) to observer, e.g. a
    /// prometheus_exporter shared by every manager of a process; see metrics_observer.
    /// The observer is attached at once (on_attach()) and detached when another is set
    /// or the manager is destroyed. A cached get() costs the same with an observer. Null
    /// detaches the current one.
    /// @param observer shared by any number of managers and threads
    void set_observer(std::shared_ptr<metrics_observer> observer);

    /// @brief The key of everything that shapes this manager's tokens (no secret). For a
    /// config that follows its subject (token exchange, or a JWT bearer assertion made
    /// elsewhere) it is the key without the subject: each subject's entry appends its own.
    const std::string& cache_key() const noexcept;

    /// @brief Keeps tokens in store too, under store_key(cache_key()), so that other
    /// processes (the next run of a cron job, say) reuse them. Before a request, the
    /// manager loads the stored token and takes it if it is not yet within the refresh
    /// lead, applied to the stored lifetime; otherwise it takes the store's lock, looks
    /// again, requests a token, and saves it. invalidate() also removes the stored token
    /// if it is the one dropped. A failed save is logged and the token is still served;
    /// a store that refuses to load (e.g. a file others may read) fails the request with
    /// its `config` error. A store that cannot be reached (it throws an error of kind
    /// `transport`, e.g. Redis down) fails no caller: the manager requests for itself,
    /// counts each failure in stats().store_failures, logs the first of an outage and the
    /// store's return, and uses the store again as soon as it answers. Null stops using a
    /// store.
    /// @param store shared by any number of managers and threads
    void set_store(std::shared_ptr<token_store> store);

    /// @brief The refresh lead for a token of this lifetime under policy.
    static std::chrono::steady_clock::duration lead_for(
        std::chrono::steady_clock::duration lifetime, const refresh_policy& policy);

private:
    // The subject key of the entry this thread reads, for a manager that follows its
    // subject: the one it was served last, else (unless seen_only) the current one.
    std::string_view seen_subject(bool seen_only);
    // The current subject of the calling thread, for a manager that follows its subject;
    // else null.
    const detail::current_subject* subject_of_caller();

    std::shared_ptr<detail::manager_core> core_;
};

/// @brief A subject_token (or actor_token) source that hands over m's current access
/// token, for two hops: one manager's token exchanged by another's. Each call is m.get(),
/// from m's cache; when m refreshes its token, the exchanging manager sees a new subject
/// and exchanges it anew. m must outlive every manager that uses the source.
/// @throws error (when called) as m.get() does
std::function<std::string()> subject_token_of(token_manager& m);
/// @brief As subject_token_of(m), of m's token for params (m.get(params)).
std::function<std::string()> subject_token_of(token_manager& m, token_params params);

}  // namespace oauth2cc

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief How an authorized_client reaches its API: connection_options, with room for
/// larger API responses (16 MiB) and more idle connections (8), and redirects.
struct client_options : connection_options {
    /// The defaults of connection_options, but for the response cap and idle connections.
    client_options() {
        max_response_bytes = 16 * 1024 * 1024;
        max_idle_connections = 8;
    }
    /// Off by default. When on, the token goes only to the base URL's origin: a
    /// redirect elsewhere is followed without it and without any caller header that
    /// could be a credential (only Accept*, Content-Type, Content-Language, User-Agent,
    /// Cache-Control and Pragma go along); a 307 or 308 elsewhere that would carry a
    /// body is not followed, and comes back to the caller.
    bool follow_redirects = false;
    int max_redirects = 5;  ///< Redirects followed per call, at most.
    /// The token this client sends: the manager's entry of these parameters, so that one
    /// manager serves an authorized_client per API audience or resource. Unset: the
    /// config's own.
    std::optional<token_params> params;
    /// Off by default. When on, a 403 `insufficient_scope` whose challenge names a `scope`
    /// (RFC 6750 §3.1) is answered once per call with a token for this client's own scopes
    /// (those of `params`, else the config's) plus the scopes the challenge named. The API
    /// chooses what is added, within step_up_scopes: the client keeps its own scopes plus
    /// those of the last challenge it answered (a new challenge replaces that widening,
    /// never adds to it), and only once a token for them was had. A challenge that names
    /// no scope, or none this client may add and does not already send, and a wider token
    /// that cannot be had, leave the 403 as it came.
    bool step_up_scope = false;
    /// The scopes a step-up may add. Empty: any scope the API's challenge names.
    std::set<std::string> step_up_scopes;
};

/// @brief The path with params appended as a percent-encoded query: A-Z a-z 0-9 - . _ ~
/// as they are, a space as %20, every other byte as %XX, so that a server reads each value
/// back exactly, whether it decodes the query as a form or by RFC 3986.
std::string with_query(std::string_view path, const name_value_list& params);

/// @brief Calls an API with `Authorization: Bearer <token>` from a token_manager.
///
/// On a 401 whose WWW-Authenticate names `invalid_token` or no error, it invalidates the
/// token it sent and repeats the call once with a new one; never more. While the
/// manager's rejection guard keeps the token (see token_manager::invalidate), the 401
/// comes back as it came, with no new token. Any other 401 or 403 comes back as it came
/// (see find_bearer_challenge for its parameters), but for the step-up of scope that
/// client_options::step_up_scope turns on. A call that succeeds tells the manager, so
/// that a later rejection of that token is taken for a revocation.
///
/// Thread-safe: share one between threads. Calls run in parallel, each on a kept-alive
/// connection of its own taken from a pool.
class authorized_client {
public:
    /// @param base_url an http(s) URL, optionally with a path prefix; no query or fragment
    /// @param tokens   where tokens come from; must outlive this client
    /// @param options  timeouts, TLS, redirects
    /// @param via      the transport; null makes an httplib_transport from options
    /// @throws error `config` for a base URL that is malformed or plain http:// to a
    ///         host that is not loopback (unless allowed)
    authorized_client(std::string base_url, token_manager& tokens, client_options options = {},
                      std::shared_ptr<transport> via = nullptr);

    /// @brief GET base_url + path.
    http_response get(std::string_view path, const name_value_list& headers = {});
    /// @brief DELETE base_url + path.
    http_response del(std::string_view path, const name_value_list& headers = {});
    /// @brief POST a body of content_type to base_url + path.
    http_response post(std::string_view path, std::string_view body,
                       std::string_view content_type = "application/json",
                       const name_value_list& headers = {});
    /// @brief PUT a body of content_type to base_url + path.
    http_response put(std::string_view path, std::string_view body,
                      std::string_view content_type = "application/json",
                      const name_value_list& headers = {});
    /// @brief PATCH a body of content_type to base_url + path.
    http_response patch(std::string_view path, std::string_view body,
                        std::string_view content_type = "application/json",
                        const name_value_list& headers = {});

    /// @brief Any method. path starts with '/' and may carry a query (see with_query).
    /// @returns the response, whatever its status
    /// @throws error `config` for a path that is not relative to the base URL, for a
    ///         caller's own Authorization header, or for a header that frames the message
    ///         (Host, Content-Length, Transfer-Encoding, Connection, ...); the
    ///         token_manager's error when no token can be had; `transport` or `tls` when
    ///         no response arrives
    http_response send(std::string_view method, std::string_view path, std::string_view body = {},
                       std::string_view content_type = {}, const name_value_list& headers = {});

    /// @brief The base URL, without a trailing '/'.
    const std::string& base_url() const noexcept { return base_url_; }

private:
    // The steps of send(): the request checked and built; one hop sent with the token's
    // headers; a redirect followed (false: the response is the answer); one exchange with
    // the redirects it may follow.
    http_request request_for(std::string_view method, std::string_view path, std::string_view body,
                             std::string_view content_type, const name_value_list& headers) const;
    // `attempt` numbers the call's exchanges (0, then each retry) for its spans.
    http_response send_hop(http_request& req, const token& tok, bool on_origin, bool& new_nonce,
                           unsigned attempt);
    bool redirect(http_request& req, const http_response& res, bool& on_origin) const;
    http_response exchange(const http_request& base, const token& tok, bool& on_origin,
                           bool& new_nonce, unsigned attempt);
    // The parameters of the token to send now (unset: the config's own), and a token of
    // them.
    std::optional<token_params> current_params() const;
    std::shared_ptr<const token> token_of(const std::optional<token_params>& params);
    // This client's own parameters with the scopes a 403 `insufficient_scope` named (and
    // step_up_scopes allows) added, when that adds one the sent parameters lacked; else
    // unset.
    std::optional<token_params> stepped_up(const std::optional<token_params>& sent,
                                           const http_response& res, bool dpop) const;

    std::string base_url_;
    std::string origin_;
    token_manager& tokens_;
    client_options options_;
    std::shared_ptr<transport> transport_;
    std::string who_;  ///< the manager's client id, sanitised, for the observer
    mutable std::mutex params_mutex_;
    std::optional<token_params> params_;  ///< options_.params, or the last step-up's
};

}  // namespace oauth2cc

// ---- oauth2cc/config_sources.hpp ----

#include <map>
#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief A client configuration from the variables `<prefix>TOKEN_URL`, `ISSUER`,
/// `CLIENT_ID`, `CLIENT_SECRET`, `CLIENT_SECRET_FILE`, `AUTH_METHOD`, `SCOPE`
/// (space-separated), `CLIENT_KEY_FILE`, `CLIENT_KEY_ID`, `CLIENT_KEY_ALG`,
/// `CLIENT_ASSERTION_FILE`, `ASSERTION_AUDIENCE`, `CLIENT_CERT_FILE`,
/// `CLIENT_CERT_KEY_FILE`, `DPOP` (1: a new key for this process), `DPOP_KEY_FILE`,
/// `AUDIENCE`, `RESOURCE` (space-separated), `CA_FILE`, `REVOCATION_URL`, and the grant's:
/// `GRANT`, `SUBJECT_TOKEN_FILE`, `SUBJECT_TOKEN_TYPE`, `ACTOR_TOKEN_FILE`,
/// `ACTOR_TOKEN_TYPE`, `REQUESTED_TOKEN_TYPE`, `ASSERTION_FILE`, `GRANT_KEY_FILE`,
/// `GRANT_KEY_ID`, `ASSERTION_SUBJECT`. An empty variable is one not set; other variables
/// are ignored. A secret file is named, not read: client_config::client_secret_file.
/// @throws error `config` naming the variable (never a secret's value) when a value is
///         bad, a file it names cannot be read, a needed one is missing (the token URL
///         or issuer, the client id, a secret for the secret methods), or settings
///         contradict each other
client_config config_from_environment(std::string_view prefix = "OAUTH2_");

/// @brief A client configuration from a JSON object whose members are the variables of
/// config_from_environment() without the prefix, in lower case (`token_url`,
/// `client_id`, `client_secret_file`, `scope`, ...), every value a string:
/// `{"token_url": "https://...", "client_id": "reports", "scope": "read write"}`.
/// @throws error `config` naming the file and the member when the file cannot be read or
///         is not such an object, a member is unknown or not a string, or as
///         config_from_environment() does
client_config config_from_file(const std::string& path);

/// @brief A client configuration from settings by the names of config_from_file()'s
/// members (empty values are settings not given), for a program that gathers them its
/// own way (command-line options, its own configuration file).
/// @throws error `config` naming the setting, as config_from_file() does
client_config config_from_settings(const std::map<std::string, std::string>& settings);

}  // namespace oauth2cc

// ---- oauth2cc/discovery.hpp ----

// ---- oauth2cc/server_metadata.hpp ----

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace oauth2cc {

/// @brief What an authorization server publishes about itself. Absent members are empty.
/// @sa RFC 8414 §2, OpenID Connect Discovery 1.0 §3, RFC 8705 §5, RFC 9449 §5.1
struct authorization_server_metadata {
    std::string issuer;                  ///< Equal to the issuer asked for, byte for byte.
    std::string token_endpoint;          ///< Where token requests go.
    std::string introspection_endpoint;  ///< RFC 7662.
    std::string revocation_endpoint;     ///< RFC 7009.
    std::string jwks_uri;                ///< The server's signing keys.
    /// The client authentication methods its token endpoint takes. RFC 8414 §2: when the
    /// document names none, client_secret_basic is meant, and that is what this holds.
    std::vector<std::string> token_endpoint_auth_methods_supported;
    /// The JWS algorithms it takes for client_secret_jwt and private_key_jwt assertions.
    std::vector<std::string> token_endpoint_auth_signing_alg_values_supported;
    std::vector<std::string> dpop_signing_alg_values_supported;  ///< RFC 9449 §5.1.
    std::vector<std::string> grant_types_supported;  ///< Empty when the document names none.
    std::vector<std::string> scopes_supported;       ///< Empty when the document names none.
    /// RFC 8705 §5: the endpoints to use with a client certificate, by name.
    std::map<std::string, std::string> mtls_endpoint_aliases;
    nlohmann::json document;  ///< The whole document, for members not named here.
};

}  // namespace oauth2cc

namespace oauth2cc {

/// @brief Reads cfg.issuer's metadata: the RFC 8414 well-known URL first
/// (`/.well-known/oauth-authorization-server` inserted before the issuer's path), then
/// OpenID Connect's (`/.well-known/openid-configuration` appended). The connection
/// rules of token requests apply (plain http only to loopback, TLS, timeouts, size cap).
/// @throws error `config` when cfg.issuer is not an https URL without query and
///         fragment, or the document's `issuer` is not cfg.issuer exactly (RFC 8414
///         §3.3); `transport`, `tls`, `http_status` or `bad_response` when neither URL
///         gives a metadata document
authorization_server_metadata discover(const client_config& cfg);

/// @brief discover(cfg) through the given transport.
authorization_server_metadata discover(const client_config& cfg, transport& via);

}  // namespace oauth2cc

// ---- oauth2cc/file_token_store.hpp ----

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#if !defined(_WIN32)

namespace oauth2cc {

namespace detail {
class sealer;
}  // namespace detail

/// @brief Where a file_token_store keeps its files and how long it waits for its lock.
struct file_token_store_options {
    /// The directory; empty means file_token_store::default_directory(). Missing
    /// directories are made with mode 0700.
    std::string directory;
    /// How long lock() waits for another process's request before going on without it.
    std::chrono::milliseconds lock_wait{30000};
    /// When set (16 bytes or more; 32 random bytes are best), files hold the token sealed:
    /// AES-256-GCM under a key derived from this one by HKDF-SHA256, with the store key as
    /// associated data. A file that does not open under it is ignored, and replaced.
    /// A key given empty (secret::has_value() with no bytes: an empty key file, say) is a
    /// `config` error, never "no sealing".
    secret sealing_key;
};

/// @brief A token_store in one directory of private files (POSIX).
///
/// - The directory must be owned by this user with mode 0700 (no access for group or
///   others), and every file in it by this user with mode 0600; anything else is refused
///   with an error of kind `config` that names the path and the fix.
/// - Each key has `KEY.json`, replaced atomically (temporary file, fsync, rename, fsync of
///   the directory), and `KEY.lock`, which lock() holds with flock(2): the lock dies with
///   its process, so a crash never leaves it held.
/// - A file that is not a whole token file (truncated, corrupt) is ignored, and replaced
///   by the next save(). Temporary files of processes that died before their rename are
///   removed when a store opens the directory.
/// - Only what a token response gave is written: never the client secret. With
///   file_token_store_options::sealing_key, not even that in clear.
class file_token_store final : public token_store {
public:
    /// @brief Opens (making it if missing) the directory and checks who may use it.
    /// @throws error `config` when it cannot be made or opened, is not a directory, is
    ///         owned by another user, or others may read, write or enter it, or when
    ///         the sealing key is shorter than 16 bytes
    explicit file_token_store(file_token_store_options options = {});
    /// @brief As above, in directory (empty: the default).
    explicit file_token_store(std::string directory);
    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that includes this header but makes none emits no vtable and
    // no code. In compiled mode they are the library's, with its vtable.
    OAUTH2CC_INLINE ~file_token_store() override;
    file_token_store(const file_token_store&) = delete;
    file_token_store& operator=(const file_token_store&) = delete;

    /// @brief `$XDG_CACHE_HOME/oauth2cc` when XDG_CACHE_HOME is an absolute path, else
    /// `$HOME/.cache/oauth2cc` (HOME from the environment, else the password database).
    /// @throws error `config` when neither gives a home directory
    static std::string default_directory();

    /// @brief The directory this store uses.
    const std::string& directory() const noexcept { return directory_; }

    OAUTH2CC_INLINE std::optional<stored_token> load(const std::string& key) override;
    OAUTH2CC_INLINE void save(const std::string& key, const stored_token& entry) override;
    OAUTH2CC_INLINE void remove(const std::string& key) override;
    OAUTH2CC_INLINE std::unique_ptr<token_store_lock> lock(const std::string& key) override;

private:
    std::string directory_;
    int directory_fd_ = -1;
    std::chrono::milliseconds lock_wait_;
    std::shared_ptr<const detail::sealer> sealer_;  // null: files in clear
};

}  // namespace oauth2cc

#endif  // !defined(_WIN32)
// ---- oauth2cc/httplib_transport.hpp ----

#include <memory>

namespace oauth2cc {

/// @brief Sends requests with cpp-httplib: HTTPS with certificate and host-name
/// verification, every timeout set, redirects never followed, bodies capped, and
/// connections kept alive and reused per origin.
///
/// Thread-safe: concurrent send() calls each use their own connection; a connection is
/// reused by the next request to the same origin once it is idle.
class httplib_transport final : public transport {
public:
    /// @brief A transport that connects as options say (a client_config is one; its
    /// allow_insecure_http and user_agent are the requests' business, not the transport's).
    /// @throws error `config` when options fail check_connection's rules, or when
    ///         tls.ca_file, tls.ca_dir or the client certificate cannot be loaded
    explicit httplib_transport(connection_options options = {});
    // Header-only, virtual functions are declared inline: then the class has no key
    // function, and a unit that includes this header but makes none emits no vtable and
    // no code. In compiled mode they are the library's, with its vtable.
    OAUTH2CC_INLINE ~httplib_transport() override;
    httplib_transport(const httplib_transport&) = delete;
    httplib_transport& operator=(const httplib_transport&) = delete;

    /// @brief Sends one request over a kept-alive connection to its origin.
    /// @throws error `tls` when the handshake or verification fails; `transport` when the
    ///         connection fails or the exchange passes its deadline; `bad_response` when
    ///         the body is over max_response_bytes; `config` for a URL or header it
    ///         cannot send
    OAUTH2CC_INLINE http_response send(const http_request& request) override;

    /// @brief The options this transport was made with.
    const connection_options& options() const noexcept;

private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace oauth2cc

// ---- oauth2cc/introspection.hpp ----

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief What an introspection endpoint says of a token.
/// @sa RFC 7662 §2.2
struct introspection_result {
    bool active = false;              ///< Whether the token is active; nothing else counts if not.
    std::string scope;                ///< Space-separated, as sent.
    std::string client_id;            ///< The client the token was issued to.
    std::string username;             ///< The resource owner who authorized it, if any.
    std::string token_type;           ///< As the token response gave it.
    std::string sub;                  ///< The token's subject.
    std::string iss;                  ///< The token's issuer.
    std::optional<std::int64_t> exp;  ///< Seconds since the epoch.
    std::optional<std::int64_t> iat;  ///< Issued at, seconds since the epoch.
    std::optional<std::int64_t> nbf;  ///< Not before, seconds since the epoch.
    nlohmann::json raw;               ///< The whole response object, `aud` included.

    /// @brief True when the token is active and its scope holds this scope-token.
    bool has_scope(std::string_view scope_token) const;
};

/// @brief Introspects a token, authenticating as the client of cfg (its auth method,
/// credentials, TLS options and timeouts; cfg.token_endpoint is not used).
/// @param cfg          the resource server's own client configuration
/// @param endpoint     the introspection endpoint URL; the plain-http rule of cfg applies
/// @param access_token the token to ask about; it appears in no error message
/// @param via          the transport
/// @throws error `config`, `transport`, `tls`, `oauth`, `http_status` or `bad_response`,
///         as request_token does
/// @sa RFC 7662 §2.1
introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                std::string_view access_token, transport& via);

/// @brief As above, over a new httplib_transport.
introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                std::string_view access_token);

}  // namespace oauth2cc

// ---- oauth2cc/proxy.hpp ----

#include <string>
#include <string_view>

namespace oauth2cc {

/// @brief The proxy that curl would use for url, from the environment; empty for none.
///
/// For https:// URLs `https_proxy`, else `HTTPS_PROXY`; for http:// URLs `http_proxy`
/// only (curl ignores `HTTP_PROXY` in upper case: a CGI program receives it from a
/// request's Proxy header); then `all_proxy`, else `ALL_PROXY`. `no_proxy`, else
/// `NO_PROXY`, exempts hosts: `*` all of them; each comma-separated entry a host and the
/// hosts under it (`example.com` and `.example.com` both cover `api.example.com`), an IP
/// address, or a range such as `10.0.0.0/8`. Put what it returns in
/// connection_options::proxy (of a client_config, client_options or transport).
/// @param url the URL a request goes to
std::string proxy_from_environment(std::string_view url);

}  // namespace oauth2cc

// ---- oauth2cc/revocation.hpp ----

#include <string_view>

namespace oauth2cc {

/// @brief Revokes a token (RFC 7009 §2.1), authenticating as the client of cfg as a token
/// request does (every auth method; a client_secret_file is read as for tokens). The
/// endpoint is cfg.revocation_endpoint, else the `revocation_endpoint` of cfg.issuer's
/// metadata. A token the server does not know, or that has expired, is revoked already:
/// the server says 200 (RFC 7009 §2.2) and so this returns.
/// @param token            the token; it appears in no error message
/// @param token_type_hint  sent as `token_type_hint` when not empty
/// @throws error `config` when there is no endpoint, the token is empty or the hint is not
///         a plain word; `oauth` for the server's error (`unsupported_token_type`,
///         `invalid_client`, ...); `transport`, `tls` or `http_status` as request_token does
/// @sa RFC 7009 §2
void revoke(const client_config& cfg, const secret& token,
            std::string_view token_type_hint = "access_token");

/// @brief As above, through the given transport.
void revoke(const client_config& cfg, const secret& token, std::string_view token_type_hint,
            transport& via);

}  // namespace oauth2cc

// ---- oauth2cc/token_client.hpp ----

#include <atomic>
#include <memory>
#include <string>

namespace oauth2cc {

namespace detail {
class request_source;
}  // namespace detail

/// @brief Makes one client-credentials token request through the given transport.
/// @param cfg  what to ask for, where, and how to authenticate
/// @param via  the transport that carries the request
/// @returns the token of a valid RFC 6749 §5.1 response
/// @throws error `config` before any request when cfg is unusable; `transport` or `tls`
///         when no response arrives; `bad_response` when the body is over
///         max_response_bytes; `oauth`, `http_status` or `bad_response` as the response says
/// @sa RFC 6749 §4.4
token request_token(const client_config& cfg, transport& via);

/// @brief Makes one client-credentials token request over a new httplib_transport.
/// @throws error as request_token(cfg, via) does
/// @sa RFC 6749 §4.4
token request_token(const client_config& cfg);

/// @brief Makes token requests for one client_config over one kept-alive connection.
/// No caching: every fetch() asks the server (token_manager caches and refreshes).
/// Thread-safe when its transport is; the default httplib_transport is.
class token_client {
public:
    /// @param cfg  what to ask for, where, and how to authenticate
    /// @param via  the transport; null makes an httplib_transport from cfg
    /// @throws error `config` when cfg is unusable (with an issuer and no token_endpoint,
    ///         the endpoint is discovered by the first fetch())
    explicit token_client(client_config cfg, std::shared_ptr<transport> via = nullptr);

    /// @brief Requests a new token.
    /// @throws error as request_token(cfg, via) does
    /// @sa RFC 6749 §4.4
    token fetch();

    /// @brief The configuration this client requests tokens with.
    const client_config& config() const noexcept { return cfg_; }

    /// @brief The transport its requests go through.
    const std::shared_ptr<transport>& via() const noexcept { return transport_; }

    /// @brief The `use_dpop_nonce` retries its requests have made (RFC 9449 §8).
    unsigned nonce_retries() const noexcept { return nonce_retries_.load(); }

    /// @brief The rotated credential files taken up since the first read: a new secret
    /// in client_config::client_secret_file, a new key in the file of a
    /// client_config::client_key, a replaced tls_options::client_cert_file or
    /// client_key_file (a rotation is counted once, whatever requests it serves).
    unsigned credential_rotations() const noexcept;

    /// @brief What the discovered metadata left worth a log line (a grant it does not
    /// list, requested all the same), once; then, and when there is none, empty. A
    /// token_manager logs it on its fetch's line.
    std::string take_notice();

    /// @brief True when a credential file changed since it was last read (the client
    /// secret's, the client key's, the client certificate's, an assertion_from_file()
    /// source's): a token_manager that backs off after a failure asks again at once.
    bool credentials_changed() const;

private:
    client_config cfg_;
    std::shared_ptr<transport> transport_;
    /// The request, checked and built once (again when the secret file changes);
    /// shared by copies of this client.
    std::shared_ptr<detail::request_source> source_;
    std::atomic<unsigned> nonce_retries_{0};
};

}  // namespace oauth2cc

// ---- oauth2cc/www_authenticate.hpp ----

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc {

/// @brief One challenge of a WWW-Authenticate header (RFC 9110 §11.6.1).
struct auth_challenge {
    std::string scheme;   ///< As sent, e.g. "Bearer"; compare case-insensitively.
    std::string token68;  ///< The token68 form, when the challenge has one.
    /// Parameter names lower-cased (they are case-insensitive), values unquoted.
    std::vector<std::pair<std::string, std::string>> params;

    /// @brief The value of a parameter, by its lower-case name.
    std::optional<std::string> param(std::string_view name) const;
};

/// @brief The challenges of one WWW-Authenticate field value. Malformed parts end the
/// parse; what was read before them is kept. Never throws for any input.
/// @sa RFC 9110 §11.6.1
std::vector<auth_challenge> parse_www_authenticate(std::string_view value);

/// @brief What a resource server said in its challenge for an access token: a Bearer
/// challenge (RFC 6750 §3) or a DPoP one (RFC 9449 §7.1), which carry the same parameters.
struct token_challenge {
    std::string realm;              ///< The protection space, when given.
    std::string error;              ///< "invalid_token", "insufficient_scope", ... or empty.
    std::string error_description;  ///< Text for a developer, when given.
    std::string error_uri;          ///< A page about the error, when given.
    std::string scope;              ///< The scope the resource needs, when given.
    auth_challenge raw;             ///< Every parameter, as parsed.
};

/// @brief The first Bearer challenge of a response's WWW-Authenticate headers, if any.
/// @sa RFC 6750 §3
std::optional<token_challenge> find_bearer_challenge(const http_response& response);

/// @brief The first DPoP challenge of a response's WWW-Authenticate headers, if any: its
/// `error` is e.g. "invalid_token", "invalid_dpop_proof" or "use_dpop_nonce"; its
/// `algs` are in raw.
/// @sa RFC 9449 §7.1, §9
std::optional<token_challenge> find_dpop_challenge(const http_response& response);

}  // namespace oauth2cc

#if OAUTH2CC_WITH_BODIES
// ---- oauth2cc/impl/secret_inl.hpp ----

// ---- oauth2cc/detail/text/wipe.hpp ----

#include <openssl/crypto.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief Zeroes every byte a string owns, its spare capacity included, then empties it.
inline void wipe(std::string& s) noexcept {
    // resize() up to capacity() never reallocates, and makes the whole buffer (the
    // small-string buffer too) addressable, so the cleanse reaches every byte.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

/// @brief Makes room for `need` bytes in s. When s must grow, its bytes move to a new
/// buffer and the old one is wiped before it is freed.
inline void reserve_wiping(std::string& s, std::size_t need) {
    if (s.capacity() >= need) return;
    std::string bigger;
    bigger.reserve(std::max(need, 2 * s.capacity()));
    bigger.append(s);
    wipe(s);
    s.swap(bigger);
}

/// @brief Runs a wipe when the scope ends, however it ends: `const wipe_at_exit w{[&] {
/// wipe(body); }};`. One guard for every credential a function holds for a while.
template <class Wipe>
class wipe_at_exit {
public:
    explicit wipe_at_exit(Wipe wipe_now) noexcept : wipe_(std::move(wipe_now)) {}
    wipe_at_exit(const wipe_at_exit&) = delete;
    wipe_at_exit& operator=(const wipe_at_exit&) = delete;
    ~wipe_at_exit() { wipe_(); }

private:
    Wipe wipe_;
};

/// @brief Appends bytes to s as reserve_wiping() grows it.
inline void append_wiping(std::string& s, const char* data, std::size_t size) {
    reserve_wiping(s, s.size() + size);
    s.append(data, size);
}

}  // namespace oauth2cc::detail

#include <ostream>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE secret::secret(std::string value) noexcept
    : value_(std::move(value)), given_(true) {
    // A short value lived in the argument's small-string buffer, which a move leaves as is.
    detail::wipe(value);
}

OAUTH2CC_INLINE secret::secret(const secret& other) : value_(other.value_), given_(other.given_) {}

OAUTH2CC_INLINE secret::secret(secret&& other) noexcept
    : value_(std::move(other.value_)), given_(other.given_) {
    detail::wipe(other.value_);
    other.given_ = false;
}

OAUTH2CC_INLINE secret& secret::operator=(const secret& other) {
    if (this != &other) {
        detail::wipe(value_);
        value_ = other.value_;
        given_ = other.given_;
    }
    return *this;
}

OAUTH2CC_INLINE secret& secret::operator=(secret&& other) noexcept {
    if (this != &other) {
        detail::wipe(value_);
        value_ = std::move(other.value_);
        given_ = other.given_;
        detail::wipe(other.value_);
        other.given_ = false;
    }
    return *this;
}

OAUTH2CC_INLINE secret::~secret() { detail::wipe(value_); }

OAUTH2CC_INLINE std::ostream& operator<<(std::ostream& os, const secret&) { return os << "***"; }

}  // namespace oauth2cc
// ---- oauth2cc/impl/signing_key_inl.hpp ----

// ---- oauth2cc/detail/crypto/jose.hpp ----

// ---- oauth2cc/detail/text/form.hpp ----

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The value of one hex digit, or -1.
inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// @brief Appends "%XX", upper-case hex, for one byte.
inline void append_percent_escape(std::string& out, unsigned char byte) {
    static constexpr char hex[] = "0123456789ABCDEF";
    out.push_back('%');
    out.push_back(hex[byte >> 4]);
    out.push_back(hex[byte & 0x0f]);
}

/// @brief Appends the percent-encoding of in to out: A-Z a-z 0-9 - . _ ~ stay, every
/// other byte becomes %XX with upper-case hex, and a space becomes `space` ("+" or "%20").
inline void percent_encode_append(std::string& out, std::string_view in, std::string_view space) {
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
            u == '-' || u == '.' || u == '_' || u == '~') {
            out.push_back(c);
        } else if (u == ' ') {
            out += space;
        } else {
            append_percent_escape(out, u);
        }
    }
}

/// @brief The most bytes percent_encode_append adds for n bytes (with a space of at most
/// three characters).
constexpr std::size_t percent_encoded_bound(std::size_t n) noexcept { return 3 * n; }

/// @brief Percent-encodes bytes, as percent_encode_append does.
inline std::string percent_encode(std::string_view in, std::string_view space) {
    std::string out;
    out.reserve(percent_encoded_bound(in.size()));
    percent_encode_append(out, in, space);
    return out;
}

/// @brief Form-encodes one name or value: A-Z a-z 0-9 - . _ ~ stay, space becomes '+',
/// every other byte becomes %XX with upper-case hex.
/// @sa RFC 6749 Appendix B, §2.3.1
inline std::string form_encode(std::string_view in) { return percent_encode(in, "+"); }

/// @brief Appends "&name=value" (no '&' when body is empty), both form-encoded.
/// The body grows in place or into a new buffer with the old one wiped: a credential in
/// it is never left behind in freed memory.
inline void append_form_field(std::string& body, std::string_view name, std::string_view value) {
    reserve_wiping(body, body.size() + 2 + percent_encoded_bound(name.size()) +
                             percent_encoded_bound(value.size()));
    if (!body.empty()) body.push_back('&');
    percent_encode_append(body, name, "+");
    body.push_back('=');
    percent_encode_append(body, value, "+");
}

/// @brief Decodes one form-encoded name or value; empty when a %-escape is malformed.
inline std::optional<std::string> form_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out.push_back(' ');
        } else if (in[i] == '%') {
            if (i + 2 >= in.size()) return std::nullopt;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// @brief Splits a form body into decoded name/value pairs; empty on a malformed escape.
inline std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(
    std::string_view body) {
    std::vector<std::pair<std::string, std::string>> fields;
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        const std::string_view field = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (field.empty()) continue;
        const std::size_t eq = field.find('=');
        auto name = form_decode(field.substr(0, eq));
        auto value =
            form_decode(eq == std::string_view::npos ? std::string_view{} : field.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

/// @brief The length of the base64 encoding of n bytes.
constexpr std::size_t base64_size(std::size_t n) noexcept { return 4 * ((n + 2) / 3); }

/// @brief Appends the standard base64 (with padding) of in to out, in place: with
/// capacity for it reserved, out is not reallocated, so no copy is left behind.
inline void base64_append(std::string& out, std::string_view in) {
    if (in.empty()) return;
    const std::size_t at = out.size();
    // EVP_EncodeBlock writes a terminating NUL after the encoded text: one byte more.
    out.resize(at + base64_size(in.size()) + 1);
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    out.resize(at + static_cast<std::size_t>(n));
}

/// @brief Standard base64 with padding (RFC 4648 §4), as HTTP Basic wants.
inline std::string base64_encode(std::string_view in) {
    std::string out;
    base64_append(out, in);
    return out;
}

/// @brief True when s is an RFC 6749 §3.3 scope-token: one or more NQCHAR
/// (%x21 / %x23-5B / %x5D-7E), so no space, '"' or '\\'.
constexpr bool is_scope_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || u == 0x22 || u == 0x5c) return false;
    }
    return true;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/crypto/sha256.hpp ----

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief The SHA-256 digest of data, raw (32 bytes).
/// @throws error `config` when OpenSSL cannot compute it (e.g. a FIPS setup without it)
inline std::string sha256_raw(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
        length != 32) {
        throw error(error_kind::config, "OpenSSL could not compute a SHA-256 digest");
    }
    return std::string(reinterpret_cast<const char*>(digest), length);
}

/// @brief The SHA-256 digest of data in lower-case hex (64 characters).
/// @throws error `config` as sha256_raw does
inline std::string sha256_hex(std::string_view data) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (const char c : sha256_raw(data)) {
        const auto byte = static_cast<unsigned char>(c);
        out += hex[byte >> 4];
        out += hex[byte & 0x0f];
    }
    return out;
}

}  // namespace oauth2cc::detail

#include <nlohmann/json.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief Appends the base64url encoding of in, without padding (RFC 7515 §2), to out.
inline void base64url_append(std::string& out, std::string_view in) {
    const std::size_t at = out.size();
    base64_append(out, in);
    std::size_t end = out.size();
    while (end > at && out[end - 1] == '=') --end;
    out.resize(end);
    for (std::size_t i = at; i < end; ++i) {
        if (out[i] == '+') out[i] = '-';
        if (out[i] == '/') out[i] = '_';
    }
}

/// @brief The base64url encoding of in, without padding.
inline std::string base64url(std::string_view in) {
    std::string out;
    out.reserve(base64_size(in.size()) + 1);
    base64url_append(out, in);
    return out;
}

/// @brief n bytes from OpenSSL's CSPRNG.
/// @throws error `config` when it has no entropy to give
inline std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        throw error(error_kind::config, "OpenSSL's random generator is not seeded");
    }
    return out;
}

/// @brief A JWT id: 144 random bits, base64url (24 characters). RFC 7523 and DESIGN
/// want at least 128; a collision between two ids is out of reach.
inline std::string new_jti() { return base64url(random_bytes(18)); }

/// @brief HMAC-SHA-256 of data under key, raw (32 bytes).
/// @throws error `config` when OpenSSL cannot compute it
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::string mac(EVP_MAX_MD_SIZE, '\0');
    std::size_t length = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                  reinterpret_cast<unsigned char*>(mac.data()), mac.size(), &length) == nullptr) {
        throw error(error_kind::config, "OpenSSL could not compute an HMAC-SHA-256");
    }
    mac.resize(length);
    return mac;
}

/// @brief The bytes of a base64url text without padding; empty when in is not one.
inline std::optional<std::string> base64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string text;
    text.reserve(in.size() + 3);
    for (const char c : in) {
        const bool plain =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!plain && c != '-' && c != '_') return std::nullopt;
        text += c == '-' ? '+' : c == '_' ? '/' : c;
    }
    const std::size_t pad = (4 - text.size() % 4) % 4;
    text.append(pad, '=');
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0 || static_cast<std::size_t>(n) < pad) return std::nullopt;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

/// @brief The JWS signing input of RFC 7515 §5.1: base64url(header) '.' base64url(claims).
inline std::string jws_signing_input(const nlohmann::json& header, const nlohmann::json& claims) {
    const std::string h = header.dump();
    std::string c = claims.dump();
    std::string input;
    input.reserve(base64_size(h.size()) + base64_size(c.size()) + 2);
    base64url_append(input, h);
    input.push_back('.');
    base64url_append(input, c);
    wipe(c);
    return input;
}

/// @brief Completes a JWS compact serialization: input '.' base64url(signature).
inline std::string jws_compact(std::string input, std::string_view signature) {
    input.push_back('.');
    base64url_append(input, signature);
    return input;
}

/// @brief The canonical JSON of RFC 7638 §3.2 for a public JWK: its required members only, in
/// lexicographic order, no white space.
/// @throws error `config` for a JWK without them
inline std::string jwk_thumbprint_input(const nlohmann::json& jwk) {
    const auto member = [&jwk](const char* name) -> std::string {
        const auto it = jwk.find(name);
        if (it == jwk.end() || !it->is_string()) {
            throw error(error_kind::config, std::string("the JWK has no string member ") + name);
        }
        return nlohmann::json(it->get_ref<const std::string&>()).dump();
    };
    const std::string kty = member("kty");
    if (kty == "\"RSA\"") {
        return "{\"e\":" + member("e") + ",\"kty\":" + kty + ",\"n\":" + member("n") + "}";
    }
    if (kty == "\"EC\"") {
        return "{\"crv\":" + member("crv") + ",\"kty\":" + kty + ",\"x\":" + member("x") +
               ",\"y\":" + member("y") + "}";
    }
    if (kty == "\"OKP\"") {
        return "{\"crv\":" + member("crv") + ",\"kty\":" + kty + ",\"x\":" + member("x") + "}";
    }
    throw error(error_kind::config, "the JWK's kty is not RSA, EC or OKP");
}

/// @brief The RFC 7638 thumbprint of a public JWK.
inline std::string jwk_thumbprint_of(const nlohmann::json& jwk) {
    return base64url(sha256_raw(jwk_thumbprint_input(jwk)));
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/text/limits.hpp ----

#include <chrono>
#include <cstddef>

namespace oauth2cc::detail {

/// @brief The longest token lifetime believed: a year. Longer ones are clamped to it, and
/// no policy duration may pass it, so that a time point plus any of them stays far inside
/// steady_clock's range (about 292 years of nanoseconds).
inline constexpr std::chrono::seconds max_token_lifetime{365LL * 24 * 60 * 60};

/// @brief The longest connect or read timeout: a day. cpp-httplib turns them into int
/// milliseconds for poll(), which a longer one would overflow.
inline constexpr std::chrono::milliseconds max_timeout{24LL * 60 * 60 * 1000};

/// @brief True when both timeouts are positive and at most max_timeout.
constexpr bool timeouts_in_range(std::chrono::milliseconds connect,
                                 std::chrono::milliseconds read) noexcept {
    return connect.count() > 0 && read.count() > 0 && connect <= max_timeout && read <= max_timeout;
}

/// @brief The most a key or assertion file may hold: keys and JWTs are a few KiB.
inline constexpr std::size_t max_credential_file_bytes = 64 * 1024;

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/crypto/pem.hpp ----

namespace oauth2cc::detail {

/// @brief OpenSSL's passphrase callback for every PEM read, of keys and certificates,
/// from files and memory: it gives none, so an encrypted key is refused (and noticed in
/// *asked, a bool, when not null), never prompted for on a terminal or read from stdin,
/// which is what OpenSSL's default callback does, outside every deadline.
inline int refuse_passphrase(char*, int, int, void* asked) {
    if (asked != nullptr) *static_cast<bool*>(asked) = true;
    return -1;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/store/private_files.hpp ----

// ---- oauth2cc/detail/text/file_version.hpp ----

#include <mutex>
#include <string>

#include <sys/stat.h>

namespace oauth2cc::detail {

/// @brief True when a and b describe the same version of a file.
inline bool same_file_version(const struct stat& a, const struct stat& b) noexcept {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

/// @brief Watches files for a new version: the first look notes them, each later look
/// says whether any has changed (or appeared, or gone) since the look before. One stat()
/// a file a look; thread-safe.
class file_watch {
public:
    /// @brief True when one of the files differs from the last look (never on the first).
    bool changed(const std::string& a, const std::string& b = {}) {
        const look now = look_at(a, b);
        const std::lock_guard<std::mutex> lock(mutex_);
        const bool differs = differs_from(now);
        looked_ = true;
        last_ = now;
        return differs;
    }

    /// @brief True when one of the files differs from the last look of changed(), which
    /// it leaves as it was (never before the first look).
    bool differs(const std::string& a, const std::string& b = {}) {
        const look now = look_at(a, b);
        const std::lock_guard<std::mutex> lock(mutex_);
        return differs_from(now);
    }

private:
    struct look {
        bool has_a = false, has_b = false;
        struct stat a {
        }, b{};
    };
    static look look_at(const std::string& a, const std::string& b) {
        look now;
        now.has_a = !a.empty() && ::stat(a.c_str(), &now.a) == 0;
        now.has_b = !b.empty() && ::stat(b.c_str(), &now.b) == 0;
        return now;
    }
    // Needs the lock.
    bool differs_from(const look& now) const {
        return looked_ && (now.has_a != last_.has_a || now.has_b != last_.has_b ||
                           (now.has_a && !same_file_version(now.a, last_.a)) ||
                           (now.has_b && !same_file_version(now.b, last_.b)));
    }

    std::mutex mutex_;
    bool looked_ = false;
    look last_;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/text/text.hpp ----

#include <cstddef>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// @brief ASCII case-insensitive equality, as HTTP header names and auth schemes want.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

/// @brief True for C0 controls and DEL, which never belong in a header value or a token.
constexpr bool is_control(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

constexpr bool has_control(std::string_view s) noexcept {
    for (char c : s) {
        if (is_control(c)) return true;
    }
    return false;
}

/// @brief True when every byte is VSCHAR (%x20-7E, RFC 6749 Appendix A): printable
/// ASCII, what an access token is made of.
constexpr bool all_vschar(std::string_view s) noexcept {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return false;
    }
    return true;
}

/// @brief ASCII white space: space, tab, CR, LF, vertical tab, form feed.
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// @brief A short, printable excerpt of text from a server, for an error message:
/// at most max_bytes, controls and non-ASCII bytes shown as '?', cut marked with "...".
inline std::string excerpt(std::string_view text, std::size_t max_bytes = 200) {
    std::string out;
    const std::size_t n = text.size() < max_bytes ? text.size() : max_bytes;
    out.reserve(n + 3);
    for (std::size_t i = 0; i < n; ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        out.push_back((u < 0x20 || u >= 0x7f) ? '?' : text[i]);
    }
    if (n < text.size()) out += "...";
    return out;
}

}  // namespace oauth2cc::detail

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace oauth2cc::detail {

/// @brief "what path: strerror(errno)", as a `config` error.
inline error file_error(const std::string& what, const std::string& path, int err) {
    return error(error_kind::config, what + " " + path + ": " + std::strerror(err));
}

inline std::string octal_mode(mode_t mode) {
    std::string out = "0000";
    for (int i = 3; i >= 1; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
        mode >>= 3;
    }
    return out;
}

/// @brief Refuses what an open fd names unless it is a directory (or a regular file),
/// owned by this user, and closed to group and others.
/// @throws error `config` that says what is wrong and how to fix it
inline void check_private(int fd, const std::string& path, bool directory) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw file_error("cannot stat the token cache", path, errno);
    const char* noun = directory ? "directory" : "file";
    if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        throw error(error_kind::config, std::string("the token cache ") + noun + " " + path +
                                            " is not a " +
                                            (directory ? "directory" : "regular file"));
    }
    if (st.st_uid != ::geteuid()) {
        throw error(error_kind::config, std::string("the token cache ") + noun + " " + path +
                                            " is owned by user id " + std::to_string(st.st_uid) +
                                            ", not by this user (" + std::to_string(::geteuid()) +
                                            "); refusing to use it");
    }
    if ((st.st_mode & 077) != 0) {
        throw error(error_kind::config,
                    std::string("the token cache ") + noun + " " + path + " has mode " +
                        octal_mode(st.st_mode & 07777) +
                        ", which lets other users at it; refusing to use it (chmod " +
                        (directory ? "700" : "600") + " it)");
    }
}

/// @brief Closes an fd when it goes out of scope.
class unique_fd {
public:
    explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    int get() const noexcept { return fd_; }
    /// @brief Gives the fd up without closing it.
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

/// @brief Writes all of data, through EINTR and short writes. @returns 0 or an errno
inline int write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return 0;
}

/// @brief How long a read of a credential file that is no regular file (a FIFO, a
/// shell's <(...)) may wait for its writer, at most.
inline constexpr std::chrono::milliseconds credential_pipe_wait{2000};

/// @brief Reads up to limit + 1 bytes into out, which may hold a token, so the buffer
/// it passes through is wiped. A descriptor opened with O_NONBLOCK (a FIFO) is waited
/// for until until, then ETIMEDOUT. @returns 0 or an errno
inline int read_up_to(
    int fd, std::string& out, std::size_t limit,
    std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max()) {
    char buffer[4096];
    int result = 0;
    while (out.size() <= limit) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            pollfd wait{fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&wait, 1, static_cast<int>(left.count())) == 0) {
                result = ETIMEDOUT;
                break;
            }
            continue;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            result = errno;
            break;
        }
        if (n == 0) break;
        append_wiping(out, buffer, static_cast<std::size_t>(n));
    }
    OPENSSL_cleanse(buffer, sizeof buffer);
    return result;
}

/// @brief The content of a small file that holds a credential (a key, an assertion),
/// read into one buffer sized from the file, so no copy is left behind. A FIFO is opened
/// without blocking and read for credential_pipe_wait at most: a writer that never comes
/// never holds the caller.
/// @param what names the file in errors, e.g. "the key file"
/// @throws error `config` naming the file, never its content, when it cannot be opened
///         or read, or holds more than limit bytes
inline std::string read_credential_file(const std::string& path, std::size_t limit,
                                        const std::string& what) {
    const std::string name = what + " \"" + excerpt(path, 200) + "\"";
    const unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        throw error(error_kind::config, "cannot open " + name + ": " + std::strerror(errno));
    }
    struct stat st {};
    std::string out;
    const bool stated = ::fstat(fd.get(), &st) == 0;
    if (stated && S_ISREG(st.st_mode) && st.st_size > 0) {
        out.reserve(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), limit) + 1);
    }
    const auto until = std::chrono::steady_clock::now() + credential_pipe_wait;
    if (const int err = read_up_to(fd.get(), out, limit, until); err != 0) {
        wipe(out);
        throw error(error_kind::config,
                    "cannot read " + name + ": " +
                        (err == ETIMEDOUT ? "nothing was written to it within " +
                                                std::to_string(credential_pipe_wait.count()) +
                                                " ms (a FIFO with no writer?)"
                                          : std::string(std::strerror(err))));
    }
    if (out.size() > limit) {
        wipe(out);
        throw error(error_kind::config,
                    name + " is over " + std::to_string(limit) + " bytes: not a credential");
    }
    return out;
}

/// @brief What assertion_from_file() read last, and the file's metadata then.
struct file_source_state {
    std::mutex mutex;
    bool read = false;
    struct stat seen {};
    secret text;
};

/// @brief The source assertion_from_file() makes (its body is there); a manager backing
/// off asks it whether its file changed since it was read.
struct file_credential {
    std::string path;
    std::shared_ptr<file_source_state> state;

    std::string operator()() const;

    /// @brief True when the file's metadata differs from when it was last read.
    bool changed() const {
        struct stat now {};
        const bool known = ::stat(path.c_str(), &now) == 0;
        const std::lock_guard<std::mutex> lock(state->mutex);
        return state->read && known && S_ISREG(state->seen.st_mode) &&
               !same_file_version(now, state->seen);
    }
};

/// @brief The trimmed content of a credential file.
/// @throws error `config` naming the file (never its content) when it cannot be read or
///         is empty
inline std::string read_trimmed_credential(const std::string& path) {
    std::string text = read_credential_file(path, max_credential_file_bytes, "the credential file");
    // Trimmed in place: erase() moves bytes within the one buffer, which the caller
    // wipes with the credential.
    std::size_t end = text.size();
    while (end > 0 && is_space(text[end - 1])) --end;
    std::size_t begin = 0;
    while (begin < end && is_space(text[begin])) ++begin;
    text.resize(end);
    text.erase(0, begin);
    if (text.empty()) {
        throw error(error_kind::config,
                    "the credential file \"" + excerpt(path, 200) + "\" is empty");
    }
    return text;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/crypto/evp.hpp ----

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <memory>
#include <string>

namespace oauth2cc::detail {

struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct bn_free {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct ecdsa_sig_free {
    void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

inline std::shared_ptr<EVP_PKEY> own_key(EVP_PKEY* key) {
    return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

// The curve of an EC key as its JWK name ("P-256", "P-384"), or empty for another.
inline std::string ec_curve(const EVP_PKEY* key) {
    char name[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                       &length) != 1) {
        return {};
    }
    const std::string group(name, length);
    if (group == "prime256v1" || group == "P-256" || group == "secp256r1") return "P-256";
    if (group == "secp384r1" || group == "P-384") return "P-384";
    return {};
}

// The size in bytes of a coordinate (and of R and S) on a JWK curve.
inline std::size_t ec_field_bytes(const std::string& crv) { return crv == "P-384" ? 48 : 32; }

// A big-number parameter of the key, big-endian, left-padded to width when not 0.
inline std::string bn_param(const EVP_PKEY* key, const char* name, std::size_t width) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1 || raw == nullptr) {
        throw error(error_kind::config, std::string("OpenSSL has no ") + name + " for the key");
    }
    const std::unique_ptr<BIGNUM, bn_free> bn(raw);
    const std::size_t size = width != 0 ? width : static_cast<std::size_t>(BN_num_bytes(bn.get()));
    std::string out(size, '\0');
    if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
                     static_cast<int>(size)) < 0) {
        throw error(error_kind::config, std::string("the key's ") + name + " does not fit");
    }
    return out;
}

}  // namespace oauth2cc::detail

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(jws_alg alg) noexcept {
    switch (alg) {
        case jws_alg::rs256:
            return "RS256";
        case jws_alg::ps256:
            return "PS256";
        case jws_alg::es256:
            return "ES256";
        case jws_alg::es384:
            return "ES384";
        case jws_alg::eddsa:
            return "EdDSA";
        case jws_alg::hs256:
            return "HS256";
    }
    return "none";
}

OAUTH2CC_INLINE signing_key::signing_key(std::shared_ptr<evp_pkey_st> key, jws_alg alg,
                                         std::string kid)
    : key_(std::move(key)), alg_(alg), kid_(std::move(kid)) {}

OAUTH2CC_INLINE signing_key signing_key::from_openssl(std::shared_ptr<evp_pkey_st> key,
                                                      std::string kid, std::optional<jws_alg> alg,
                                                      const std::string& source) {
    const auto fail = [&source](const std::string& why) {
        throw error(error_kind::config, source + " " + why);
    };
    EVP_PKEY* k = key.get();
    jws_alg own = jws_alg::rs256;
    bool rsa = false;
    if (EVP_PKEY_is_a(k, "RSA")) {
        rsa = true;
        own = jws_alg::rs256;
        if (EVP_PKEY_get_bits(k) < 2048) {
            fail("holds an RSA key of " + std::to_string(EVP_PKEY_get_bits(k)) +
                 " bits; JWS wants 2048 or more (RFC 7518 §3.3)");
        }
    } else if (EVP_PKEY_is_a(k, "EC")) {
        const std::string crv = detail::ec_curve(k);
        if (crv.empty()) fail("holds an EC key on a curve other than P-256 and P-384");
        own = crv == "P-256" ? jws_alg::es256 : jws_alg::es384;
    } else if (EVP_PKEY_is_a(k, "ED25519")) {
        own = jws_alg::eddsa;
    } else {
        fail("holds a key of a type other than RSA, EC (P-256, P-384) and Ed25519");
    }
    jws_alg chosen = own;
    if (alg) {
        const bool fits = *alg == own || (rsa && *alg == jws_alg::ps256);
        if (!fits) {
            fail(std::string("holds a key that cannot sign ") + std::string(to_string(*alg)) +
                 "; it signs " + std::string(to_string(own)) + (rsa ? " or PS256" : ""));
        }
        chosen = *alg;
    }
    return signing_key(std::move(key), chosen, std::move(kid));
}

OAUTH2CC_INLINE signing_key signing_key::from_pem(std::string_view pem, std::string kid,
                                                  std::optional<jws_alg> alg) {
    return from_pem_named(pem, std::move(kid), alg, "the PEM text");
}

OAUTH2CC_INLINE signing_key signing_key::from_pem_file(const std::string& path, std::string kid,
                                                       std::optional<jws_alg> alg) {
    std::string text =
        detail::read_credential_file(path, detail::max_credential_file_bytes, "the key file");
    const detail::wipe_at_exit wiper{[&text] { detail::wipe(text); }};
    signing_key key = from_pem_named(text, std::move(kid), alg,
                                     "the key file \"" + detail::excerpt(path, 200) + "\"");
    key.file_ = path;
    return key;
}

OAUTH2CC_INLINE signing_key signing_key::from_pem_named(std::string_view pem, std::string kid,
                                                        std::optional<jws_alg> alg,
                                                        const std::string& source) {
    if (alg == jws_alg::hs256) {
        throw error(error_kind::config,
                    "HS256 signs with the client secret (auth_method::client_secret_jwt), "
                    "not with a signing_key");
    }
    const std::unique_ptr<BIO, detail::bio_free> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw error(error_kind::config, "OpenSSL could not read " + source);
    bool asked = false;
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, detail::refuse_passphrase, &asked);
    // What OpenSSL noted about the failure stays out of later TLS errors.
    ERR_clear_error();
    if (raw == nullptr) {
        throw error(error_kind::config,
                    asked ? source +
                                " holds an encrypted private key; give it decrypted "
                                "(e.g. `openssl pkey -in FILE -out PLAIN`), in a file "
                                "only the client can read"
                          : source +
                                " holds no private key in PEM (PKCS#8 \"PRIVATE KEY\", "
                                "or \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")");
    }
    return from_openssl(detail::own_key(raw), std::move(kid), alg, source);
}

OAUTH2CC_INLINE signing_key signing_key::generate(jws_alg alg) {
    EVP_PKEY* raw = nullptr;
    switch (alg) {
        case jws_alg::rs256:
        case jws_alg::ps256:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
            break;
        case jws_alg::es256:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
            break;
        case jws_alg::es384:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
            break;
        case jws_alg::eddsa:
            raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
            break;
        case jws_alg::hs256:
            throw error(error_kind::config,
                        "HS256 signs with the client secret, so there is no key to generate");
    }
    ERR_clear_error();
    if (raw == nullptr) {
        throw error(error_kind::config, std::string("OpenSSL could not generate a key for ") +
                                            std::string(to_string(alg)));
    }
    signing_key key(detail::own_key(raw), alg, {});
    key.kid_ = key.jwk_thumbprint();
    return key;
}

OAUTH2CC_INLINE nlohmann::json signing_key::public_jwk() const {
    using detail::base64url;
    const EVP_PKEY* k = key_.get();
    nlohmann::json jwk(nlohmann::json::value_t::object);
    switch (alg_) {
        case jws_alg::rs256:
        case jws_alg::ps256:
            jwk["kty"] = "RSA";
            jwk["n"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_RSA_N, 0));
            jwk["e"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_RSA_E, 0));
            break;
        case jws_alg::es256:
        case jws_alg::es384: {
            const std::string crv = alg_ == jws_alg::es256 ? "P-256" : "P-384";
            const std::size_t width = detail::ec_field_bytes(crv);
            jwk["kty"] = "EC";
            jwk["crv"] = crv;
            jwk["x"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, width));
            jwk["y"] = base64url(detail::bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, width));
            break;
        }
        case jws_alg::eddsa:
        case jws_alg::hs256: {
            unsigned char raw[64];
            std::size_t length = sizeof raw;
            if (EVP_PKEY_get_raw_public_key(k, raw, &length) != 1) {
                throw error(error_kind::config, "OpenSSL has no public key for the Ed25519 key");
            }
            jwk["kty"] = "OKP";
            jwk["crv"] = "Ed25519";
            jwk["x"] = base64url(std::string_view(reinterpret_cast<const char*>(raw), length));
            break;
        }
    }
    jwk["alg"] = std::string(to_string(alg_));
    jwk["use"] = "sig";
    if (!kid_.empty()) jwk["kid"] = kid_;
    return jwk;
}

OAUTH2CC_INLINE std::string signing_key::jwk_thumbprint() const {
    return detail::jwk_thumbprint_of(public_jwk());
}

OAUTH2CC_INLINE std::string signing_key::sign(std::string_view data) const {
    const auto fail = [this] {
        ERR_clear_error();
        throw error(error_kind::config, std::string("OpenSSL could not sign with the ") +
                                            std::string(to_string(alg_)) + " key");
    };
    const std::unique_ptr<EVP_MD_CTX, detail::md_ctx_free> ctx(EVP_MD_CTX_new());
    if (!ctx) fail();
    const EVP_MD* md = nullptr;
    if (alg_ == jws_alg::es384) {
        md = EVP_sha384();
    } else if (alg_ != jws_alg::eddsa) {
        md = EVP_sha256();
    }
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key_.get()) != 1) fail();
    if (alg_ == jws_alg::ps256 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)) {
        fail();
    }
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t length = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &length, in, data.size()) != 1) fail();
    std::string sig(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &length, in,
                       data.size()) != 1) {
        fail();
    }
    sig.resize(length);
    if (alg_ != jws_alg::es256 && alg_ != jws_alg::es384) return sig;

    // ECDSA: OpenSSL gives DER; JWS wants R and S, each left-padded to the field size.
    const std::size_t width = alg_ == jws_alg::es256 ? 32 : 48;
    const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
    const std::unique_ptr<ECDSA_SIG, detail::ecdsa_sig_free> parsed(
        d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())));
    if (!parsed) fail();
    const BIGNUM* r = ECDSA_SIG_get0_r(parsed.get());
    const BIGNUM* s = ECDSA_SIG_get0_s(parsed.get());
    std::string raw(2 * width, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(r, out, static_cast<int>(width)) < 0 ||
        BN_bn2binpad(s, out + width, static_cast<int>(width)) < 0) {
        fail();
    }
    return raw;
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/error_inl.hpp ----

#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(error_kind kind) noexcept {
    switch (kind) {
        case error_kind::config:
            return "config";
        case error_kind::transport:
            return "transport";
        case error_kind::tls:
            return "tls";
        case error_kind::http_status:
            return "http_status";
        case error_kind::oauth:
            return "oauth";
        case error_kind::bad_response:
            return "bad_response";
    }
    return "unknown";
}

OAUTH2CC_INLINE error::error(error_kind kind, const std::string& message, error_details details)
    : std::runtime_error("oauth2cc: " + std::string(to_string(kind)) + " error: " + message),
      kind_(kind),
      details_(std::move(details)) {}

}  // namespace oauth2cc
// ---- oauth2cc/impl/metrics_inl.hpp ----

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(request_outcome outcome) noexcept {
    switch (outcome) {
        case request_outcome::success:
            return "success";
        case request_outcome::config:
            return "config";
        case request_outcome::transport:
            return "transport";
        case request_outcome::tls:
            return "tls";
        case request_outcome::http_status:
            return "http_status";
        case request_outcome::oauth:
            return "oauth";
        case request_outcome::bad_response:
            return "bad_response";
    }
    return "unknown";
}

OAUTH2CC_INLINE request_outcome outcome_of(error_kind kind) noexcept {
    switch (kind) {
        case error_kind::config:
            return request_outcome::config;
        case error_kind::transport:
            return request_outcome::transport;
        case error_kind::tls:
            return request_outcome::tls;
        case error_kind::http_status:
            return request_outcome::http_status;
        case error_kind::oauth:
            return request_outcome::oauth;
        case error_kind::bad_response:
            return request_outcome::bad_response;
    }
    return request_outcome::transport;
}

OAUTH2CC_INLINE std::string_view to_string(store_operation operation) noexcept {
    switch (operation) {
        case store_operation::load:
            return "load";
        case store_operation::save:
            return "save";
        case store_operation::remove:
            return "remove";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(store_result result) noexcept {
    switch (result) {
        case store_result::hit:
            return "hit";
        case store_result::miss:
            return "miss";
        case store_result::ok:
            return "ok";
        case store_result::failure:
            return "failure";
        case store_result::unavailable:
            return "unavailable";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(nonce_origin origin) noexcept {
    switch (origin) {
        case nonce_origin::token_endpoint:
            return "token_endpoint";
        case nonce_origin::resource_server:
            return "resource_server";
    }
    return "unknown";
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/tracing_inl.hpp ----

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(span_kind kind) noexcept {
    return kind == span_kind::token_acquisition ? "oauth2cc.token" : "oauth2cc.http";
}

OAUTH2CC_INLINE std::string_view to_string(cache_outcome outcome) noexcept {
    switch (outcome) {
        case cache_outcome::hit:
            return "hit";
        case cache_outcome::wait:
            return "wait";
        case cache_outcome::miss:
            break;
    }
    return "miss";
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/client_config_inl.hpp ----

// ---- oauth2cc/detail/oauth/jwt_bearer_signer.hpp ----

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief The source jwt_bearer_assertion() makes: signs a new JWT for every call. What
/// its assertions claim is known without a call, so that a manager keys its token by it
/// (subject_key()).
class jwt_bearer_signer {
public:
    jwt_bearer_signer(signing_key key, std::string issuer, std::string subject,
                      std::string audience, std::chrono::seconds lifetime, nlohmann::json extra)
        : key_(std::move(key)),
          issuer_(std::move(issuer)),
          subject_(std::move(subject)),
          audience_(std::move(audience)),
          lifetime_(lifetime),
          extra_(std::move(extra)) {
        const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
        const auto check = [&fail](const std::string& value, const char* name) {
            if (value.empty()) fail(std::string("jwt_bearer_assertion: ") + name + " is empty");
            if (has_control(value)) {
                fail(std::string("jwt_bearer_assertion: ") + name + " has control characters");
            }
        };
        check(issuer_, "issuer");
        check(subject_, "subject");
        check(audience_, "audience");
        if (lifetime_.count() < 1 || lifetime_ > std::chrono::hours(1)) {
            fail("jwt_bearer_assertion: the lifetime must be from 1 second to 1 hour");
        }
        if (extra_.is_null()) extra_ = nlohmann::json::object();
        if (!extra_.is_object()) fail("jwt_bearer_assertion: extra_claims must be an object");
        for (const char* name : {"iss", "sub", "aud", "iat", "exp", "jti"}) {
            if (extra_.contains(name)) {
                fail(std::string("jwt_bearer_assertion: extra_claims must not set \"") + name +
                     "\": it has its own argument or is made for each assertion");
            }
        }
    }

    /// @brief A new assertion: `iat` now, a new `jti`. The caller wipes it once sent.
    std::string operator()() const {
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        nlohmann::json header(nlohmann::json::value_t::object);
        header["alg"] = std::string(to_string(key_.alg()));
        header["typ"] = "JWT";
        if (!key_.kid().empty()) header["kid"] = key_.kid();
        nlohmann::json claims = lasting_claims();
        claims["iat"] = now;
        claims["exp"] = now + lifetime_.count();
        claims["jti"] = new_jti();
        std::string input = jws_signing_input(header, claims);
        const std::string signature = key_.sign(input);
        return jws_compact(std::move(input), signature);
    }

    const std::string& issuer() const noexcept { return issuer_; }
    const std::string& subject() const noexcept { return subject_; }

    /// @brief The claims every assertion of this signer makes (all but iat, exp, jti).
    nlohmann::json lasting_claims() const {
        nlohmann::json claims = extra_;
        claims["iss"] = issuer_;
        claims["sub"] = subject_;
        claims["aud"] = audience_;
        return claims;
    }

    /// @brief The RFC 7638 thumbprint of the key that signs.
    std::string key_thumbprint() const { return key_.jwk_thumbprint(); }

private:
    signing_key key_;
    std::string issuer_;
    std::string subject_;
    std::string audience_;
    std::chrono::seconds lifetime_;
    nlohmann::json extra_;
};

}  // namespace oauth2cc::detail

#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace oauth2cc::detail {

OAUTH2CC_INLINE std::string file_credential::operator()() const {
    struct stat now {};
    const bool known = ::stat(path.c_str(), &now) == 0;
    const std::lock_guard<std::mutex> lock(state->mutex);
    // A FIFO or a shell's <(...) is read once: a second read would wait for a writer.
    if (state->read &&
        ((known && same_file_version(now, state->seen)) || !S_ISREG(state->seen.st_mode))) {
        return state->text.reveal();
    }
    state->read = false;
    state->text = secret(read_trimmed_credential(path));
    if (known) {
        state->seen = now;
        state->read = true;
    }
    return state->text.reveal();
}

}  // namespace oauth2cc::detail

namespace oauth2cc {

OAUTH2CC_INLINE token_params params_of(const client_config& cfg) {
    return token_params{cfg.scopes, cfg.audience, cfg.resources, cfg.extra_params};
}

OAUTH2CC_INLINE bool operator==(const token_params& a, const token_params& b) {
    // The same values as many times each, in any order.
    const auto same_multiset = [](const auto& x, const auto& y) {
        if (x.size() != y.size()) return false;
        for (const auto& v : x) {
            if (std::count(x.begin(), x.end(), v) != std::count(y.begin(), y.end(), v)) {
                return false;
            }
        }
        return true;
    };
    return a.audience == b.audience && same_multiset(a.extra_params, b.extra_params) &&
           same_multiset(a.scopes, b.scopes) && same_multiset(a.resources, b.resources);
}

OAUTH2CC_INLINE bool operator!=(const token_params& a, const token_params& b) { return !(a == b); }

OAUTH2CC_INLINE std::string_view to_string(auth_method method) noexcept {
    switch (method) {
        case auth_method::client_secret_basic:
            return "client_secret_basic";
        case auth_method::client_secret_post:
            return "client_secret_post";
        case auth_method::none:
            return "none";
        case auth_method::client_secret_jwt:
            return "client_secret_jwt";
        case auth_method::private_key_jwt:
            return "private_key_jwt";
        case auth_method::client_assertion:
            return "client_assertion";
        case auth_method::tls_client_auth:
            return "tls_client_auth";
        case auth_method::self_signed_tls_client_auth:
            return "self_signed_tls_client_auth";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::string_view to_string(grant_type grant) noexcept {
    switch (grant) {
        case grant_type::client_credentials:
            return "client_credentials";
        case grant_type::token_exchange:
            return "token_exchange";
        case grant_type::jwt_bearer:
            return "jwt_bearer";
    }
    return "unknown";
}

OAUTH2CC_INLINE std::function<std::string()> jwt_bearer_assertion(
    signing_key key, std::string issuer, std::string subject, std::string audience,
    std::chrono::seconds lifetime, nlohmann::json extra_claims) {
    return detail::jwt_bearer_signer(std::move(key), std::move(issuer), std::move(subject),
                                     std::move(audience), lifetime, std::move(extra_claims));
}

OAUTH2CC_INLINE std::function<std::string()> assertion_from_file(std::string path) {
    return detail::file_credential{std::move(path), std::make_shared<detail::file_source_state>()};
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/http_inl.hpp ----

namespace oauth2cc {

OAUTH2CC_INLINE std::optional<std::string> http_response::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (detail::iequals(key, name)) return value;
    }
    return std::nullopt;
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/clock_inl.hpp ----

#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE manual_clock::manual_clock(time_point start) : now_(start) {}

OAUTH2CC_INLINE manual_clock::time_point manual_clock::now() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
}

OAUTH2CC_INLINE std::uint64_t manual_clock::subscribe(std::function<void()> on_move) {
    std::lock_guard<std::mutex> calling(calling_);
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint64_t id = ++last_id_;
    subscribers_.emplace(id, std::move(on_move));
    return id;
}

OAUTH2CC_INLINE void manual_clock::unsubscribe(std::uint64_t id) {
    std::lock_guard<std::mutex> calling(calling_);
    std::lock_guard<std::mutex> lock(mutex_);
    subscribers_.erase(id);
}

OAUTH2CC_INLINE void manual_clock::advance(duration by) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        now_ += by;
    }
    moved();
}

OAUTH2CC_INLINE void manual_clock::set(time_point to) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (to > now_) now_ = to;
    }
    moved();
}

OAUTH2CC_INLINE void manual_clock::moved() {
    // Subscribers run without mutex_ held, so they may read now().
    std::lock_guard<std::mutex> calling(calling_);
    for (auto& [id, call] : subscribers_) call();
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/token_store_inl.hpp ----

namespace oauth2cc {

OAUTH2CC_INLINE std::unique_ptr<token_store_lock> token_store::lock(const std::string&) {
    return nullptr;
}

OAUTH2CC_INLINE std::string store_key(const std::string& cache_key) {
    return detail::sha256_hex(cache_key);
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/token_manager_inl.hpp ----

// ---- oauth2cc/detail/manager/cached_read.hpp ----

// ---- oauth2cc/detail/manager/coarse_clock.hpp ----

#include <algorithm>
#include <chrono>

#if defined(__linux__)
#include <time.h>
#endif

namespace oauth2cc::detail {

/// @brief Linux's CLOCK_MONOTONIC_COARSE: the monotonic clock as of the last timer tick,
/// read from the vDSO without touching the clock hardware (a few ns instead of tens).
///
/// It is the time base steady_clock extends (CLOCK_MONOTONIC), so it never runs ahead of
/// steady_clock::now(); it lags it by less than a tick (1 to 10 ms). A cached read trusts
/// it only up to `guard` before expiry (see coarse_until), and checks steady_clock in the
/// window after that, so a lag of up to `guard` cannot serve a token late.
struct coarse_clock {
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    /// How far the coarse clock may lag without a token being served past its expiry:
    /// a hundred ticks and more.
    static constexpr duration guard = std::chrono::seconds(1);

    /// @brief Whether this platform has the clock, on steady_clock's time base.
    static bool available() noexcept {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
        timespec coarse{};
        if (clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse) != 0) return false;
        const time_point fine = std::chrono::steady_clock::now();
        const time_point seen = from(coarse);
        // The same time base: at or behind steady_clock, by less than the guard.
        return seen <= fine && fine - seen < guard;
#else
        return false;
#endif
    }

    /// @brief The coarse time; call only where available() said true.
    static time_point now() noexcept {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return from(ts);
#else
        return std::chrono::steady_clock::now();
#endif
    }

private:
#if defined(__linux__)
    static time_point from(const timespec& ts) noexcept {
        return time_point(std::chrono::duration_cast<duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    }
#endif
};

/// @brief Until when a cached read may trust the coarse clock for a token refreshed at
/// refresh_at that expires at expires_at: the refresh point, but never later than `guard`
/// before expiry. A read whose coarse time is before this is at most `guard` later in
/// steady_clock time, so before expires_at; a later read checks steady_clock itself.
constexpr coarse_clock::time_point coarse_until(coarse_clock::time_point refresh_at,
                                                coarse_clock::time_point expires_at) noexcept {
    return std::min(refresh_at, expires_at - coarse_clock::guard);
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/manager_events.hpp ----

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

using token_callback = std::function<void(token_result)>;

/// @brief Calls one observer function; what it throws goes no further.
template <class Call>
void tell(const std::shared_ptr<metrics_observer>& observer, Call&& call) noexcept {
    if (!observer) return;
    try {
        call(*observer);
    } catch (...) {
        // An observer that throws must not take the manager down with it.
    }
}

/// @brief Hands result to done; what it throws goes no further.
inline void hand_over(const token_callback& done, const token_result& result) noexcept {
    try {
        done(result);
    } catch (...) {
        // A callback that throws must not take the refreshing thread down with it.
    }
}

/// @brief The request of a fetch, for the observer.
struct request_record {
    request_outcome outcome = request_outcome::success;
    int http_status = 0;
    std::string oauth_error;
    std::chrono::nanoseconds latency{0};
    bool retry = false;
    unsigned nonce_retries = 0;
    unsigned credential_rotations = 0;
};

/// @brief What a fetch tells after its lock is released.
struct fetch_events {
    std::shared_ptr<metrics_observer> observer;
    std::optional<request_record> request;
    std::vector<std::pair<store_operation, store_result>> store;
    std::vector<token_callback> callbacks;
    token_result result;

    /// @brief Tells the observer, then the callbacks. who: the manager's client id.
    void deliver(const std::string& who) const noexcept {
        if (request) {
            tell(observer, [&](metrics_observer& o) {
                token_request_event e;
                e.client_id = who;
                e.outcome = request->outcome;
                e.http_status = request->http_status;
                e.oauth_error = request->oauth_error;
                e.latency = request->latency;
                e.retry = request->retry;
                e.dpop_nonce_retries = request->nonce_retries;
                e.credential_rotations = request->credential_rotations;
                o.on_token_request(e);
            });
        }
        for (const auto& [operation, result_of] : store) {
            tell(observer, [&, op = operation, res = result_of](metrics_observer& o) {
                o.on_store(store_event{who, op, res});
            });
        }
        for (const token_callback& done : callbacks) hand_over(done, result);
    }
};

/// @brief Reports a caller's wait for a token request to the observer when it ends: it
/// lives in get() before the lock, so that it reports after the lock is released.
class wait_report {
public:
    wait_report() = default;
    wait_report(const wait_report&) = delete;
    wait_report& operator=(const wait_report&) = delete;
    ~wait_report() {
        if (!observer_) return;
        const auto waited = std::chrono::steady_clock::now() - start_;
        const bool got = std::uncaught_exceptions() == exceptions_;
        tell(observer_, [&](metrics_observer& o) { o.on_wait(*who_, waited, got); });
    }
    /// @brief The wait begins; who outlives this report.
    void begin(std::shared_ptr<metrics_observer> observer, const std::string& who) {
        observer_ = std::move(observer);
        who_ = &who;
        start_ = std::chrono::steady_clock::now();
        exceptions_ = std::uncaught_exceptions();
    }

private:
    std::shared_ptr<metrics_observer> observer_;
    const std::string* who_ = nullptr;
    std::chrono::steady_clock::time_point start_;
    int exceptions_ = 0;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/manager_fetch.hpp ----

// ---- oauth2cc/detail/oauth/grant.hpp ----

// ---- oauth2cc/detail/text/json_bounded.hpp ----

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

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The `grant_type` a request sends (RFC 6749 §4.4.2, RFC 8693 §2.1, RFC 7523 §2.1).
constexpr const char* grant_type_value(grant_type grant) noexcept {
    switch (grant) {
        case grant_type::client_credentials:
            return "client_credentials";
        case grant_type::token_exchange:
            return "urn:ietf:params:oauth:grant-type:token-exchange";
        case grant_type::jwt_bearer:
            return "urn:ietf:params:oauth:grant-type:jwt-bearer";
    }
    return "client_credentials";
}

/// @brief Calls a user's source of a credential (an assertion, a subject or actor token).
/// @param what the source's field, for messages ("client_assertion", "subject_token", ...)
/// @throws error `config` when it throws, returns nothing, or returns text with spaces or
///         control characters (no token or JWT has them); the message never quotes it
inline std::string call_source(const std::function<std::string()>& source, const char* what) {
    std::string value;
    try {
        value = source();
    } catch (const error& e) {
        // Our own messages (assertion_from_file's) name a file, never its content.
        throw error(error_kind::config, std::string("the ") + what + " source failed: " + e.what());
    } catch (...) {
        // A message of the user's source may quote what it read: it is not repeated.
        throw error(error_kind::config, std::string("the ") + what + " source threw an exception");
    }
    if (value.empty()) {
        throw error(error_kind::config, std::string("the ") + what + " source returned nothing");
    }
    for (const char c : value) {
        if (is_control(c) || c == ' ') {
            wipe(value);
            throw error(error_kind::config,
                        std::string("the ") + what +
                            " source returned text with spaces or control characters, which no "
                            "token or JWT has");
        }
    }
    return value;
}

/// @brief The signer behind cfg.grant_assertion when jwt_bearer_assertion() made it; else
/// null.
inline const jwt_bearer_signer* own_signer(const client_config& cfg) noexcept {
    return cfg.grant_assertion ? cfg.grant_assertion.target<jwt_bearer_signer>() : nullptr;
}

/// @brief The part of a token's key that names its subject, for the JWT bearer grant:
/// the assertion's issuer and subject, a digest of every claim but those that change
/// with each assertion (iat, nbf, exp, jti), and a digest of what names the key that
/// signs (for a signer of ours, its RFC 7638 thumbprint; for an assertion made elsewhere,
/// its JWS header: alg, kid, and the like). Assertions that would get other tokens
/// (another scope, audience or claim, another key) have other keys.
inline std::string assertion_subject_key(nlohmann::json claims, std::string_view signer) {
    std::string key = "assertion_iss=" + form_encode(claims["iss"].get_ref<const std::string&>()) +
                      "&assertion_sub=" + form_encode(claims["sub"].get_ref<const std::string&>());
    for (const char* changing : {"iat", "nbf", "exp", "jti"}) claims.erase(changing);
    // An object's members are sorted: one text for one set of claims.
    std::string text = claims.dump();
    key += "&assertion_claims=" + sha256_hex(text);
    wipe(text);
    wipe_strings(claims);
    key += "&assertion_signer=" + sha256_hex(signer);
    return key;
}

/// @brief The subject key of a signer of ours (see above).
inline std::string assertion_subject_key(const jwt_bearer_signer& signer) {
    return assertion_subject_key(signer.lasting_claims(), "jkt=" + signer.key_thumbprint());
}

/// @brief The subject key of a JWT assertion (see above), which names iss and sub
/// (RFC 7523 §3).
/// @throws error `config` when it is not a JWS compact JWT whose claims hold both as strings
inline std::string assertion_subject_key(std::string_view jwt) {
    const std::size_t first = jwt.find('.');
    const std::size_t second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
    std::optional<std::string> header, payload;
    if (second != std::string_view::npos) {
        header = base64url_decode(jwt.substr(0, first));
        payload = base64url_decode(jwt.substr(first + 1, second - first - 1));
    }
    std::string key;
    if (header && payload) {
        json_notes notes;
        auto claims = parse_json_bounded(*payload, notes);
        wipe(*payload);
        auto head = parse_json_bounded(*header, notes);
        const auto names = [&claims](const char* name) {
            const auto it = claims.find(name);
            return it != claims.end() && it->is_string();
        };
        if (claims.is_object() && head.is_object() && names("iss") && names("sub")) {
            key = assertion_subject_key(std::move(claims), "jws=" + head.dump());
        } else {
            wipe_strings(claims);
        }
    }
    if (key.empty()) {
        throw error(error_kind::config,
                    "the grant_assertion is not a JWT whose header is a JSON object and whose "
                    "claims name iss and sub as strings (RFC 7523 §3)");
    }
    return key;
}

/// @brief The part of a token's key that names its subject, for token exchange: the
/// SHA-256 of the subject token, and of the actor token when there is one.
inline std::string exchange_subject_key(std::string_view subject, std::string_view actor) {
    std::string key = "subject_token=" + sha256_hex(subject);
    if (!actor.empty()) key += "&actor_token=" + sha256_hex(actor);
    return key;
}

/// @brief True when a manager must ask the sources in every get() which subject is
/// current: token exchange, and the JWT bearer grant with an assertion made elsewhere
/// (a file, say), whose issuer and subject only the assertion tells.
inline bool follows_subject(const client_config& cfg) noexcept {
    return cfg.grant == grant_type::token_exchange ||
           (cfg.grant == grant_type::jwt_bearer && own_signer(cfg) == nullptr);
}

/// @brief The current subject of a config that follows_subject(): what its sources gave,
/// and the key that names it (subject_now() makes it). The credentials are wiped with it.
struct current_subject {
    secret subject;   ///< token exchange: the subject token; JWT bearer: the assertion read
    secret actor;     ///< token exchange: the actor token, when there is one
    std::string key;  ///< exchange_subject_key() or assertion_subject_key()
    std::size_t key_hash = 0;  ///< std::hash of key, worked out once per subject
};

/// @brief cfg made to ask for subj's token only: token exchange sends subj's tokens (from
/// whatever thread its requests run on); the JWT bearer grant still takes a new assertion
/// for each request, refused when it names another subject.
inline client_config for_subject(client_config cfg, const current_subject& subj) {
    if (cfg.grant == grant_type::token_exchange) {
        auto subject = std::make_shared<const secret>(subj.subject);
        cfg.subject_token = [subject] { return subject->reveal(); };
        if (!subj.actor.empty()) {
            auto actor = std::make_shared<const secret>(subj.actor);
            cfg.actor_token = [actor] { return actor->reveal(); };
        }
    } else {
        cfg.grant_assertion = [source = cfg.grant_assertion, key = subj.key] {
            std::string assertion = source();
            try {
                if (assertion_subject_key(assertion) == key) return assertion;
            } catch (...) {
                wipe(assertion);
                throw;
            }
            wipe(assertion);
            throw error(error_kind::config,
                        "the grant_assertion now names another issuer or subject than the token "
                        "asked for; the next get() asks for the new one");
        };
    }
    return cfg;
}

/// @brief The grant's credentials of one request, asked of the sources for each send.
class grant_maker {
public:
    explicit grant_maker(const client_config& cfg)
        : grant_(cfg.grant),
          subject_(cfg.subject_token),
          subject_type_(cfg.subject_token_type),
          actor_(cfg.actor_token),
          actor_type_(cfg.actor_token_type),
          assertion_(cfg.grant_assertion) {}

    /// @brief Appends this request's fields to fields; each credential is also added to
    /// secrets (for redaction), and the caller wipes both.
    /// @throws error `config` as call_source(); nothing is then sent
    void make(name_value_list& fields, std::vector<std::string>& secrets) const {
        if (grant_ == grant_type::jwt_bearer) {
            secrets.push_back(call_source(assertion_, "grant_assertion"));
            fields.emplace_back("assertion", secrets.back());
            return;
        }
        secrets.push_back(call_source(subject_, "subject_token"));
        fields.emplace_back("subject_token", secrets.back());
        fields.emplace_back("subject_token_type", subject_type_);
        if (actor_) {
            secrets.push_back(call_source(actor_, "actor_token"));
            fields.emplace_back("actor_token", secrets.back());
            fields.emplace_back("actor_token_type", actor_type_);
        }
    }

private:
    grant_type grant_;
    std::function<std::string()> subject_;
    std::string subject_type_;
    std::function<std::string()> actor_;
    std::string actor_type_;
    std::function<std::string()> assertion_;
};

/// @brief Refuses a grant that lacks what it needs, or fields of another grant.
/// @throws error `config`; the message names the field, never a credential
inline void validate_grant(const client_config& cfg) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    const auto check_type = [&fail](const std::string& type, const char* name) {
        if (has_control(type) || type.find(' ') != std::string::npos) {
            fail(std::string(name) + " has spaces or control characters");
        }
    };
    const bool exchange = cfg.grant == grant_type::token_exchange;
    const std::string grant(to_string(cfg.grant));
    if (!exchange) {
        if (cfg.subject_token || cfg.actor_token) {
            fail("subject_token and actor_token are for grant_type::token_exchange, not " + grant);
        }
        if (!cfg.requested_token_type.empty() || !cfg.actor_token_type.empty()) {
            fail(
                "requested_token_type and actor_token_type are for grant_type::token_exchange, "
                "not " +
                grant);
        }
    }
    if (cfg.grant != grant_type::jwt_bearer && cfg.grant_assertion) {
        fail("grant_assertion is for grant_type::jwt_bearer, not " + grant);
    }
    if (exchange) {
        if (!cfg.subject_token) {
            fail(
                "grant_type::token_exchange needs the subject_token function (e.g. "
                "assertion_from_file(path) or subject_token_of(manager))");
        }
        if (cfg.subject_token_type.empty()) fail("subject_token_type is empty");
        if (cfg.actor_token && cfg.actor_token_type.empty()) {
            fail("actor_token is set without actor_token_type (RFC 8693 §2.1)");
        }
        if (!cfg.actor_token && !cfg.actor_token_type.empty()) {
            fail("actor_token_type is set without actor_token");
        }
        check_type(cfg.subject_token_type, "subject_token_type");
        check_type(cfg.actor_token_type, "actor_token_type");
        check_type(cfg.requested_token_type, "requested_token_type");
    }
    if (cfg.grant == grant_type::jwt_bearer && !cfg.grant_assertion) {
        fail(
            "grant_type::jwt_bearer needs the grant_assertion function (e.g. "
            "jwt_bearer_assertion(key, issuer, subject, audience) or assertion_from_file(path))");
    }
}

/// @brief True when a token_type of `N_A` may answer cfg: an exchange that asked for
/// something other than an access token (RFC 8693 §2.2.1).
inline bool accepts_not_applicable(const client_config& cfg) noexcept {
    return cfg.grant == grant_type::token_exchange && !cfg.requested_token_type.empty() &&
           cfg.requested_token_type != token_types::access_token;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/store/secret_file.hpp ----

// ---- oauth2cc/detail/oauth/token_request.hpp ----

// ---- oauth2cc/detail/oauth/cache_key.hpp ----

// ---- oauth2cc/detail/oauth/client_assertion.hpp ----

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace oauth2cc::detail {

/// @brief `client_assertion_type` for a JWT (RFC 7523 §2.2).
inline constexpr const char* jwt_bearer_assertion_type =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// @brief True for the methods that send a `client_assertion`.
/// @brief Whether the method sends the client secret (itself, or as the HS256 key).
constexpr bool sends_secret(auth_method m) noexcept {
    return m == auth_method::client_secret_basic || m == auth_method::client_secret_post ||
           m == auth_method::client_secret_jwt;
}

constexpr bool sends_assertion(auth_method m) noexcept {
    return m == auth_method::client_secret_jwt || m == auth_method::private_key_jwt ||
           m == auth_method::client_assertion;
}

/// @brief Makes the assertion of one token request, from what a valid client_config
/// says: signed here (client_secret_jwt, private_key_jwt) or taken from the user's
/// source (client_assertion).
class assertion_maker {
public:
    explicit assertion_maker(const client_config& cfg)
        : method_(cfg.auth),
          client_id_(cfg.client_id),
          audience_(cfg.assertion_audience.empty() ? cfg.token_endpoint : cfg.assertion_audience),
          lifetime_(cfg.assertion_lifetime),
          key_(cfg.client_key),
          source_(cfg.client_assertion) {
        if (method_ == auth_method::client_secret_jwt) hmac_key_ = cfg.client_secret;
    }

    /// @brief A new assertion: a new `jti`, `iat` now. The caller wipes it once sent.
    /// @throws error `config` when it cannot be made (the source threw or gave nothing)
    std::string make() const {
        if (method_ == auth_method::client_assertion)
            return call_source(source_, "client_assertion");
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        nlohmann::json header(nlohmann::json::value_t::object);
        header["alg"] = method_ == auth_method::client_secret_jwt
                            ? "HS256"
                            : std::string(to_string(key_->alg()));
        header["typ"] = "JWT";
        if (method_ == auth_method::private_key_jwt && !key_->kid().empty()) {
            header["kid"] = key_->kid();
        }
        nlohmann::json claims(nlohmann::json::value_t::object);
        claims["iss"] = client_id_;
        claims["sub"] = client_id_;
        claims["aud"] = audience_;
        claims["jti"] = new_jti();
        claims["iat"] = now;
        claims["exp"] = now + lifetime_.count();
        std::string input = jws_signing_input(header, claims);
        const std::string signature = method_ == auth_method::client_secret_jwt
                                          ? hmac_sha256(hmac_key_.reveal(), input)
                                          : key_->sign(input);
        return jws_compact(std::move(input), signature);
    }

private:
    auth_method method_;
    std::string client_id_;
    std::string audience_;
    std::chrono::seconds lifetime_;
    std::optional<signing_key> key_;
    secret hmac_key_;
    std::function<std::string()> source_;
};

}  // namespace oauth2cc::detail

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The RFC 8705 §3.1 `x5t#S256` of the first PEM certificate a BIO holds: the
/// base64url SHA-256 of its DER form, which a certificate-bound token names in `cnf`.
/// Empty when it holds none. Frees the BIO.
inline std::string certificate_thumbprint_of(BIO* in) {
    if (in == nullptr) return {};
    X509* cert = PEM_read_bio_X509(in, nullptr, refuse_passphrase, nullptr);
    BIO_free(in);
    std::string out;
    unsigned char* der = nullptr;
    const int n = cert != nullptr ? i2d_X509(cert, &der) : -1;
    if (n > 0) {
        out = base64url(sha256_raw(
            std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n))));
    }
    OPENSSL_free(der);
    X509_free(cert);
    ERR_clear_error();
    return out;
}

/// @brief As above, of a PEM file.
inline std::string certificate_thumbprint_of_file(const std::string& path) {
    return certificate_thumbprint_of(BIO_new_file(path.c_str(), "r"));
}

/// @brief As above, of PEM text.
inline std::string certificate_thumbprint_of_pem(std::string_view pem) {
    return certificate_thumbprint_of(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

/// @brief A canonical text of what shapes a token: endpoint, client id, authentication
/// method, scopes and resources as sets, audience, and extra parameters sorted; for the
/// assertion methods the assertions' audience, for private_key_jwt the key's RFC 7638
/// thumbprint, the DPoP key's thumbprint, and the client certificate's; for a grant
/// beyond client credentials the grant and its token types, and for the JWT bearer grant
/// with jwt_bearer_assertion() what its assertions claim and the key that signs them
/// (assertion_subject_key(); a manager adds the subject of the others to each entry's
/// key: current_subject::key). Two
/// configurations that would get interchangeable tokens have the same key. The secret,
/// timeouts, trust settings and the user agent are not part of it.
inline std::string cache_key(const client_config& cfg) {
    auto as_set = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return v;
    };
    auto extras = cfg.extra_params;
    std::sort(extras.begin(), extras.end());
    // Form encoding is one-to-one and encodes '&' and '=', so distinct configurations
    // cannot meet on one key, whatever bytes their fields hold.
    std::string key = "oauth2cc-cache-key=1";
    const auto field = [&key](const char* name, const std::string& value) {
        key += '&';
        key += name;
        key += '=';
        key += form_encode(value);
    };
    field("token_endpoint", cfg.token_endpoint);
    if (cfg.token_endpoint.empty()) field("issuer", cfg.issuer);
    field("client_id", cfg.client_id);
    field("auth", std::string(to_string(cfg.auth)));
    for (const auto& s : as_set(cfg.scopes)) field("scope", s);
    field("audience", cfg.audience);
    if (cfg.auth == auth_method::private_key_jwt && cfg.client_key) {
        // The key's thumbprint, never the key: another key is another client credential.
        field("client_key", cfg.client_key->jwk_thumbprint());
    }
    if (!cfg.tls.client_cert_pem.empty()) {
        const std::string x5t = certificate_thumbprint_of_pem(cfg.tls.client_cert_pem);
        field("client_cert", x5t.empty() ? "pem:" + sha256_hex(cfg.tls.client_cert_pem) : x5t);
    } else if (!cfg.tls.client_cert_file.empty()) {
        // A certificate-bound token (RFC 8705 §3) is good only with its certificate; the
        // file's name stands in when it cannot be read (the request then fails anyway).
        const std::string x5t = certificate_thumbprint_of_file(cfg.tls.client_cert_file);
        field("client_cert", x5t.empty() ? "file:" + cfg.tls.client_cert_file : x5t);
    }
    if (cfg.dpop_key) {
        // A DPoP-bound token is good only with the key it is bound to.
        field("dpop_key", cfg.dpop_key->jwk_thumbprint());
    }
    if (sends_assertion(cfg.auth)) {
        field("assertion_audience", cfg.assertion_audience);
    }
    for (const auto& r : as_set(cfg.resources)) field("resource", r);
    for (const auto& [name, value] : extras)
        field("extra", form_encode(name) + "=" + form_encode(value));
    // Fields of the grants beyond client credentials come last, so that a
    // client-credentials key stays what it was.
    if (cfg.grant == grant_type::token_exchange) {
        field("grant", "token_exchange");
        field("subject_token_type", cfg.subject_token_type);
        if (cfg.actor_token) field("actor_token_type", cfg.actor_token_type);
        field("requested_token_type", cfg.requested_token_type);
    } else if (cfg.grant == grant_type::jwt_bearer) {
        field("grant", "jwt_bearer");
        if (const jwt_bearer_signer* signer = own_signer(cfg)) {
            key += '&';
            key += assertion_subject_key(*signer);
        }
    }
    return key;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/oauth/dpop.hpp ----

// ---- oauth2cc/detail/http/url.hpp ----

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

struct url_parts {
    bool https = false;
    std::string host;  ///< As written, IPv6 literals without their brackets.
    int port = 0;      ///< The explicit port, else 443 or 80.
    std::string path;  ///< Path and query, at least "/".
};

/// @brief Parses an absolute http or https URL. Refuses user info ("user:pass@"), a
/// fragment, controls and spaces, an empty host, a bad port: those are empty results.
inline std::optional<url_parts> parse_url(std::string_view url) {
    url_parts parts;
    for (char c : url) {
        if (is_control(c) || c == ' ') return std::nullopt;
    }
    const std::size_t colon = url.find("://");
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string_view scheme = url.substr(0, colon);
    if (iequals(scheme, "https")) {
        parts.https = true;
    } else if (!iequals(scheme, "http")) {
        return std::nullopt;
    }
    std::string_view rest = url.substr(colon + 3);
    if (rest.find('#') != std::string_view::npos) return std::nullopt;
    const std::size_t path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    parts.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (parts.path.front() == '?') parts.path.insert(0, "/");
    if (authority.find('@') != std::string_view::npos) return std::nullopt;

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        parts.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port_text = after.substr(1);
        }
    } else {
        const std::size_t port_colon = authority.find(':');
        parts.host = std::string(authority.substr(0, port_colon));
        if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
    }
    if (parts.host.empty()) return std::nullopt;
    parts.port = parts.https ? 443 : 80;
    if (!port_text.empty()) {
        int port = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9') return std::nullopt;
            port = port * 10 + (c - '0');
            if (port > 65535) return std::nullopt;
        }
        if (port == 0) return std::nullopt;
        parts.port = port;
    }
    return parts;
}

/// @brief The one rule of parse_url() that url breaks, first found, in words for a message
/// that never quotes the URL (it may carry a password); empty when it breaks none.
inline std::string url_problem(std::string_view url) {
    if (url.empty()) return "is empty";
    for (char c : url) {
        if (is_control(c) || c == ' ') return "holds a space or a control character";
    }
    const std::size_t colon = url.find("://");
    if (colon == std::string_view::npos) return "has no scheme: write https://host/path";
    const std::string_view scheme = url.substr(0, colon);
    if (!iequals(scheme, "https") && !iequals(scheme, "http")) {
        return "has a scheme other than https:// or http://";
    }
    const std::string_view rest = url.substr(colon + 3);
    if (rest.find('#') != std::string_view::npos) return "has a fragment (#...): remove it";
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (authority.find('@') != std::string_view::npos) {
        return "carries user info (user:password@): give credentials in their own settings";
    }
    if (authority.empty() || authority.front() == ':') return "has no host";
    if (!parse_url(url)) return "has a port that is not a number from 1 to 65535";
    return {};
}

/// @brief "https://host:port", with IPv6 literals in brackets.
inline std::string origin_of(const url_parts& url) {
    std::string origin = url.https ? "https://" : "http://";
    const bool ipv6 = url.host.find(':') != std::string::npos;
    if (ipv6) origin.push_back('[');
    origin += url.host;
    if (ipv6) origin.push_back(']');
    origin += ":" + std::to_string(url.port);
    return origin;
}

/// @brief True for `localhost`, `::1` (written `[::1]` in a URL), and 127.0.0.0/8 in
/// canonical dotted-decimal form: four octets of 0 to 255 without leading zeros. Nothing
/// else counts, since a resolver reads other spellings differently (`0127.0.0.1` is octal,
/// 87.0.0.1; `127.0.0.08` is no address and goes to DNS; `127.1` is 127.0.0.1 to some
/// resolvers and a name to others).
inline bool is_loopback_host(std::string_view host) {
    if (iequals(host, "localhost") || host == "::1") return true;
    int octets = 0;
    std::size_t start = 0;
    int first = -1;
    while (start <= host.size()) {
        std::size_t end = host.find('.', start);
        if (end == std::string_view::npos) end = host.size();
        const std::string_view octet = host.substr(start, end - start);
        if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) {
            return false;
        }
        int value = 0;
        for (char c : octet) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255) return false;
        if (octets == 0) first = value;
        ++octets;
        start = end + 1;
    }
    return octets == 4 && first == 127;
}

/// @brief The request target as it goes on the wire: the caller's bytes, percent escapes
/// kept as written, and only what may not appear in a target escaped (non-ASCII and the
/// characters RFC 3986 excludes). cpp-httplib's own re-encoding is off: it turned '+' into
/// %2B, so a form-encoded space arrived as a plus sign. A DPoP proof's `htu` is made by the
/// same function (dpop_htu), so that it names the URI the server receives.
inline std::string wire_target(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
            c == '{' || c == '|' || c == '}') {
            append_percent_escape(out, u);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace oauth2cc::detail

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief The longest nonce kept; a server's longer one is ignored.
inline constexpr std::size_t max_dpop_nonce_bytes = 1024;

/// @brief True for a nonce of RFC 9449 §4.2: 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E
/// (visible ASCII but '"' and '\'), and no longer than max_dpop_nonce_bytes.
inline bool is_dpop_nonce(std::string_view nonce) noexcept {
    if (nonce.empty() || nonce.size() > max_dpop_nonce_bytes) return false;
    for (const char c : nonce) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7E || u == 0x22 || u == 0x5C) return false;
    }
    return true;
}

/// @brief The `htu` of a request to url: the URL without its query and fragment
/// (RFC 9449 §4.2), its path escaped as the transport sends it (wire_target), so that
/// the proof names the very URI the server receives.
inline std::string dpop_htu(std::string_view url) {
    return wire_target(url.substr(0, url.find_first_of("?#")));
}

/// @brief Appends text as a JSON string: '"' and '\' escaped, control characters as
/// \u00XX; other bytes as they are.
inline void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20 || u == 0x7F) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(u));
            out += escaped;
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

/// @brief Makes DPoP proofs with one key. The protected header (`typ` `dpop+jwt`, `alg`,
/// and the public `jwk` with its required members only) is encoded once; each proof adds
/// claims and a signature. Thread-safe: proofs may be made on any number of threads.
class dpop_prover {
public:
    explicit dpop_prover(signing_key key)
        : key_(std::move(key)), thumbprint_(key_.jwk_thumbprint()) {
        std::string header = "{\"typ\":\"dpop+jwt\",\"alg\":";
        append_json_string(header, to_string(key_.alg()));
        header += ",\"jwk\":" + jwk_thumbprint_input(key_.public_jwk()) + "}";
        encoded_header_ = base64url(header);
    }

    /// @brief A proof for one request: a new `jti`, `htm` method, `htu` url without query
    /// and fragment, `iat` now, `nonce` when not empty, and `ath` (base64url SHA-256 of
    /// the access token) when a token is given (RFC 9449 §4.2, §7.1).
    /// @throws error `config` when the key cannot sign
    std::string proof(std::string_view method, std::string_view url, std::string_view nonce = {},
                      std::string_view access_token = {}) const {
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        return proof_at(method, url, nonce, access_token, now);
    }

    /// @brief As proof(), with `iat` given (Unix seconds).
    std::string proof_at(std::string_view method, std::string_view url, std::string_view nonce,
                         std::string_view access_token, std::int64_t iat) const {
        std::string claims;
        claims.reserve(160 + url.size() + nonce.size());
        claims += "{\"jti\":\"";
        claims += new_jti();
        claims += "\",\"htm\":";
        append_json_string(claims, method);
        claims += ",\"htu\":";
        append_json_string(claims, dpop_htu(url));
        claims += ",\"iat\":";
        claims += std::to_string(iat);
        if (!nonce.empty()) {
            claims += ",\"nonce\":";
            append_json_string(claims, nonce);
        }
        if (!access_token.empty()) {
            claims += ",\"ath\":\"";
            base64url_append(claims, sha256_raw(access_token));
            claims.push_back('"');
        }
        claims.push_back('}');
        std::string input;
        input.reserve(encoded_header_.size() + base64_size(claims.size()) + 100);
        input = encoded_header_;
        input.push_back('.');
        base64url_append(input, claims);
        const std::string signature = key_.sign(input);
        return jws_compact(std::move(input), signature);
    }

    /// @brief The key's RFC 7638 thumbprint: the `jkt` a bound token carries in `cnf`.
    const std::string& thumbprint() const noexcept { return thumbprint_; }

private:
    signing_key key_;
    std::string thumbprint_;
    std::string encoded_header_;
};

/// @brief The latest DPoP nonce each origin gave, for the proofs sent there next. Keeps
/// the most recently given max_origins origins. Thread-safe.
class dpop_nonces {
public:
    static constexpr std::size_t max_origins = 64;

    /// @brief The nonce to send to origin; empty when it gave none.
    std::string get(std::string_view origin) const {
        const std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& [o, n] : entries_) {
            if (o == origin) return n;
        }
        return {};
    }

    /// @brief Keeps nonce for origin; a value that is not a nonce is ignored.
    /// @returns true when it was kept and differs from the one kept before
    bool put(std::string_view origin, std::string_view nonce) {
        if (!is_dpop_nonce(nonce)) return false;
        const std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (it->first == origin) {
                const bool changed = it->second != nonce;
                // The most recent last: the first is the one to give up.
                auto entry = std::move(*it);
                entries_.erase(it);
                entry.second = std::string(nonce);
                entries_.push_back(std::move(entry));
                return changed;
            }
        }
        if (entries_.size() >= max_origins) entries_.erase(entries_.begin());
        entries_.emplace_back(std::string(origin), std::string(nonce));
        return true;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, std::string>> entries_;
};

/// @brief The origin of an absolute URL ("https://host:443"), as nonces are kept under;
/// empty for a URL that does not parse.
inline std::string dpop_origin(std::string_view url) {
    const auto parts = parse_url(url);
    return parts ? origin_of(*parts) : std::string();
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/http/connection_check.hpp ----

// ---- oauth2cc/detail/http/proxy.hpp ----

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief An HTTP proxy: where it is, and the Basic credentials it wants, if any.
struct proxy_parts {
    std::string host;  ///< As written, IPv6 literals without their brackets.
    int port = 1080;   ///< curl's default for a proxy without a port.
    std::string user;  ///< Percent-decoded.
    std::string password;
};

/// @brief Decodes %XX escapes; other bytes stay.
inline std::string percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
        const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
        if (in[i] == '%' && hi >= 0 && lo >= 0) {
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// @brief Parses "http://[user[:password]@]host[:port][/]"; a URL without a scheme is
/// taken as http://, as curl does. Empty for anything else (https:// and socks proxies
/// included: cpp-httplib speaks plain HTTP to a proxy, and CONNECT through it for
/// https:// targets).
inline std::optional<proxy_parts> parse_proxy(std::string_view url) {
    std::string text(trim(url));
    if (text.find("://") == std::string::npos) text.insert(0, "http://");
    const std::size_t scheme_end = text.find("://");
    if (!iequals(std::string_view(text).substr(0, scheme_end), "http")) return std::nullopt;
    proxy_parts out;
    const std::size_t authority_start = scheme_end + 3;
    const std::size_t authority_end = text.find_first_of("/?#", authority_start);
    std::string authority = text.substr(authority_start, authority_end - authority_start);
    if (authority_end != std::string::npos) {
        const std::string_view rest = std::string_view(text).substr(authority_end);
        if (rest != "/") return std::nullopt;  // a proxy has no path
    }
    const std::size_t at = authority.rfind('@');
    if (at != std::string::npos) {
        const std::string userinfo = authority.substr(0, at);
        const std::size_t colon = userinfo.find(':');
        out.user = percent_decode(userinfo.substr(0, colon));
        if (colon != std::string::npos) out.password = percent_decode(userinfo.substr(colon + 1));
        authority.erase(0, at + 1);
        if (out.user.empty() || has_control(out.user) || has_control(out.password)) {
            return std::nullopt;
        }
    }
    // The host and port as an http URL would have them; a missing port is 1080.
    const std::size_t close = authority.rfind(']');
    const std::size_t colon = authority.rfind(':');
    const bool has_port =
        colon != std::string::npos && (close == std::string::npos || colon > close);
    const auto parts = parse_url("http://" + authority + "/");
    if (!parts) return std::nullopt;
    out.host = parts->host;
    out.port = has_port ? parts->port : 1080;
    return out;
}

/// @brief Whether an IP address lies in "address/bits"; false for anything that is not
/// two addresses of one family.
inline bool in_cidr(const std::string& host, std::string_view entry) {
    const std::size_t slash = entry.find('/');
    if (slash == std::string_view::npos) return false;
    const std::string net(entry.substr(0, slash));
    int bits = 0;
    for (char c : entry.substr(slash + 1)) {
        if (c < '0' || c > '9' || bits > 128) return false;
        bits = bits * 10 + (c - '0');
    }
    unsigned char a[16], b[16];
    std::size_t length = 0;
    if (inet_pton(AF_INET, host.c_str(), a) == 1 && inet_pton(AF_INET, net.c_str(), b) == 1) {
        length = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), a) == 1 &&
               inet_pton(AF_INET6, net.c_str(), b) == 1) {
        length = 16;
    } else {
        return false;
    }
    if (slash + 1 == entry.size() || bits > static_cast<int>(length * 8)) return false;
    for (std::size_t i = 0; i < length && bits > 0; ++i, bits -= 8) {
        const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
        if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
}

/// @brief Whether a NO_PROXY list, as curl reads it, exempts host: "*" exempts every
/// host; otherwise each comma-separated entry (a leading '.' dropped, IPv6 without
/// brackets) matches that host and the hosts under it, and an "address/bits" entry
/// matches the IP addresses in that range.
inline bool no_proxy_matches(std::string_view list, std::string_view host) {
    std::string h(host);
    if (!h.empty() && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    while (!h.empty() && h.back() == '.') h.pop_back();
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(',', start);
        if (end == std::string_view::npos) end = list.size();
        std::string_view entry = trim(list.substr(start, end - start));
        start = end + 1;
        if (entry == "*") return true;
        std::string unbracketed;
        if (!entry.empty() && entry.front() == '[' && entry.find(']') != std::string_view::npos) {
            const std::size_t close = entry.find(']');
            unbracketed =
                std::string(entry.substr(1, close - 1)) + std::string(entry.substr(close + 1));
            entry = unbracketed;
        }
        while (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
        while (!entry.empty() && entry.back() == '.') entry.remove_suffix(1);
        if (entry.empty()) continue;
        if (entry.find('/') != std::string_view::npos) {
            if (in_cidr(h, entry)) return true;
            continue;
        }
        if (iequals(h, entry)) return true;
        if (h.size() > entry.size() && h[h.size() - entry.size() - 1] == '.' &&
            iequals(std::string_view(h).substr(h.size() - entry.size()), entry)) {
            return true;
        }
    }
    return false;
}

}  // namespace oauth2cc::detail

#include <string>

namespace oauth2cc::detail {

/// @brief Refuses connection options that no request could be made with.
/// @throws error of kind `config`; the message names the field, never its value where it
///         may hold a credential (the proxy URL)
inline void check_connection(const connection_options& o) {
    const auto fail = [](const char* why) { throw error(error_kind::config, why); };
    if (!timeouts_in_range(o.connect_timeout, o.read_timeout)) {
        fail("connect_timeout and read_timeout must be positive and at most a day each");
    }
    if (o.max_response_bytes == 0) fail("max_response_bytes must be positive");
    if (has_control(o.user_agent)) fail("user_agent contains control characters");
    if (o.tls.client_cert_file.empty() != o.tls.client_key_file.empty()) {
        fail("tls.client_cert_file and tls.client_key_file go together");
    }
    if (o.tls.client_cert_pem.empty() != o.tls.client_key_pem.empty()) {
        fail("tls.client_cert_pem and tls.client_key_pem go together");
    }
    if (!o.tls.client_cert_file.empty() && !o.tls.client_cert_pem.empty()) {
        fail("set the client certificate once: tls.client_cert_file or tls.client_cert_pem");
    }
    if (!o.proxy.empty() && !parse_proxy(o.proxy)) {
        fail(
            "the proxy is not an http://[user:password@]host[:port] URL (cpp-httplib "
            "speaks plain HTTP to a proxy)");
    }
}

/// @brief Refuses plain http:// to a host that is not loopback, unless allowed.
/// @param field   the option that holds the URL, for the message
/// @param exposed what would cross the network in clear, for the message
inline void check_plain_http(const url_parts& url, const connection_options& o, const char* field,
                             const char* exposed) {
    if (url.https || o.allow_insecure_http || is_loopback_host(url.host)) return;
    throw error(error_kind::config, std::string(field) + " uses plain http:// to " +
                                        excerpt(url.host, 100) +
                                        ", which is not loopback: " + exposed +
                                        " would cross the network in clear; use https:// or set "
                                        "allow_insecure_http");
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/text/redact.hpp ----

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Strings that must never reach a message, each replaced by "***" in whatever
/// spelling a server may echo it: raw, percent-encoded (either hex case, `+` or `%20` for
/// a space, any mix of escaped and literal bytes, as form encoding and Python's `quote()`
/// give), JSON-escaped (`\/`, `\"`, `\uXXXX`, surrogate pairs), or as excerpt() prints
/// it (`?` for controls and non-ASCII). Owns copies of the strings and wipes them when
/// destroyed.
class redactions {
public:
    redactions() = default;
    redactions(const redactions&) = delete;
    redactions& operator=(const redactions&) = delete;
    redactions(redactions&& other) noexcept : hidden_(std::move(other.hidden_)) {}
    redactions& operator=(redactions&&) = delete;
    ~redactions() {
        for (auto& s : hidden_) wipe(s);
    }

    /// @brief A copy that hides the same strings, for adding more to one request's.
    redactions copy() const {
        redactions out;
        for (const auto& s : hidden_) out.add(s);
        return out;
    }

    /// @brief Hides text, in every spelling above, wherever it appears.
    void add(std::string text) {
        if (text.empty()) return;
        if (hidden_.size() == hidden_.capacity()) {
            // A short string lives inside the vector's own block: it is wiped there before
            // that block is freed.
            std::vector<std::string> bigger;
            bigger.reserve(2 * hidden_.size() + 2);
            for (auto& s : hidden_) bigger.push_back(std::move(s));
            for (auto& s : hidden_) wipe(s);
            hidden_.swap(bigger);
        }
        hidden_.push_back(std::move(text));
        wipe(text);
    }

    /// @brief Text with every hidden string replaced by "***". One pass from left to
    /// right; at each place the longest match of any hidden string wins, so that a string
    /// that contains another is hidden whole. The output is built anew, never shifted in
    /// place, so the cost grows with the text times the longest hidden string at worst.
    std::string apply(std::string text) const {
        if (hidden_.empty()) return text;
        std::string out;
        out.reserve(text.size());
        std::size_t at = 0;
        while (at < text.size()) {
            std::size_t longest = 0;
            for (const auto& s : hidden_) {
                const std::size_t n = match_length(text, at, s);
                if (n > longest) longest = n;
            }
            if (longest > 0) {
                out += "***";
                at += longest;
            } else {
                out.push_back(text[at]);
                ++at;
            }
        }
        wipe(text);
        return out;
    }

    /// @brief A sanitised excerpt of text with nothing hidden left in it.
    std::string excerpt_of(std::string_view text, std::size_t max_bytes) const {
        return apply(excerpt(apply(std::string(text)), max_bytes));
    }

private:
    /// @brief The value of `count` hex digits at text[at], or -1.
    static long hex_at(std::string_view text, std::size_t at, std::size_t count) noexcept {
        if (text.size() < at + count) return -1;
        long value = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const int digit = hex_value(text[at + i]);
            if (digit < 0) return -1;
            value = value * 16 + digit;
        }
        return value;
    }

    /// @brief The code point of the UTF-8 sequence at s[at] and its length, or length 0.
    static std::pair<std::uint32_t, std::size_t> utf8_at(std::string_view s,
                                                         std::size_t at) noexcept {
        const auto u = static_cast<unsigned char>(s[at]);
        std::size_t length = u < 0x80           ? 1
                             : (u >> 5) == 0x6  ? 2
                             : (u >> 4) == 0xe  ? 3
                             : (u >> 3) == 0x1e ? 4
                                                : 0;
        if (length == 0 || at + length > s.size()) return {0, 0};
        std::uint32_t cp = length == 1 ? u : u & (0x7fu >> length);
        for (std::size_t i = 1; i < length; ++i) {
            const auto c = static_cast<unsigned char>(s[at + i]);
            if ((c & 0xc0) != 0x80) return {0, 0};
            cp = (cp << 6) | (c & 0x3f);
        }
        return {cp, length};
    }

    /// @brief Calls next(text_end, secret_end) for each spelling, in text from `at`, of
    /// the secret's bytes from `k`: one byte, or one whole character for `\u` escapes.
    template <typename Next>
    static void spellings(std::string_view text, std::size_t at, std::string_view secret,
                          std::size_t k, Next&& next) {
        const char b = secret[k];
        const auto u = static_cast<unsigned char>(b);
        const char c = text[at];
        if (c == b) next(at + 1, k + 1);
        if (c == '?' && (u < 0x20 || u >= 0x7f)) next(at + 1, k + 1);
        if (c == '+' && b == ' ') next(at + 1, k + 1);
        if (c == '%' && hex_at(text, at + 1, 2) == u) next(at + 3, k + 1);
        if (c != '\\' || at + 1 >= text.size()) return;
        const char e = text[at + 1];
        const char plain = e == 'n'                              ? '\n'
                           : e == 't'                            ? '\t'
                           : e == 'r'                            ? '\r'
                           : e == 'b'                            ? '\b'
                           : e == 'f'                            ? '\f'
                           : (e == '/' || e == '"' || e == '\\') ? e
                                                                 : '\0';
        if (plain != '\0' && plain == b) next(at + 2, k + 1);
        if (e != 'u') return;
        const auto [cp, length] = utf8_at(secret, k);
        if (length == 0) return;
        const long unit = hex_at(text, at + 2, 4);
        if (cp < 0x10000) {
            if (unit == static_cast<long>(cp)) next(at + 6, k + length);
            return;
        }
        const long high = 0xd800 + ((cp - 0x10000) >> 10);
        const long low = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        if (unit == high && at + 12 <= text.size() && text[at + 6] == '\\' && text[at + 7] == 'u' &&
            hex_at(text, at + 8, 4) == low) {
            next(at + 12, k + length);
        }
    }

    /// @brief How many bytes of text from `at` spell the whole secret, the longest such
    /// spelling; 0 when none does. Follows every spelling at once (a small set of places).
    static std::size_t match_length(std::string_view text, std::size_t at,
                                    std::string_view secret) {
        const char c = text[at];
        if (c != secret[0] && c != '?' && c != '+' && c != '%' && c != '\\') return 0;
        // (text position, secret position) pairs still alive; a secret byte has at most
        // six spellings, so this stays short.
        std::vector<std::pair<std::size_t, std::size_t>> alive{{at, 0}};
        std::vector<std::pair<std::size_t, std::size_t>> next_alive;
        std::size_t longest = 0;
        while (!alive.empty()) {
            next_alive.clear();
            for (const auto& [t, k] : alive) {
                if (k == secret.size()) {
                    if (t - at > longest) longest = t - at;
                    continue;
                }
                if (t >= text.size()) continue;
                spellings(text, t, secret, k, [&](std::size_t t2, std::size_t k2) {
                    for (const auto& p : next_alive) {
                        if (p.first == t2 && p.second == k2) return;
                    }
                    next_alive.emplace_back(t2, k2);
                });
            }
            alive.swap(next_alive);
        }
        return longest;
    }

    std::vector<std::string> hidden_;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/http/trace.hpp ----

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief "host:port" of a URL, for log lines and spans; "?" when it is not one.
inline std::string server_of(std::string_view url) {
    const auto parts = parse_url(url);
    return parts ? excerpt(parts->host, 100) + ":" + std::to_string(parts->port) : "?";
}

/// @brief True for a W3C Trace Context `traceparent` value of version 00:
/// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lower case, ids not all zero.
inline bool is_traceparent(std::string_view v) noexcept {
    if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
    const auto hex = [&v](std::size_t from, std::size_t n, bool nonzero) {
        bool any = false;
        for (std::size_t i = from; i < from + n; ++i) {
            const char c = v[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
            any = any || c != '0';
        }
        return any || !nonzero;
    };
    return v.substr(0, 2) == "00" && hex(3, 32, true) && hex(36, 16, true) && hex(53, 2, false);
}

/// @brief Adds `traceparent` from source when it is set and gives a valid value, and the
/// request has none of its own; a source that throws, or gives an empty or malformed
/// value, adds nothing (tracing never fails a request, and a malformed value is not
/// passed on).
inline void add_traceparent(http_request& req, const std::function<std::string()>& source) {
    if (!source) return;
    for (const auto& header : req.headers) {
        if (iequals(header.first, "traceparent")) return;
    }
    std::string value;
    try {
        value = source();
    } catch (...) {
        return;
    }
    if (is_traceparent(value)) req.headers.emplace_back("traceparent", std::move(value));
}

/// @brief A span that ends when the scope does: as set by answered() and failed(), or as
/// a failure of the transport when an exception leaves the scope unreported.
class span_scope {
public:
    span_scope(const std::shared_ptr<tracer>& by, const span_start& what,
               trace_span* parent = nullptr) noexcept
        : exceptions_(std::uncaught_exceptions()) {
        if (!by) return;
        try {
            span_ = by->start_span(what, parent);
        } catch (...) {
            span_.reset();
        }
    }
    span_scope(const span_scope&) = delete;
    span_scope& operator=(const span_scope&) = delete;
    ~span_scope() {
        if (!span_) return;
        if (!reported_ && std::uncaught_exceptions() > exceptions_) {
            how_.outcome = request_outcome::transport;
        }
        how_.oauth_error = oauth_error_;
        span_->end(how_);
    }

    /// @brief The span, as the parent of others; null when there is none.
    trace_span* get() const noexcept { return span_.get(); }

    /// @brief A response came: its status (an outcome of success until failed() says).
    void answered(int status) noexcept { how_.http_status = status; }

    /// @brief The span failed with e.
    void failed(const error& e) noexcept {
        reported_ = true;
        how_.outcome = outcome_of(e.kind());
        if (e.http_status() != 0) how_.http_status = e.http_status();
        try {
            oauth_error_ = e.oauth_error();
        } catch (...) {
            oauth_error_.clear();
        }
    }

    /// @brief A Bearer or DPoP error a resource server gave with a 401 or 403.
    void challenged(std::string_view code) {
        if (span_) oauth_error_ = std::string(code);
    }

    /// @brief How a token acquisition was served.
    void served(cache_outcome cache) noexcept { how_.cache = cache; }

    /// @brief The outcome is set: an exception leaving the scope now is not the span's.
    void done() noexcept { reported_ = true; }

private:
    std::unique_ptr<trace_span> span_;
    span_end how_;
    std::string oauth_error_;
    int exceptions_;
    bool reported_ = false;
};

}  // namespace oauth2cc::detail

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace oauth2cc::detail {

/// @brief The requested scopes, space-joined as RFC 6749 §3.3 wants.
inline std::string joined_scope(const client_config& cfg) {
    std::string scope;
    for (const auto& s : cfg.scopes) {
        if (!scope.empty()) scope.push_back(' ');
        scope += s;
    }
    return scope;
}

/// @brief Refuses an authentication method that lacks what it needs.
/// @throws error of kind `config`; the message names the field, never a secret
inline void validate_client_authentication(const client_config& cfg) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    switch (cfg.auth) {
        case auth_method::client_secret_basic:
        case auth_method::client_secret_post:
            // Sending no secret would only earn an invalid_client, one request later.
            if (cfg.client_secret.empty() && cfg.client_secret_file.empty()) {
                fail(std::string(to_string(cfg.auth)) +
                     " sends a client secret, and none is set: set client_secret_file "
                     "(OAUTH2_CLIENT_SECRET_FILE, oauth2cc-cli --client-secret-file) or "
                     "client_secret; a public client, which has none, uses "
                     "auth_method::none");
            }
            return;
        case auth_method::none:
            return;
        case auth_method::client_secret_jwt:
            // RFC 7518 §3.2: an HS256 key is at least as long as the hash, 32 bytes.
            if (cfg.client_secret.reveal().size() < 32) {
                fail(
                    "client_secret_jwt signs with HS256, which needs a client_secret of 32 "
                    "bytes or more (RFC 7518 §3.2); this one has " +
                    std::to_string(cfg.client_secret.reveal().size()));
            }
            break;
        case auth_method::private_key_jwt:
            if (!cfg.client_key) fail("private_key_jwt needs client_key");
            break;
        case auth_method::client_assertion:
            if (!cfg.client_assertion) {
                fail(
                    "auth_method::client_assertion needs the client_assertion function "
                    "(e.g. assertion_from_file(path))");
            }
            break;
        case auth_method::tls_client_auth:
        case auth_method::self_signed_tls_client_auth:
            if (!cfg.tls.has_client_certificate()) {
                fail(std::string(to_string(cfg.auth)) +
                     " authenticates with the TLS client certificate: set "
                     "tls.client_cert_file and tls.client_key_file (or the _pem fields)");
            }
            break;
    }
    if (cfg.assertion_lifetime.count() < 1 || cfg.assertion_lifetime > std::chrono::hours(1)) {
        fail("assertion_lifetime must be from 1 second to 1 hour");
    }
    if (!cfg.assertion_audience.empty() && has_control(cfg.assertion_audience)) {
        fail("assertion_audience contains control characters");
    }
}

/// @brief Refuses a configuration that cannot make a correct, safe token request.
/// @throws error of kind `config`; the message names the field, never a secret
inline url_parts validate_config(const client_config& cfg) {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    auto url = parse_url(cfg.token_endpoint);
    if (!url) {
        // The text is not echoed: a refused URL may carry credentials ("user:pass@").
        fail("token_endpoint " + url_problem(cfg.token_endpoint) +
             " (an absolute http:// or https:// URL is wanted)");
    }
    check_plain_http(*url, cfg, "token_endpoint", "credentials");
    if (cfg.client_id.empty()) fail("client_id is empty");
    for (const auto& s : cfg.scopes) {
        if (!is_scope_token(s)) {
            fail("scope \"" + excerpt(s, 100) +
                 "\" is not an RFC 6749 §3.3 scope-token (printable ASCII, no space, '\"' "
                 "or '\\\\')");
        }
    }
    for (const auto& r : cfg.resources) {
        if (r.empty()) fail("a resource indicator is empty");
    }
    for (const auto& [name, value] : cfg.extra_params) {
        if (name.empty()) fail("an extra parameter has an empty name");
        if (has_control(name)) fail("an extra parameter's name has control characters");
        for (const char* reserved :
             {"grant_type", "client_id", "client_secret", "scope", "client_assertion",
              "client_assertion_type", "assertion", "subject_token", "subject_token_type",
              "actor_token", "actor_token_type", "requested_token_type"}) {
            if (name == reserved) {
                fail("extra parameter \"" + name + "\" is reserved: it has its own field");
            }
        }
    }
    validate_grant(cfg);
    validate_client_authentication(cfg);
    check_connection(cfg);
    return *url;
}

/// @brief The HTTP Basic header value for the client's credentials.
/// @sa RFC 6749 §2.3.1, RFC 7617
inline std::string basic_authorization(const client_config& cfg) {
    const std::string& id = cfg.client_id;
    const std::string& password = cfg.client_secret.reveal();
    // Built in place, in buffers sized up front: no copy of the secret is left in memory.
    std::string joined;
    if (cfg.basic_encoding == credential_encoding::form_urlencoded) {
        joined.reserve(percent_encoded_bound(id.size()) + 1 +
                       percent_encoded_bound(password.size()));
        percent_encode_append(joined, id, "+");
        joined.push_back(':');
        percent_encode_append(joined, password, "+");
    } else {
        joined.reserve(id.size() + 1 + password.size());
        joined.append(id).append(1, ':').append(password);
    }
    std::string header;
    header.reserve(6 + base64_size(joined.size()) + 1);
    header.append("Basic ");
    base64_append(header, joined);
    wipe(joined);
    return header;
}

/// @brief Adds the client's authentication to a request to the authorization server:
/// a Basic header, or client_id (and client_secret) in the form body.
/// @sa RFC 6749 §2.3.1
inline void append_client_authentication(http_request& req, const client_config& cfg) {
    switch (cfg.auth) {
        case auth_method::client_secret_basic:
            req.headers.emplace_back("Authorization", basic_authorization(cfg));
            break;
        case auth_method::client_secret_post:
            append_form_field(req.body, "client_id", cfg.client_id);
            append_form_field(req.body, "client_secret", cfg.client_secret.reveal());
            break;
        case auth_method::none:
        case auth_method::client_secret_jwt:
        case auth_method::private_key_jwt:
        case auth_method::client_assertion:
        case auth_method::tls_client_auth:
        case auth_method::self_signed_tls_client_auth:
            // The assertion methods add their assertion per request (see
            // with_assertion()); the TLS methods authenticate in the handshake.
            append_form_field(req.body, "client_id", cfg.client_id);
            break;
    }
}

/// @brief A copy of a prepared request with more fields in its body: the credentials made
/// for one send (a grant's tokens or assertion, a client assertion). The copy's body is
/// sized for them up front, so no copy of them is left behind.
/// @param fields the fields, which the caller wipes
inline http_request with_fields(const http_request& prepared, const name_value_list& fields) {
    http_request req;
    req.method = prepared.method;
    req.url = prepared.url;
    req.headers = prepared.headers;
    std::size_t size = prepared.body.size();
    for (const auto& [name, value] : fields) {
        size += 2 + percent_encoded_bound(name.size()) + percent_encoded_bound(value.size());
    }
    req.body.reserve(size);
    req.body = prepared.body;
    for (const auto& [name, value] : fields) append_form_field(req.body, name, value);
    return req;
}

/// @brief The head of a form POST the client makes to one of the server's endpoints
/// (token, introspection, revocation): method, URL, Content-Type, Accept, User-Agent. The
/// caller appends the form's fields, then append_client_authentication().
inline http_request form_post(const client_config& cfg, std::string url) {
    http_request req;
    req.method = "POST";
    req.url = std::move(url);
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
    if (!cfg.user_agent.empty()) req.headers.emplace_back("User-Agent", cfg.user_agent);
    return req;
}

/// @brief The token request for a valid configuration, but for the credentials each send
/// adds (a grant's tokens or assertion, a client assertion).
/// @sa RFC 6749 §4.4.2, §2.3.1, §3.3; RFC 8707 §2; RFC 8693 §2.1; RFC 7523 §2.1
inline http_request build_token_request(const client_config& cfg) {
    http_request req = form_post(cfg, cfg.token_endpoint);
    append_form_field(req.body, "grant_type", grant_type_value(cfg.grant));
    if (!cfg.requested_token_type.empty()) {
        append_form_field(req.body, "requested_token_type", cfg.requested_token_type);
    }
    if (!cfg.scopes.empty()) append_form_field(req.body, "scope", joined_scope(cfg));
    if (!cfg.audience.empty()) append_form_field(req.body, "audience", cfg.audience);
    for (const auto& r : cfg.resources) append_form_field(req.body, "resource", r);
    for (const auto& [name, value] : cfg.extra_params) append_form_field(req.body, name, value);

    append_client_authentication(req, cfg);
    return req;
}

/// @brief Every form in which the client secret travels, for keeping server-echoed
/// text free of it.
inline redactions credential_redactions(const client_config& cfg) {
    redactions hide;
    const std::string& raw = cfg.client_secret.reveal();
    if (!raw.empty()) {
        hide.add(raw);
        if (cfg.auth == auth_method::client_secret_basic) {
            std::string header = basic_authorization(cfg);
            hide.add(header.substr(6));  // after "Basic "
            wipe(header);
        }
    }
    return hide;
}

/// @brief Wipes the credentials a built request holds: its body and Authorization.
inline void wipe_credentials(http_request& req) noexcept {
    wipe(req.body);
    for (auto& [name, value] : req.headers) {
        if (iequals(name, "Authorization")) wipe(value);
    }
}

/// @brief Wipes the credentials a built token request holds once it has been sent.
class request_wiper {
public:
    explicit request_wiper(http_request& req) noexcept : req_(req) {}
    request_wiper(const request_wiper&) = delete;
    request_wiper& operator=(const request_wiper&) = delete;
    ~request_wiper() { wipe_credentials(req_); }

private:
    http_request& req_;
};

/// @brief A token request built once for a valid configuration, with what reading its
/// response needs: sent as it is by every fetch, so that a fetch neither checks the
/// configuration again nor encodes the credentials again. Wipes its credentials when
/// destroyed.
struct prepared_token_request {
    /// @param kept_nonces where the token endpoint's DPoP nonces are kept: shared by the
    ///        requests of one client, so that a request built later sends the nonce an
    ///        earlier one was given (null: this request's own)
    /// @throws error `config` when cfg is unusable
    explicit prepared_token_request(const client_config& cfg,
                                    std::shared_ptr<dpop_nonces> kept_nonces = nullptr)
        : request((validate_config(cfg), build_token_request(cfg))),
          hide(credential_redactions(cfg)),
          scope(joined_scope(cfg)),
          max_response_bytes(cfg.max_response_bytes),
          exchange(cfg.grant == grant_type::token_exchange),
          not_applicable(accepts_not_applicable(cfg)),
          traceparent(cfg.traceparent),
          trace(cfg.tracer),
          client_id(excerpt(cfg.client_id, 100)),
          server(server_of(cfg.token_endpoint)),
          grant_name(to_string(cfg.grant)) {
        if (cfg.grant != grant_type::client_credentials) grant.emplace(cfg);
        if (sends_assertion(cfg.auth)) assertion.emplace(cfg);
        if (cfg.dpop_key) {
            dpop.emplace(*cfg.dpop_key);
            nonces = kept_nonces ? std::move(kept_nonces) : std::make_shared<dpop_nonces>();
        }
    }
    prepared_token_request(const prepared_token_request&) = delete;
    prepared_token_request& operator=(const prepared_token_request&) = delete;
    ~prepared_token_request() { wipe_credentials(request); }

    http_request request;
    redactions hide;    ///< every form of the secret, kept out of error messages
    std::string scope;  ///< the scope asked for, the token's when the response has none
    std::size_t max_response_bytes;
    bool exchange;        ///< a token exchange: the response must name issued_token_type
    bool not_applicable;  ///< token_type `N_A` is accepted (accepts_not_applicable())
    /// Makes each request's grant credentials, for the grants beyond client credentials.
    std::optional<grant_maker> grant;
    /// Makes each request's assertion, for the methods that send one.
    std::optional<assertion_maker> assertion;
    /// Makes each request's DPoP proof, when client_config::dpop_key is set.
    std::optional<dpop_prover> dpop;
    /// The latest nonce the token endpoint gave for DPoP proofs (RFC 9449 §8); set with
    /// dpop.
    std::shared_ptr<dpop_nonces> nonces;
    std::function<std::string()> traceparent;  ///< client_config::traceparent
    std::shared_ptr<tracer> trace;             ///< client_config::tracer
    std::string client_id, server;             ///< for spans
    std::string_view grant_name;               ///< to_string(grant)

    /// @brief What a span of this request is about.
    span_start span(span_kind kind, unsigned attempt = 0) const {
        span_start what;
        what.kind = kind;
        what.client_id = client_id;
        what.server = server;
        what.grant = grant_name;
        if (kind == span_kind::http_attempt) {
            what.endpoint = "token";
            what.method = "POST";
            what.attempt = attempt;
        }
        return what;
    }
};

}  // namespace oauth2cc::detail

#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <sys/stat.h>

namespace oauth2cc::detail {

/// @brief What a credential file holds: a client secret (one line) or a PEM key.
enum class file_holds { secret, key };

/// @brief client_config::client_secret_file, or the file of a client_config::client_key:
/// read when first asked for, again when the file's metadata changes, and again whenever
/// asked to (after an `invalid_client`).
class secret_file {
public:
    secret_file(std::string path, file_holds holds) : path_(std::move(path)), holds_(holds) {}

    /// @brief The contents and their version: 1 for the first contents read, one more for
    /// each change of contents (a file touched but not changed keeps its version).
    /// @param force read even when the metadata is unchanged
    /// @throws error `config` naming the file (never its contents) when it cannot be
    ///         read or holds no secret
    std::pair<std::shared_ptr<const secret>, unsigned> current(bool force = false) {
        struct stat now {};
        const bool known = ::stat(path_.c_str(), &now) == 0;
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!force && known && text_ && same_file_version(now, seen_)) return {text_, version_};
        // A FIFO or a shell's <(...) is read once: a second read would wait for a writer.
        if (text_ && once_) return {text_, version_};
        // A key file removed once read leaves the key as it was: a key is in hand (a
        // secret file is the secret's one place, and its loss an error).
        if (!known && text_ && holds_ == file_holds::key) return {text_, version_};
        const std::string name =
            holds_ == file_holds::secret ? "the client secret file" : "the key file";
        std::string text = read_credential_file(path_, max_credential_file_bytes, name);
        const wipe_at_exit wiper{[&text] { wipe(text); }};
        // A trailing newline (or CRLF) is the file's, not the secret's.
        std::size_t end = text.size();
        while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
        if (holds_ == file_holds::secret) text.resize(end);
        const std::string named = name + " \"" + excerpt(path_, 200) + "\"";
        if (end == 0) throw error(error_kind::config, named + " is empty");
        if (holds_ == file_holds::secret && has_control(text)) {
            throw error(error_kind::config, named + " holds control characters");
        }
        if (!text_ || text_->reveal() != text) {
            text_ = std::make_shared<const secret>(text);
            ++version_;
        }
        if (known) seen_ = now;
        once_ = known && !S_ISREG(now.st_mode);
        return {text_, version_};
    }

    /// @brief True when the file's metadata differs from when it was last read (never for
    /// a file read once, nor before the first read).
    bool stale() {
        struct stat now {};
        const bool known = ::stat(path_.c_str(), &now) == 0;
        const std::lock_guard<std::mutex> lock(mutex_);
        return text_ && !once_ && known && !same_file_version(now, seen_);
    }

    /// @brief The key the file holds now, with given's kid and alg; read as current()
    /// reads, made once per version.
    /// @throws error `config` naming the file as signing_key::from_pem_file() does
    signing_key key(const signing_key& given) {
        const unsigned version = current().second;
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!key_ || key_version_ != version || key_->kid() != given.kid() ||
            key_->alg() != given.alg()) {
            key_ = signing_key::from_pem_file(path_, given.kid(), given.alg());
            key_version_ = version;
        }
        return *key_;
    }

private:
    std::mutex mutex_;
    std::string path_;
    file_holds holds_;
    struct stat seen_ {};
    bool once_ = false;  ///< not a regular file: read once, never again
    std::shared_ptr<const secret> text_;
    unsigned version_ = 0;
    std::optional<signing_key> key_;  ///< made by key() from version key_version_
    unsigned key_version_ = 0;
};

/// @brief The one secret_file of path in this process, shared by every client that names
/// it, so that a file is read once per change whatever number of entries use it.
inline std::shared_ptr<secret_file> secret_file_at(const std::string& path,
                                                   file_holds holds = file_holds::secret) {
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<secret_file>> files;
    const std::lock_guard<std::mutex> lock(mutex);
    for (auto it = files.begin(); it != files.end();) {
        it = it->second.expired() ? files.erase(it) : std::next(it);
    }
    std::weak_ptr<secret_file>& known = files[(holds == file_holds::key ? "k" : "s") + path];
    if (auto file = known.lock()) return file;
    auto file = std::make_shared<secret_file>(path, holds);
    known = file;
    return file;
}

/// @brief The shared file of cfg's client key; null when the key was not read from a file,
/// or its file is gone (the key in hand signs).
inline std::shared_ptr<secret_file> key_file_of(const client_config& cfg) {
    if (!cfg.client_key || cfg.client_key->file().empty()) return nullptr;
    struct stat st {};
    if (::stat(cfg.client_key->file().c_str(), &st) != 0) return nullptr;
    return secret_file_at(cfg.client_key->file(), file_holds::key);
}

/// @brief Refuses a client_secret_file beside a client_secret, or for a method that sends
/// no secret.
/// @throws error `config`
inline void check_secret_file(const client_config& cfg) {
    if (cfg.client_secret_file.empty()) return;
    if (!cfg.client_secret.empty()) {
        throw error(error_kind::config,
                    "client_secret and client_secret_file are both set: set one");
    }
    if (!sends_secret(cfg.auth)) {
        throw error(error_kind::config, "client_secret_file is set, but the " +
                                            std::string(to_string(cfg.auth)) +
                                            " method sends no client secret");
    }
}

/// @brief The credential files cfg names that are read again when they change, for a log line.
inline std::string credential_files(const client_config& cfg) {
    std::string out;
    const auto add = [&out](const char* name) {
        out += (out.empty() ? "" : ", ") + std::string(name);
    };
    if (!cfg.client_secret_file.empty()) add("client_secret_file");
    if (cfg.client_key && !cfg.client_key->file().empty()) add("the client key file");
    if (!cfg.tls.client_cert_file.empty()) add("the client certificate files");
    return out;
}

/// @brief cfg with the current contents of its client_secret_file as client_secret, and
/// its key file's current key as client_key (cfg itself when it names no such file), for
/// the requests that are not token requests (introspection, revocation).
/// @throws error `config` as check_secret_file() and secret_file::current() do
inline client_config with_current_credentials(const client_config& cfg) {
    check_secret_file(cfg);
    client_config out = cfg;
    if (!cfg.client_secret_file.empty()) {
        out.client_secret = *secret_file_at(cfg.client_secret_file)->current().first;
    }
    if (const auto key_file = key_file_of(cfg)) out.client_key = key_file->key(*cfg.client_key);
    return out;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/backoff.hpp ----

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <optional>
#include <string>

namespace oauth2cc::detail {

/// @brief True for failures that asking again cannot cure: the configuration or the
/// client's registration must change first.
/// @sa RFC 6749 §5.2, RFC 8707 §2
inline bool retry_cannot_cure(const error& e) {
    if (e.kind() == error_kind::config) return true;
    if (e.kind() != error_kind::oauth) return false;
    const std::string& code = e.oauth_error();
    return code == "invalid_client" || code == "unauthorized_client" || code == "invalid_scope" ||
           code == "invalid_grant" || code == "unsupported_grant_type" || code == "invalid_target";
}

/// @brief retry_initial * 2^(failures-1), at most retry_max: the longest wait after
/// `failures` failures in a row.
inline std::chrono::milliseconds backoff_ceiling(unsigned failures,
                                                 std::chrono::milliseconds retry_initial,
                                                 std::chrono::milliseconds retry_max) {
    std::chrono::milliseconds ceiling = retry_initial;
    for (unsigned i = 1; i < failures && ceiling < retry_max; ++i) ceiling *= 2;
    return std::min(ceiling, retry_max);
}

/// @brief The wait before the next attempt after `failures` failures in a row:
/// exponential backoff with full jitter, uniform in [0, min(retry_max, retry_initial *
/// 2^(failures-1))]; never below the server's Retry-After; retry_max for failures that
/// retrying cannot cure.
template <class Rng>
std::chrono::milliseconds retry_delay(const error& last, unsigned failures,
                                      std::chrono::milliseconds retry_initial,
                                      std::chrono::milliseconds retry_max, Rng& rng) {
    using std::chrono::milliseconds;
    milliseconds delay;
    if (retry_cannot_cure(last)) {
        delay = retry_max;
    } else {
        std::uniform_int_distribution<std::int64_t> pick(
            0, backoff_ceiling(failures, retry_initial, retry_max).count());
        delay = milliseconds(pick(rng));
    }
    if (last.retry_after()) {
        delay = std::max<milliseconds>(delay, *last.retry_after());
    }
    return delay;
}

/// @brief A fraction in [0, 1) for the next refresh point's jitter: the process's draws
/// follow the golden-ratio sequence from a random start, so that tokens issued together
/// in one process spread evenly over the window, and those of other processes start
/// elsewhere.
inline double next_spread() {
    static const double start = [] {
        std::random_device device;
        return std::uniform_real_distribution<double>(0.0, 1.0)(device);
    }();
    static std::atomic<std::uint64_t> draws{0};
    const auto k = draws.fetch_add(1, std::memory_order_relaxed);
    const double x = start + static_cast<double>(k % 1000003) * 0.6180339887498949;
    return x - static_cast<double>(static_cast<std::uint64_t>(x));
}

/// @brief The `refresh_in` a token response gave (seconds, a number or a numeric string),
/// if any.
inline std::optional<std::chrono::seconds> refresh_in_of(const token& tok) {
    const auto it = tok.extra.find("refresh_in");
    if (it == tok.extra.end()) return std::nullopt;
    long long value = -1;
    if (it->is_number_unsigned()) {
        value = static_cast<long long>(
            std::min<std::uint64_t>(it->get<std::uint64_t>(), max_token_lifetime.count()));
    } else if (it->is_number_integer()) {
        value = it->get<long long>();
    } else if (it->is_string()) {
        const auto& text = it->get_ref<const std::string&>();
        if (text.empty() || text.size() > 12 ||
            text.find_first_not_of("0123456789") != std::string::npos) {
            return std::nullopt;
        }
        value = std::stoll(text);
    }
    if (value < 0) return std::nullopt;
    return std::chrono::seconds(std::min<long long>(value, max_token_lifetime.count()));
}

/// @brief When a token that expires at `expires_at` after `lifetime` is refreshed: at a
/// point drawn between expiry - lead and expiry - (1 - refresh_jitter) * lead, so that
/// tokens issued together are not refreshed together; a `refresh_in` from the server
/// moves it earlier, never later, and never before half the lifetime has passed (a
/// `refresh_in` of 0 would ask for a new token at every read).
inline std::chrono::steady_clock::time_point refresh_point(
    const refresh_policy& policy, std::chrono::steady_clock::time_point issued,
    std::chrono::steady_clock::time_point expires_at, std::chrono::steady_clock::duration lifetime,
    const token& tok) {
    using duration = std::chrono::steady_clock::duration;
    const duration lead = token_manager::lead_for(lifetime, policy);
    const double spared = policy.refresh_jitter * next_spread();
    const auto at =
        expires_at - lead +
        std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
            static_cast<double>(lead.count()) * spared));
    const auto asked = refresh_in_of(tok);
    if (!asked) return at;
    const auto earlier = issued + std::max<duration>(*asked, lifetime / 2);
    return earlier < at ? earlier : at;
}

/// @brief Allows a number of events per second, and as many at once: a bucket that
/// fills at that rate, as deep. Not thread-safe: its owner's lock guards it.
class rate_bucket {
public:
    /// @brief Takes one event if per_second allows it now (always when it is 0).
    bool take(std::size_t per_second, std::chrono::steady_clock::time_point now) {
        if (per_second == 0) return true;
        const double rate = static_cast<double>(per_second);
        const double seconds = at_ ? std::chrono::duration<double>(now - *at_).count() : 1.0;
        level_ = std::min(rate, level_ + std::max(0.0, seconds) * rate);
        at_ = now;
        if (level_ < 1.0) return false;
        level_ -= 1.0;
        return true;
    }

private:
    double level_ = 0;
    std::optional<std::chrono::steady_clock::time_point> at_;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/refresher.hpp ----

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief A job handed to the workers. It runs once: on a worker, or on a worker that
/// would otherwise wait for it (a credential source that asks another manager for its
/// token, say), so that a wait on a worker never needs another worker.
class worker_job {
public:
    /// @param whose  whose job it is (a manager), for the fair share of the workers
    /// @param hurry  a caller waits for it (no valid token): it goes before the others
    worker_job(std::function<void()> fn, const void* whose, bool hurry)
        : owner(whose), urgent(hurry), fn_(std::move(fn)) {}

    /// @brief Runs the job on this thread unless it ran or runs elsewhere.
    /// @returns whether it ran here
    bool run_once() {
        if (claimed_.exchange(true)) return false;
        std::function<void()> fn = std::move(fn_);
        fn_ = nullptr;
        fn();  // a job catches what it throws
        return true;
    }

    /// @brief True once run_once() was called anywhere.
    bool claimed() const noexcept { return claimed_.load(); }

    const void* const owner;   ///< whose job it is
    std::atomic<bool> urgent;  ///< set when a caller comes to wait for it

private:
    std::atomic<bool> claimed_{false};
    std::function<void()> fn_;
};

/// @brief The process's workers and refresher. Made on first use and never destroyed, so
/// that no manager, wherever it lives, outlives it; its threads wait idle until the
/// process ends.
class refresh_service {
public:
    using steady = std::chrono::steady_clock;
    /// @brief One background pass over a manager's entries: starts the refreshes that are
    /// due, and returns when the next falls due (none: only a poke() wakes it).
    using pass_fn = std::function<std::optional<steady::time_point>()>;

    static refresh_service& instance() {
        static refresh_service* const service = new refresh_service();
        return *service;
    }

    /// @brief Runs fn on a worker: the urgent jobs first (a caller waits for them), in the
    /// order they came, then the others; an owner (a manager) never holds more than half
    /// the workers (one when the limit is 1), so that one slow endpoint or one caller's
    /// many entries leave the other managers workers. A new worker is started while fewer
    /// than the limit run and the jobs waiting outnumber the idle workers.
    /// @returns the job, which a worker waiting for it may run itself (run_once())
    /// @throws error `transport` when no worker runs and none can be started
    std::shared_ptr<worker_job> submit(std::function<void()> fn, const void* owner, bool urgent) {
        auto job = std::make_shared<worker_job>(std::move(fn), owner, urgent);
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        jobs_.push_back(job);
        if (idle_ > 0) jobs_ready_.notify_all();
        // A worker more while the jobs waiting outnumber the idle workers.
        if (idle_ >= jobs_.size() || workers_ >= limit_) return job;
        try {
            std::thread([this] { work(); }).detach();
            ++workers_;
        } catch (const std::system_error&) {
            if (workers_ > 0) return job;
            jobs_.pop_back();
            throw error(error_kind::transport, "could not start a thread for token requests");
        }
        return job;
    }

    /// @brief Has the workers look again at the jobs waiting: one became urgent.
    void hurry() {
        const std::lock_guard<std::mutex> lock(jobs_mutex_);
        if (idle_ > 0) jobs_ready_.notify_all();
    }

    /// @brief True on one of the workers.
    static bool on_worker() noexcept { return worker_thread(); }

    /// @brief The most workers that run token requests at once (1 to 256; default 4).
    void set_workers(std::size_t count) {
        const std::lock_guard<std::mutex> lock(jobs_mutex_);
        limit_ = std::clamp<std::size_t>(count, 1, 256);
    }
    std::size_t workers_limit() const {
        const std::lock_guard<std::mutex> lock(jobs_mutex_);
        return limit_;
    }

    /// @brief Has the refresher thread call pass from now on, until withdraw().
    /// @throws error `transport` when the refresher thread cannot be started
    std::uint64_t enroll(pass_fn pass) {
        const std::lock_guard<std::mutex> passes(passes_mutex_);
        if (!refresher_started_) {
            try {
                std::thread([this] { refresh(); }).detach();
            } catch (const std::system_error&) {
                throw error(error_kind::transport, "could not start the background refresh thread");
            }
            refresher_started_ = true;
        }
        const std::uint64_t id = ++last_id_;
        passes_.emplace(id, std::move(pass));
        poke();
        return id;
    }

    /// @brief Stops calling a pass. Once this returns it is not running and never will.
    /// Never call it from a pass.
    void withdraw(std::uint64_t id) {
        const std::lock_guard<std::mutex> passes(passes_mutex_);
        passes_.erase(id);
    }

    /// @brief Has the refresher run every pass again soon: something it waits for changed.
    /// Takes no lock that a pass holds, so it may be called with any lock held.
    void poke() {
        {
            const std::lock_guard<std::mutex> lock(wake_mutex_);
            ++pokes_;
        }
        wake_.notify_one();
    }

private:
    refresh_service() = default;

    static bool& worker_thread() noexcept {
        thread_local bool worker = false;
        return worker;
    }

    // The next job a worker may run (see submit()), taken from the queue; null when none
    // may run now. Jobs a waiting worker ran already are dropped. Needs jobs_mutex_.
    std::shared_ptr<worker_job> next_job() {
        const std::size_t share = std::max<std::size_t>(1, limit_ / 2);
        // Erased first, in one pass: an erase in a deque's middle moves every iterator.
        jobs_.erase(
            std::remove_if(jobs_.begin(), jobs_.end(),
                           [](const std::shared_ptr<worker_job>& j) { return j->claimed(); }),
            jobs_.end());
        auto pick = jobs_.end();
        for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
            const auto held = running_.find((*it)->owner);
            const bool may = held == running_.end() || held->second < share;
            if (may && (*it)->urgent.load()) {
                pick = it;
                break;
            }
            if (may && pick == jobs_.end()) pick = it;
        }
        if (pick == jobs_.end()) return nullptr;
        std::shared_ptr<worker_job> job = std::move(*pick);
        jobs_.erase(pick);
        return job;
    }

    void work() {
        worker_thread() = true;
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        for (;;) {
            ++idle_;
            std::shared_ptr<worker_job> job;
            jobs_ready_.wait(lock, [&] { return (job = next_job()) != nullptr; });
            --idle_;
            ++running_[job->owner];
            lock.unlock();
            job->run_once();  // nothing when a waiting worker ran it already
            lock.lock();
            const auto held = running_.find(job->owner);
            if (--held->second == 0) running_.erase(held);
            job = nullptr;
            // A job of this owner held back by its share may run now.
            if (!jobs_.empty()) jobs_ready_.notify_all();
        }
    }

    void refresh() {
        for (;;) {
            std::uint64_t seen = 0;
            {
                const std::lock_guard<std::mutex> lock(wake_mutex_);
                seen = pokes_;
            }
            std::optional<steady::time_point> next;
            {
                const std::lock_guard<std::mutex> passes(passes_mutex_);
                for (auto& [id, pass] : passes_) {
                    (void)id;
                    const auto wake = pass();
                    if (wake && (!next || *wake < *next)) next = wake;
                }
            }
            std::unique_lock<std::mutex> lock(wake_mutex_);
            const auto poked = [&] { return pokes_ != seen; };
            if (next) {
                wake_.wait_until(lock, *next, poked);
            } else {
                wake_.wait(lock, poked);
            }
        }
    }

    mutable std::mutex jobs_mutex_;
    std::condition_variable jobs_ready_;
    std::deque<std::shared_ptr<worker_job>> jobs_;
    std::size_t workers_ = 0, idle_ = 0, limit_ = 4;
    std::map<const void*, std::size_t> running_;  ///< jobs under way, by owner

    std::mutex passes_mutex_;  ///< held by the refresher while it runs passes
    std::map<std::uint64_t, pass_fn> passes_;
    std::uint64_t last_id_ = 0;
    bool refresher_started_ = false;

    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::uint64_t pokes_ = 0;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/manager_state.hpp ----

// ---- oauth2cc/detail/store/request_source.hpp ----

// ---- oauth2cc/detail/oauth/token_send.hpp ----

// ---- oauth2cc/detail/oauth/issuer_check.hpp ----

#include <string>

namespace oauth2cc::detail {

// Refuses an issuer that discovery cannot use.
inline void check_issuer(const client_config& cfg) {
    const auto url = parse_url(cfg.issuer);
    if (!url) {
        throw error(error_kind::config, "issuer " + url_problem(cfg.issuer) +
                                            " (an absolute https:// URL is wanted, RFC 8414 §2)");
    }
    if (cfg.issuer.find('?') != std::string::npos) {
        throw error(error_kind::config,
                    "issuer has a query (?...): an issuer has none (RFC 8414 §2)");
    }
    check_plain_http(*url, cfg, "issuer", "the metadata request");
    check_connection(cfg);
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/oauth/metadata.hpp ----

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace oauth2cc::detail {

/// @brief The metadata URLs of an issuer, in the order they are tried: RFC 8414 §3.1
/// (the well-known part between host and path, a terminating "/" of the path dropped),
/// then OpenID Connect Discovery §4 (appended). An issuer without a path has the one
/// RFC 8414 URL and the OpenID Connect URL.
inline std::vector<std::string> well_known_urls(const std::string& issuer) {
    const std::size_t scheme_end = issuer.find("://");
    const std::size_t path_at =
        scheme_end == std::string::npos ? std::string::npos : issuer.find('/', scheme_end + 3);
    const std::string authority = issuer.substr(0, path_at);
    std::string path = path_at == std::string::npos ? std::string() : issuer.substr(path_at);
    while (!path.empty() && path.back() == '/') path.pop_back();
    return {authority + "/.well-known/oauth-authorization-server" + path,
            authority + path + "/.well-known/openid-configuration"};
}

/// @brief Reads a metadata document.
/// @throws error `bad_response` for a document that is not a JSON object or has a
///         member of the wrong type; `config` when its issuer is not expected_issuer
/// @sa RFC 8414 §3.2, §3.3
inline authorization_server_metadata parse_metadata(const http_response& res,
                                                    const std::string& expected_issuer) {
    const auto bad = [&res](const std::string& why) {
        throw error(error_kind::bad_response, "the authorization server metadata " + why,
                    error_details{{}, {}, {}, res.status, {}});
    };
    json_notes notes;
    nlohmann::json doc = parse_json_bounded(res.body, notes);
    if (notes.too_deep) bad("nests JSON too deep");
    if (doc.is_discarded() || !doc.is_object()) bad("is not a JSON object");
    if (!notes.repeated.empty()) {
        bad("has the member \"" + excerpt(notes.repeated, 60) + "\" twice");
    }
    authorization_server_metadata m;
    const auto text = [&](const char* name, std::string& out) {
        const auto it = doc.find(name);
        if (it == doc.end() || it->is_null()) return;
        if (!it->is_string()) bad(std::string("member ") + name + " is not a string");
        out = it->get_ref<const std::string&>();
    };
    const auto list = [&](const char* name, std::vector<std::string>& out) {
        const auto it = doc.find(name);
        if (it == doc.end() || it->is_null()) return;
        if (!it->is_array()) bad(std::string("member ") + name + " is not an array");
        for (const auto& v : *it) {
            if (!v.is_string()) bad(std::string("member ") + name + " holds a non-string");
            out.push_back(v.get_ref<const std::string&>());
        }
    };
    text("issuer", m.issuer);
    if (m.issuer != expected_issuer) {
        throw error(error_kind::config, "the metadata's issuer \"" + excerpt(m.issuer, 200) +
                                            "\" is not the configured issuer \"" +
                                            excerpt(expected_issuer, 200) +
                                            "\" (RFC 8414 §3.3 wants them identical)");
    }
    text("token_endpoint", m.token_endpoint);
    text("introspection_endpoint", m.introspection_endpoint);
    text("revocation_endpoint", m.revocation_endpoint);
    text("jwks_uri", m.jwks_uri);
    list("token_endpoint_auth_methods_supported", m.token_endpoint_auth_methods_supported);
    // Absent, null or empty: the document names no method, and RFC 8414 §2's default,
    // client_secret_basic, is meant (an empty list would refuse every method).
    if (m.token_endpoint_auth_methods_supported.empty()) {
        m.token_endpoint_auth_methods_supported = {"client_secret_basic"};
    }
    list("token_endpoint_auth_signing_alg_values_supported",
         m.token_endpoint_auth_signing_alg_values_supported);
    list("dpop_signing_alg_values_supported", m.dpop_signing_alg_values_supported);
    list("grant_types_supported", m.grant_types_supported);
    list("scopes_supported", m.scopes_supported);
    if (const auto it = doc.find("mtls_endpoint_aliases"); it != doc.end() && !it->is_null()) {
        if (!it->is_object()) bad("member mtls_endpoint_aliases is not an object");
        for (auto alias = it->begin(); alias != it->end(); ++alias) {
            if (!alias->is_string()) bad("member mtls_endpoint_aliases holds a non-string");
            m.mtls_endpoint_aliases[alias.key()] = alias->get_ref<const std::string&>();
        }
    }
    m.document = std::move(doc);
    return m;
}

/// @brief Joins names for a message: "a, b, c".
inline std::string joined_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ", ";
        out += excerpt(n, 60);
    }
    return out.empty() ? "none" : out;
}

/// @brief Refuses a configuration the server says it does not take: an authentication
/// method it does not list, an assertion algorithm it does not list, or no token
/// endpoint. A grant it does not list is not refused: many servers under-list
/// grant_types_supported (or omit it, which RFC 8414 §2 reads as authorization_code and
/// implicit) and take client_credentials all the same; the server's own
/// `unsupported_grant_type` is the answer. The returned text says so, for a log line;
/// empty when there is nothing to say.
/// @throws error `config` naming what the server lists
inline std::string check_server_takes(const authorization_server_metadata& m,
                                      const client_config& cfg) {
    if (m.token_endpoint.empty()) {
        throw error(error_kind::config,
                    "the authorization server's metadata has no token_endpoint");
    }
    const auto listed = [](const std::vector<std::string>& names, const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    // An assertion issued elsewhere is, to the server, a private_key_jwt assertion.
    const std::string method(cfg.auth == auth_method::client_assertion
                                 ? std::string_view("private_key_jwt")
                                 : to_string(cfg.auth));
    if (!listed(m.token_endpoint_auth_methods_supported, method)) {
        throw error(error_kind::config, "the authorization server does not take " + method +
                                            " at its token endpoint; it lists " +
                                            joined_names(m.token_endpoint_auth_methods_supported));
    }
    // The grants a server lists (RFC 8414 §2) are advisory: a note, never a refusal.
    std::string note;
    const std::string grant = grant_type_value(cfg.grant);
    if (!m.grant_types_supported.empty() && !listed(m.grant_types_supported, grant)) {
        note = "the authorization server's metadata does not list the grant " + grant +
               " (it lists " + joined_names(m.grant_types_supported) +
               "); requesting it all the same";
    }
    // A server that lists its DPoP algorithms (RFC 9449 §5.1) refuses proofs by others.
    if (cfg.dpop_key && !m.dpop_signing_alg_values_supported.empty() &&
        !listed(m.dpop_signing_alg_values_supported, std::string(to_string(cfg.dpop_key->alg())))) {
        throw error(error_kind::config,
                    std::string("the authorization server does not take DPoP proofs signed with ") +
                        std::string(to_string(cfg.dpop_key->alg())) + "; it lists " +
                        joined_names(m.dpop_signing_alg_values_supported));
    }
    if (m.token_endpoint_auth_signing_alg_values_supported.empty()) return note;
    std::string alg;
    if (cfg.auth == auth_method::client_secret_jwt) alg = "HS256";
    if (cfg.auth == auth_method::private_key_jwt && cfg.client_key) {
        alg = std::string(to_string(cfg.client_key->alg()));
    }
    if (!alg.empty() && !listed(m.token_endpoint_auth_signing_alg_values_supported, alg)) {
        throw error(error_kind::config,
                    "the authorization server does not take " + alg + " assertions; it lists " +
                        joined_names(m.token_endpoint_auth_signing_alg_values_supported));
    }
    return note;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/oauth/token_response.hpp ----

// ---- oauth2cc/detail/http/retry_after.hpp ----

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace oauth2cc::detail {

/// @brief The longest wait a Retry-After is believed for: a day.
inline constexpr std::chrono::seconds max_retry_after{24 * 60 * 60};

/// @brief Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// @brief The month number of "Jan".."Dec", 0 for anything else.
inline unsigned month_number(std::string_view name) {
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (unsigned i = 0; i < 12; ++i) {
        if (name == months[i]) return i + 1;
    }
    return 0;
}

/// @brief The value of len decimal digits at s[at] (two digits may start with a space);
/// -1 otherwise.
inline int digits_at(std::string_view s, std::size_t at, std::size_t len) {
    if (at + len > s.size()) return -1;
    int v = 0;
    bool any = false;
    for (std::size_t i = at; i < at + len; ++i) {
        if (s[i] == ' ' && len == 2 && i == at) continue;  // asctime's " 6"
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
        any = true;
    }
    return any ? v : -1;
}

/// @brief Seconds since the epoch of a UTC date and time; empty when a field is out of range.
inline std::optional<std::int64_t> utc_seconds(int year, unsigned month, int day, int hour,
                                               int minute, int second) {
    if (month == 0 || year < 0 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60) {
        return std::nullopt;
    }
    return days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 + hour * 3600 +
           minute * 60 + second;
}

/// @brief Parses an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), the
/// form senders must use, into seconds since the epoch.
inline std::optional<std::int64_t> parse_imf_fixdate(std::string_view s) {
    // "Www, DD Mon YYYY HH:MM:SS GMT" is 29 characters.
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT" ||
        s[5] == ' ') {
        return std::nullopt;
    }
    return utc_seconds(digits_at(s, 12, 4), month_number(s.substr(8, 3)), digits_at(s, 5, 2),
                       digits_at(s, 17, 2), digits_at(s, 20, 2), digits_at(s, 23, 2));
}

/// @brief Parses the obsolete RFC 850 form, "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit
/// year more than 50 years ahead of current_year is taken as the century before
/// (RFC 9110 §5.6.7).
inline std::optional<std::int64_t> parse_rfc850_date(std::string_view s, int current_year) {
    const std::size_t comma = s.find(", ");
    if (comma == std::string_view::npos || comma < 6 || comma > 9) return std::nullopt;
    for (std::size_t i = 0; i < comma; ++i) {
        const char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return std::nullopt;
    }
    // "DD-Mon-YY HH:MM:SS GMT" is 22 characters.
    const std::string_view d = s.substr(comma + 2);
    if (d.size() != 22 || d[2] != '-' || d[6] != '-' || d[9] != ' ' || d[12] != ':' ||
        d[15] != ':' || d[18] != ' ' || d.substr(19) != "GMT" || d[0] == ' ' || d[7] == ' ') {
        return std::nullopt;
    }
    const int yy = digits_at(d, 7, 2);
    if (yy < 0) return std::nullopt;
    // The latest year ending in yy that is at most 50 years ahead.
    int year = current_year / 100 * 100 + yy;
    if (year + 100 <= current_year + 50) year += 100;
    if (year > current_year + 50) year -= 100;
    return utc_seconds(year, month_number(d.substr(3, 3)), digits_at(d, 0, 2), digits_at(d, 10, 2),
                       digits_at(d, 13, 2), digits_at(d, 16, 2));
}

/// @brief Parses the obsolete asctime() form, "Sun Nov  6 08:49:37 1994" (RFC 9110 §5.6.7).
inline std::optional<std::int64_t> parse_asctime_date(std::string_view s) {
    // "Www Mon DD HH:MM:SS YYYY" is 24 characters; a one-digit day has a leading space.
    if (s.size() != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':' || s[19] != ' ') {
        return std::nullopt;
    }
    return utc_seconds(digits_at(s, 20, 4), month_number(s.substr(4, 3)), digits_at(s, 8, 2),
                       digits_at(s, 11, 2), digits_at(s, 14, 2), digits_at(s, 17, 2));
}

/// @brief Seconds since the epoch of an HTTP-date in any of its three forms.
inline std::optional<std::int64_t> parse_http_date(std::string_view s, std::int64_t now) {
    if (auto t = parse_imf_fixdate(s)) return t;
    if (auto t = parse_asctime_date(s)) return t;
    const std::int64_t days = (now >= 0 ? now : now - 86399) / 86400;
    // The civil year of `days`, by the inverse of days_from_civil.
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t year = yoe + era * 400 + (mp >= 10 ? 1 : 0);
    return parse_rfc850_date(s, static_cast<int>(year));
}

/// @brief How long a Retry-After header asks to wait, counted from now_system.
/// Delta-seconds or an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms
/// that recipients must accept); a date in the past is zero; a wait over a day is
/// clamped to a day; anything else is empty.
/// @sa RFC 9110 §10.2.3
inline std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now_system) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if (value.front() >= '0' && value.front() <= '9') {
        std::int64_t seconds = 0;
        for (char c : value) {
            if (c < '0' || c > '9') return std::nullopt;
            if (seconds < max_retry_after.count()) seconds = seconds * 10 + (c - '0');
        }
        return std::min(std::chrono::seconds(seconds), max_retry_after);
    }
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(now_system.time_since_epoch()).count();
    const auto date = parse_http_date(value, now);
    if (!date) return std::nullopt;
    if (*date <= now) return std::chrono::seconds(0);
    return std::min(std::chrono::seconds(*date - now), max_retry_after);
}

}  // namespace oauth2cc::detail

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

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace oauth2cc::detail {

// What a 404 or 405 from the token endpoint means: the URL is not the token endpoint.
inline std::string not_a_token_endpoint(const std::string& url, const http_response& res) {
    return "the token endpoint " + excerpt(url, 200) + " answered HTTP " +
           std::to_string(res.status) +
           (res.status == 404 ? " (no such page)" : " (no POST there)") +
           ": it is not the token endpoint. Check the token URL (token_endpoint, "
           "OAUTH2_TOKEN_URL, oauth2cc-cli --token-url), or give the server's issuer instead "
           "(issuer, OAUTH2_ISSUER, --issuer) and discovery finds the endpoint";
}

// Sends a prepared token request once and reads its response. A grant beyond client
// credentials and the assertion methods send a copy with the credentials made for this
// send (a subject token, an assertion), kept out of error messages like the secret; with
// a DPoP key the copy carries a new proof with nonce (none when empty), and a nonce the
// response gives is kept. The copy carries the traceparent too, and the attempt is a span
// (a child of parent, numbered attempt).
inline token send_token_request_once(const prepared_token_request& prepared, transport& via,
                                     const std::string& nonce = {}, trace_span* parent = nullptr,
                                     unsigned attempt = 0) {
    span_scope span(prepared.trace, prepared.span(span_kind::http_attempt, attempt), parent);
    http_response res;
    const wipe_at_exit body_wiper{[&res] { wipe(res.body); }};
    std::optional<http_request> copy;
    std::optional<redactions> hide_too;
    name_value_list fields;
    std::vector<std::string> secrets;
    const wipe_at_exit fields_wiper{[&fields, &secrets] {
        for (auto& field : fields) wipe(field.second);
        for (auto& s : secrets) wipe(s);
    }};
    if (prepared.grant || prepared.assertion) {
        secrets.reserve(3);  // never moved, so that no unwiped copy is left behind
        fields.reserve(6);
        if (prepared.grant) prepared.grant->make(fields, secrets);
        if (prepared.assertion) {
            secrets.push_back(prepared.assertion->make());
            fields.emplace_back("client_assertion_type", jwt_bearer_assertion_type);
            fields.emplace_back("client_assertion", secrets.back());
        }
        copy.emplace(with_fields(prepared.request, fields));
        hide_too.emplace(prepared.hide.copy());
        for (const auto& s : secrets) hide_too->add(s);
    }
    const wipe_at_exit request_wiper{[&copy] {
        if (copy) wipe_credentials(*copy);
    }};
    if (prepared.dpop) {
        if (!copy) copy.emplace(prepared.request);
        copy->headers.emplace_back("DPoP", prepared.dpop->proof("POST", copy->url, nonce));
    }
    if (prepared.traceparent) {
        if (!copy) copy.emplace(prepared.request);
        add_traceparent(*copy, prepared.traceparent);
    }
    res = via.send(copy ? *copy : prepared.request);
    span.answered(res.status);
    const auto obtained_at = std::chrono::steady_clock::now();
    if (prepared.dpop) {
        if (const auto given = res.header("DPoP-Nonce"))
            prepared.nonces->put(prepared.request.url, *given);
    }
    if (res.body.size() > prepared.max_response_bytes) {
        throw error(error_kind::bad_response,
                    "the token response body is over max_response_bytes (" +
                        std::to_string(prepared.max_response_bytes) + ")",
                    error_details{{}, {}, {}, res.status, {}});
    }
    token_rules rules;
    rules.dpop = prepared.dpop.has_value();
    rules.exchange = prepared.exchange;
    rules.not_applicable = prepared.not_applicable;
    try {
        return parse_token_response(res, prepared.scope, obtained_at,
                                    std::chrono::system_clock::now(),
                                    hide_too ? *hide_too : prepared.hide, rules);
    } catch (const error& e) {
        span.failed(e);
        if (e.kind() == error_kind::http_status && (res.status == 404 || res.status == 405)) {
            throw error(error_kind::http_status, not_a_token_endpoint(prepared.request.url, res),
                        error_details{{}, {}, {}, res.status, {}});
        }
        throw;
    }
}

// Sends a prepared token request. A `use_dpop_nonce` error that came with a new nonce
// is answered by exactly one more request carrying it (RFC 9449 §8); so is a proof
// refused for its clock (`invalid_dpop_proof`) when the server gave a nonce to use
// instead of the client's clock.
/// @param nonce_retries counts that retry, when given
/// @param parent        the span of the acquisition the attempts are part of
/// @param attempt       the number of the next attempt, counted up by each
inline token send_token_request(const prepared_token_request& prepared, transport& via,
                                std::atomic<unsigned>* nonce_retries = nullptr,
                                trace_span* parent = nullptr, unsigned* attempt = nullptr) {
    unsigned first = 0;
    unsigned& n = attempt != nullptr ? *attempt : first;
    if (!prepared.dpop) return send_token_request_once(prepared, via, {}, parent, n++);
    // The nonce read once and passed in, so that the one compared below is the one sent,
    // whatever other threads keep meanwhile.
    const std::string sent_nonce = prepared.nonces->get(prepared.request.url);
    std::string retry_nonce;
    try {
        return send_token_request_once(prepared, via, sent_nonce, parent, n++);
    } catch (const error& e) {
        const bool nonce_error =
            e.kind() == error_kind::oauth &&
            (e.oauth_error() == "use_dpop_nonce" || e.oauth_error() == "invalid_dpop_proof");
        retry_nonce = prepared.nonces->get(prepared.request.url);
        if (!nonce_error || retry_nonce == sent_nonce) throw;
    }
    if (nonce_retries != nullptr) ++*nonce_retries;
    return send_token_request_once(prepared, via, retry_nonce, parent, n++);
}

// True when the token endpoint is to be discovered from the issuer.
inline bool discovers_endpoint(const client_config& cfg) {
    return cfg.token_endpoint.empty() && !cfg.issuer.empty();
}

// Checks what can be checked before discovery: the issuer, and the rest of cfg as if the
// issuer were the token endpoint.
inline void validate_before_discovery(const client_config& cfg) {
    check_issuer(cfg);
    client_config probe = cfg;
    probe.token_endpoint = cfg.issuer;
    validate_config(probe);
}

// cfg with the token endpoint its issuer's metadata names, once the server is known to
// take cfg's method. What the metadata left worth saying goes to *note, when given.
inline client_config with_discovered_endpoint(const client_config& cfg, transport& via,
                                              std::string* note = nullptr) {
    const authorization_server_metadata meta = discover(cfg, via);
    std::string said = check_server_takes(meta, cfg);
    if (note != nullptr) *note = std::move(said);
    client_config out = cfg;
    out.token_endpoint = meta.token_endpoint;
    // A client that presents a certificate uses the server's mutual-TLS endpoint, where
    // it has one (RFC 8705 §5).
    if (cfg.tls.has_client_certificate()) {
        const auto alias = meta.mtls_endpoint_aliases.find("token_endpoint");
        if (alias != meta.mtls_endpoint_aliases.end()) out.token_endpoint = alias->second;
    }
    return out;
}

}  // namespace oauth2cc::detail

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief cfg asking for p instead of its own parameters.
inline client_config with_params(client_config cfg, const token_params& p) {
    cfg.scopes = p.scopes;
    cfg.audience = p.audience;
    cfg.resources = p.resources;
    cfg.extra_params = p.extra_params;
    return cfg;
}

/// @brief What an entry of a token_manager asks for beyond its client's configuration:
/// other token parameters, and for a configuration that follows its subject, one subject.
struct request_tailoring {
    token_params params;                             ///< asked for instead of the config's
    std::shared_ptr<const current_subject> subject;  ///< null: the config's own
};

/// @brief cfg as tailoring asks.
inline client_config tailored(const client_config& cfg, const request_tailoring& tailoring) {
    client_config out = with_params(cfg, tailoring.params);
    return tailoring.subject ? for_subject(std::move(out), *tailoring.subject) : out;
}

/// @brief Checks that a request can be made of cfg, as request_source's constructor does.
/// @throws error `config` when it cannot (a scope outside RFC 6749 §3.3, say)
inline void check_request(const client_config& cfg) {
    if (discovers_endpoint(cfg)) {
        validate_before_discovery(cfg);
    } else {
        const prepared_token_request probe(cfg);
    }
}

/// @brief What request_source::get() hands out.
struct sourced_request {
    std::shared_ptr<const prepared_token_request> prepared;  ///< the request to send
    unsigned generation = 0;  ///< the credential rotations taken up when it was made
    unsigned taken = 0;       ///< the rotations that this call took up
};

/// @brief The token requests of one client. Its own request is built once, and again when
/// its secret file or key file has new contents; with an issuer and no token endpoint,
/// built by the first request that discovers the endpoint, and by the next after a
/// failure. A tailored request (another entry's parameters or subject) is built for each
/// fetch from the same credentials and endpoint: an entry keeps nothing between its
/// fetches. Counts the rotations of its credential files: a new secret, a new key, a
/// client certificate replaced (by its files' metadata: the transport reads them).
class request_source {
public:
    /// @throws error `config` when cfg is unusable, or its secret or key file cannot be
    ///         read
    explicit request_source(const client_config& cfg)
        : given_(std::make_shared<const client_config>(cfg)), key_file_(key_file_of(cfg)) {
        check_secret_file(cfg);
        client_config now = cfg;
        if (!cfg.client_secret_file.empty()) {
            file_ = secret_file_at(cfg.client_secret_file);
            auto [text, version] = file_->current();
            now.client_secret = *text;
            version_ = version;
        }
        if (key_file_) key_version_ = key_file_->current().second;
        if (!cfg.tls.client_cert_file.empty()) {
            cert_files_.changed(cfg.tls.client_cert_file, cfg.tls.client_key_file);
        }
        // A client with nothing read from files or the network sends its config as given.
        current_ = file_ ? std::make_shared<const client_config>(std::move(now)) : given_;
        if (discovers_endpoint(cfg)) {
            validate_before_discovery(*current_);
        } else {
            ready_ = std::make_shared<const prepared_token_request>(*current_, nonces_);
        }
    }

    /// @brief The configuration as given.
    const client_config& given() const noexcept { return *given_; }

    /// @brief Checks that a request tailored so can be made, as the constructor checks the
    /// client's own.
    /// @throws error `config` when it cannot (a scope outside RFC 6749 §3.3, say)
    void check(const request_tailoring& tailoring) {
        std::shared_ptr<const client_config> cfg;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            cfg = current_;
        }
        check_request(tailored(*cfg, tailoring));
    }

    /// @brief The request to send now: the client's own, or tailored when given.
    /// @param force read the secret and key files even when their metadata is unchanged
    /// @throws error `config` when the secret or key file cannot be read, or the tailored
    ///         request cannot be made; as discover() does
    sourced_request get(transport& via, const request_tailoring* tailoring = nullptr,
                        bool force = false) {
        sourced_request out;
        std::shared_ptr<const client_config> cfg;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            out.taken = take_up(force);
            if (!current_ready_) {
                // Discovered once: a new secret keeps the endpoint.
                if (discovers_endpoint(*current_)) {
                    current_ = std::make_shared<const client_config>(
                        with_discovered_endpoint(*current_, via, &note_));
                }
                current_ready_ = true;
            }
            if (!tailoring && !ready_) {
                ready_ = std::make_shared<const prepared_token_request>(*current_, nonces_);
            }
            out.generation = rotations_.load();
            if (!tailoring) {
                out.prepared = ready_;
                return out;
            }
            cfg = current_;
        }
        out.prepared =
            std::make_shared<const prepared_token_request>(tailored(*cfg, *tailoring), nonces_);
        return out;
    }

    /// @brief After `invalid_client` to a request of generation `seen`: the request to
    /// send again when a credential file has changed since (the secret and key files read
    /// now); a null request when none has.
    sourced_request renewed(unsigned seen, transport& via,
                            const request_tailoring* tailoring = nullptr) {
        if (!file_ && !key_file_ && given_->tls.client_cert_file.empty()) return {};
        sourced_request now = get(via, tailoring, true);
        if (now.generation == seen) now.prepared.reset();
        return now;
    }

    /// @brief The credential files' rotations taken up since the first read.
    unsigned rotations() const noexcept { return rotations_.load(); }

    /// @brief True when a credential file changed since it was last read: the secret's,
    /// the key's, the client certificate's, or an assertion_from_file() source's.
    bool credentials_changed() {
        const std::lock_guard<std::mutex> lock(mutex_);
        if ((file_ && file_->stale()) || (key_file_ && key_file_->stale())) return true;
        const client_config& cfg = *given_;
        if (!cfg.tls.client_cert_file.empty() &&
            cert_files_.differs(cfg.tls.client_cert_file, cfg.tls.client_key_file)) {
            return true;
        }
        for (const auto* source : {&cfg.client_assertion, &cfg.grant_assertion}) {
            const auto* file = source->target<file_credential>();
            if (file != nullptr && file->changed()) return true;
        }
        return false;
    }

    /// @brief What discovery found worth a log line, once; then empty.
    std::string take_note() {
        const std::lock_guard<std::mutex> lock(mutex_);
        return std::exchange(note_, std::string());
    }

private:
    /// Reads the credential files that changed (all of them when forced) into current_;
    /// returns how many rotations that took up. Called with the lock held.
    unsigned take_up(bool force) {
        unsigned taken = 0;
        client_config next;
        const auto change = [&]() -> client_config& {
            if (taken++ == 0) next = *current_;
            return next;
        };
        if (file_) {
            auto [text, version] = file_->current(force);
            if (version != version_) {
                change().client_secret = *text;
                version_ = version;
            }
        }
        if (key_file_) {
            const unsigned version = key_file_->current(force).second;
            if (version != key_version_) {
                change().client_key = key_file_->key(*given_->client_key);
                key_version_ = version;
            }
        }
        if (taken != 0) {
            current_ = std::make_shared<const client_config>(std::move(next));
            ready_.reset();
        }
        const client_config& cfg = *given_;
        if (!cfg.tls.client_cert_file.empty() &&
            cert_files_.changed(cfg.tls.client_cert_file, cfg.tls.client_key_file)) {
            ++taken;
        }
        rotations_ += taken;
        return taken;
    }

    std::mutex mutex_;
    const std::shared_ptr<const client_config> given_;
    /// given_ with the secret and key files' current contents and the discovered endpoint
    std::shared_ptr<const client_config> current_;
    bool current_ready_ = false;  ///< the endpoint of current_ is discovered, if it must be
    std::shared_ptr<secret_file> file_;
    unsigned version_ = 0;
    std::shared_ptr<secret_file> key_file_;
    unsigned key_version_ = 0;
    file_watch cert_files_;  ///< tls.client_cert_file and client_key_file
    std::shared_ptr<const prepared_token_request> ready_;  ///< the client's own request
    /// The token endpoint's DPoP nonces, for every request made here.
    const std::shared_ptr<dpop_nonces> nonces_ = std::make_shared<dpop_nonces>();
    std::atomic<unsigned> rotations_{0};
    std::string note_;  ///< discovery's note, until taken
};

/// @brief Sends source's request (tailored when given); an `invalid_client` answer is
/// retried once when a credential file has changed (the secret and key files read again
/// now), never twice for one change. The acquisition is a span, its attempts its children.
/// @param rotations counts the credential rotations these calls took up, when given
inline token send_with_renewal(request_source& source, transport& via,
                               std::atomic<unsigned>* nonce_retries = nullptr,
                               const request_tailoring* tailoring = nullptr,
                               std::atomic<unsigned>* rotations = nullptr) {
    const auto count = [rotations](const sourced_request& r) {
        if (rotations != nullptr) *rotations += r.taken;
    };
    const sourced_request sent = source.get(via, tailoring);
    count(sent);
    span_scope span(sent.prepared->trace, sent.prepared->span(span_kind::token_acquisition));
    unsigned attempt = 0;
    sourced_request again;
    try {
        return send_token_request(*sent.prepared, via, nonce_retries, span.get(), &attempt);
    } catch (const error& e) {
        if (e.kind() != error_kind::oauth || e.oauth_error() != "invalid_client") {
            span.failed(e);
            throw;
        }
        again = source.renewed(sent.generation, via, tailoring);
        count(again);
        if (!again.prepared) {
            span.failed(e);
            throw;
        }
    }
    try {
        return send_token_request(*again.prepared, via, nonce_retries, span.get(), &attempt);
    } catch (const error& e) {
        span.failed(e);
        throw;
    }
}

/// @brief The token requests of one entry of a token_manager: the manager's source, its
/// request tailored to the entry unless the entry is the config's own. What an entry holds
/// of its client is this: the configuration is the source's, shared by every entry.
class entry_client {
public:
    /// @param via the transport; null: an httplib_transport of the source's configuration
    /// @param tailoring what the entry asks for beyond the configuration; null: the
    ///        configuration's own token
    entry_client(std::shared_ptr<request_source> source, std::shared_ptr<transport> via,
                 std::unique_ptr<const request_tailoring> tailoring = nullptr)
        : source_(std::move(source)),
          via_(via ? std::move(via) : std::make_shared<httplib_transport>(source_->given())),
          tailoring_(std::move(tailoring)) {}

    /// @brief Requests a new token (see send_with_renewal()).
    token fetch() {
        return send_with_renewal(*source_, *via_, &nonce_retries_, tailoring_.get(), &rotations_);
    }
    /// @brief The configuration as given to the manager: the entry's parameters and
    /// subject are not in it.
    const client_config& config() const noexcept { return source_->given(); }
    /// @brief The transport, shared by every entry.
    const std::shared_ptr<transport>& via() const noexcept { return via_; }
    /// @brief The source, shared by every entry.
    const std::shared_ptr<request_source>& source() const noexcept { return source_; }
    /// @brief The DPoP nonce retries of this entry's requests.
    unsigned nonce_retries() const noexcept { return nonce_retries_.load(); }
    /// @brief The credential rotations that this entry's requests took up.
    unsigned credential_rotations() const noexcept { return rotations_.load(); }
    /// @brief What discovery found worth a log line, once; then empty.
    std::string take_notice() { return source_->take_note(); }
    /// @brief See request_source::credentials_changed().
    bool credentials_changed() const { return source_->credentials_changed(); }

private:
    std::shared_ptr<request_source> source_;
    std::shared_ptr<transport> via_;
    std::unique_ptr<const request_tailoring> tailoring_;
    std::atomic<unsigned> nonce_retries_{0};
    std::atomic<unsigned> rotations_{0};
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/thread_cache.hpp ----

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief A hash of token_params that ignores the order of scopes, resources and extra
/// parameters, as token_params' == does.
struct params_hash {
    std::size_t operator()(const token_params& p) const noexcept {
        const std::hash<std::string_view> h;
        const auto mix = [](std::size_t x) {
            x ^= x >> 31;
            x *= 0x9e3779b97f4a7c15ULL;
            return x ^ (x >> 29);
        };
        std::size_t scopes = 0, resources = 0, extras = 0;
        for (const auto& v : p.scopes) scopes += mix(h(v));
        for (const auto& v : p.resources) resources += mix(h(v) + 1);
        for (const auto& [name, value] : p.extra_params) extras += mix(mix(h(name)) + h(value));
        std::size_t out = h(p.audience) ^ mix(scopes + 0x51);
        out = mix(out) ^ mix(resources + 0xa3);
        return mix(out) ^ mix(extras + 0xc5);
    }
};

/// @brief The hash of a subject key (current_subject::key_hash); 0 for none.
inline std::size_t subject_hash(std::string_view subject) noexcept {
    return subject.empty() ? 0 : std::hash<std::string_view>{}(subject)*0x9e3779b97f4a7c15ULL;
}

/// @brief The hash of an entry's key: its token_params and the subject_hash() of its key.
inline std::size_t entry_hash(const token_params& p, std::size_t subject) noexcept {
    return params_hash{}(p) ^ subject;
}

/// @brief What an entry is found by: its token_params and, for a manager that follows its
/// subject, the subject's key (current_subject::key).
struct entry_key {
    token_params params;
    std::string subject;
    bool operator==(const entry_key& o) const { return subject == o.subject && params == o.params; }
};

struct entry_key_hash {
    std::size_t operator()(const entry_key& k) const noexcept {
        return entry_hash(k.params, subject_hash(k.subject));
    }
};

struct cache_cell;
struct keyed_cells;

/// @brief What a cell's copy is: the entry's current token, a token the entry has taken
/// back (a new copy is to be taken under the entry's lock), or of an entry that is gone
/// (a reader must not reach the entry through this cell again).
enum class cell_copy : unsigned char { current, stale, gone };

/// @brief One thread's copy of one entry's current token, and that thread's count of
/// cached reads. Shared by the thread (its slot list, or its keyed_cells) and the entry's
/// list of cells; on a cache line of its own.
///
/// The owning thread reads `copy`, `local`, `refresh_at` and `coarse_until` without the
/// entry's lock, between `enter_read()` and `leave_read()`. They are written only under
/// the entry's lock: by the owning thread when it takes a new copy, and by the entry when
/// it takes a copy back (`retire()`), which waits for no reader of this cell.
struct alignas(64) cache_cell {
    std::atomic<unsigned> reading{0};  ///< Written by the owning thread only.
    /// Cached reads by the owning thread. Written by it only, with a plain load and
    /// store (no locked instruction); the manager sums the cells' counts.
    std::atomic<std::uint64_t> hits{0};
    std::atomic<cell_copy> copy{cell_copy::stale};  ///< Stored seq_cst by retire().
    /// The token, under a control block of this thread's own, so that copying it
    /// touches no reference count that other threads write.
    std::shared_ptr<const token> local;
    std::chrono::steady_clock::time_point refresh_at;  ///< Served from here until then...
    /// ...and without reading steady_clock while the coarse clock is before this.
    std::chrono::steady_clock::time_point coarse_until;

    /// The owning thread's copies of the manager's other entries: in the cell of the
    /// config's own entry, made on the thread's first keyed read.
    std::unique_ptr<keyed_cells> keyed;
    /// The subject the owning thread saw last, for a manager that follows its subject
    /// (follows_subject()): in the cell of the config's own entry.
    std::unique_ptr<current_subject> subject;

    /// Marks the start of a read of this cell. The reader then loads `copy` seq_cst, and
    /// retire() stores it seq_cst before it loads the mark: in the single order of those
    /// four, either retire() sees the mark and waits, or the reader sees the copy taken
    /// back. The mark is one locked instruction on the thread's own cache line.
    void enter_read() noexcept { reading.exchange(1, std::memory_order_seq_cst); }
    /// Ends the read: retire() may take the copy back from here on.
    void leave_read() noexcept { reading.store(0, std::memory_order_release); }
    /// Counts a cached read; only the owning thread calls it.
    void count_hit() noexcept {
        hits.store(hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    /// Whether the copy may be served: inside a read mark, before reading `local`.
    bool current() const noexcept {
        return copy.load(std::memory_order_seq_cst) == cell_copy::current;
    }
};

/// @brief One thread's cells for the entries of one manager other than the config's own,
/// found by their token_params and subject key: open addressing over a fixed table, emptied when half
/// full, so that a thread holds at most 128 cells per manager however many entries the
/// manager has.
struct keyed_cells {
    struct slot {
        std::size_t hash = 0;
        token_params params;
        std::string subject;  ///< current_subject::key; empty but for subject entries
        /// The entry; reached only inside a read mark of `cell`, and only while the cell's
        /// copy is not `gone` (the entry marks it so before it is destroyed).
        void* entry = nullptr;
        std::shared_ptr<cache_cell> cell;
    };
    static constexpr std::size_t capacity = 256;

    /// The slot of p and subject, or null.
    slot* find(std::size_t hash, const token_params& p, std::string_view subject) noexcept {
        if (slots_.empty()) return nullptr;
        for (std::size_t i = hash % capacity;; i = (i + 1) % capacity) {
            slot& s = slots_[i];
            if (!s.cell) return nullptr;
            if (s.hash == hash && s.params == p && s.subject == subject) return &s;
        }
    }
    /// The slot of p and subject, made empty (no cell) when there was none.
    slot& find_or_add(std::size_t hash, const token_params& p, std::string_view subject) {
        if (slot* found = find(hash, p, subject)) return *found;
        if (slots_.empty() || used_ * 2 >= capacity) {
            slots_.assign(capacity, slot{});
            used_ = 0;
        }
        std::size_t i = hash % capacity;
        while (slots_[i].cell) i = (i + 1) % capacity;
        ++used_;
        slots_[i].hash = hash;
        slots_[i].params = p;
        slots_[i].subject = std::string(subject);
        return slots_[i];
    }

private:
    std::vector<slot> slots_;
    std::size_t used_ = 0;
};

/// @brief A manager's cells, one per thread that has read from it, and the reads of the
/// threads that have ended. Guarded by the manager's lock.
struct cell_list {
    std::vector<std::shared_ptr<cache_cell>> cells;
    std::uint64_t ended_hits = 0;  ///< Cached reads of threads whose cells are gone.

    /// Adds a thread's new cell, dropping the cells of threads that have ended.
    void enroll(std::shared_ptr<cache_cell> cell) {
        drop_ended();
        cells.push_back(std::move(cell));
    }
    /// The cached reads of every thread, those that have ended included.
    std::uint64_t hits() const noexcept {
        std::uint64_t total = ended_hits;
        for (const auto& c : cells) total += c->hits.load(std::memory_order_relaxed);
        return total;
    }
    /// Drops the cells that only this list holds (their threads have ended, and no one
    /// can take a new reference to them but through this list, under the lock), keeping
    /// their counts.
    void drop_ended() noexcept {
        std::size_t kept = 0;
        for (auto& c : cells) {
            if (c.use_count() == 1) {
                ended_hits += c->hits.load(std::memory_order_relaxed);
                c.reset();
            } else {
                cells[kept++] = std::move(c);
            }
        }
        cells.resize(kept);
    }
};

/// @brief Takes the copies back from every cell: after this, no thread's cache keeps an
/// older token alive, and with `gone` no reader reaches the entry through a cell again.
/// Needs the entry's lock.
inline void retire(cell_list& list, cell_copy mark = cell_copy::stale) {
    list.drop_ended();
    if (list.cells.empty()) return;
    for (auto& cell : list.cells) cell->copy.store(mark, std::memory_order_seq_cst);
    for (auto& cell : list.cells) {
        // A reader inside its mark is copying the pointer, a few instructions long.
        while (cell->reading.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
        cell->local.reset();
    }
}

/// @brief This thread's cell for one manager.
struct cache_slot {
    std::uint64_t owner = 0;          ///< The manager's process-unique id.
    std::weak_ptr<const void> alive;  ///< Expires with the manager.
    std::shared_ptr<cache_cell> cell;
};

/// @brief This thread's slots, one per manager it has read from.
inline std::vector<cache_slot>& thread_cache_slots() {
    thread_local std::vector<cache_slot> slots;
    return slots;
}

/// @brief The slot this thread used last. Trivial, so that reaching it costs no
/// thread_local initialisation check; `cell` points into a slot of thread_cache_slots()
/// and is cleared before that slot can go.
struct last_slot {
    std::uint64_t owner;
    cache_cell* cell;
};

inline last_slot& thread_last_slot() noexcept {
    static thread_local last_slot last{0, nullptr};
    return last;
}

/// @brief A process-unique id for a new manager; ids are never reused.
inline std::uint64_t next_manager_id() noexcept {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

/// @brief thread_cell() when the slot used last is another manager's: finds the slot in
/// the thread's list, or makes one and hands its cell to `enroll` (which gives the
/// manager its reference). Slots of managers that are gone are dropped when a new one is
/// made.
template <class Owner, class Enroll>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
cache_cell&
thread_cell_search(std::uint64_t owner, const std::shared_ptr<Owner>& alive, Enroll&& enroll) {
    last_slot& last = thread_last_slot();
    auto& slots = thread_cache_slots();
    for (auto& s : slots) {
        if (s.owner == owner) {
            last = {owner, s.cell.get()};
            return *s.cell;
        }
    }
    last = {0, nullptr};
    for (std::size_t i = 0; i < slots.size();) {
        if (slots[i].alive.expired()) {
            slots[i] = std::move(slots.back());
            slots.pop_back();
        } else {
            ++i;
        }
    }
    cache_slot fresh;
    fresh.owner = owner;
    fresh.alive = std::weak_ptr<const void>(std::shared_ptr<const void>(alive));
    fresh.cell = std::make_shared<cache_cell>();
    enroll(fresh.cell);
    slots.push_back(std::move(fresh));
    last = {owner, slots.back().cell.get()};
    return *slots.back().cell;
}

/// @brief This thread's cell for a manager: the slot used last when it is this manager's
/// (one thread-local load and compare), else thread_cell_search().
template <class Owner, class Enroll>
cache_cell& thread_cell(std::uint64_t owner, const std::shared_ptr<Owner>& alive, Enroll&& enroll) {
    const last_slot& last = thread_last_slot();
    if (last.owner == owner) return *last.cell;
    return thread_cell_search(owner, alive, std::forward<Enroll>(enroll));
}

}  // namespace oauth2cc::detail

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Where the token request stands.
enum class fetch_state {
    idle,     ///< none running or waiting for a worker
    running,  ///< handed to the workers, or under way on one
};

/// @brief How the last token request (or look at the store) ended.
enum class fetch_outcome { none, token, failure };

/// @brief The lock of a manager_state, held. Functions that need the lock take one, so
/// that the guarded state cannot be reached without it.
using state_lock = std::unique_lock<std::mutex>;

/// @brief A published token with the times that govern it. Never changed once shared.
struct snapshot {
    std::shared_ptr<const token> tok;
    std::chrono::steady_clock::time_point refresh_at;
    std::chrono::steady_clock::time_point expires_at;
};

/// @brief The part of a manager_state that only a holder of its lock may read or write.
struct guarded_state {
    using time_point = std::chrono::steady_clock::time_point;
    using logger_fn = std::function<void(log_level, std::string_view)>;

    std::shared_ptr<const snapshot> current;
    fetch_state fetch = fetch_state::idle;
    std::weak_ptr<worker_job> fetch_job;  ///< the running fetch's, for a worker to run itself
    fetch_outcome last_outcome = fetch_outcome::none;
    std::uint64_t fetch_seq = 0;  ///< requests (or store looks) completed
    std::optional<error> last_error;
    /// Set while backing off: no request before it.
    std::optional<time_point> next_attempt;
    std::uint64_t consecutive_failures = 0;
    /// Tokens in a row that invalidate() dropped before any call succeeded with them,
    /// each within retry_max of its issue (see token_manager::invalidate).
    std::uint64_t rejections = 0;
    /// While the rejection guard holds: until when, and the token it keeps.
    std::optional<time_point> guard_until;
    std::weak_ptr<const token> guard_kept;
    std::uint64_t fetches = 0, successes = 0, failures = 0, retries = 0, waits = 0,
                  fast_failures = 0, store_loads = 0, store_failures = 0, credential_rotations = 0;
    std::uint64_t hits = 0;  ///< reads served without a cell (try_get, get_async)
    std::minstd_rand rng;    ///< small: a manager may hold thousands of entries
    /// Refreshed by the process's refresher at its refresh point (and, for an entry that is
    /// not the config's own, only while read within idle_after).
    bool background = false;
    std::shared_ptr<logger_fn> logger;
    std::shared_ptr<metrics_observer> observer;
    /// get_async() callbacks waiting for the fetch under way.
    std::vector<std::function<void(token_result)>> callbacks;
    std::shared_ptr<token_store> store;
    std::string store_key;    ///< store_key(key), set with the first store
    bool store_down = false;  ///< the store could not be reached at the last look
    /// SHA-256 of the last token invalidate() dropped: the store's copy of it is not taken
    /// again, and the token itself is not kept.
    std::string dropped_digest;
    /// Every thread's copy of the current token, taken back when it changes (the config's
    /// own entry only: the others are read under the lock).
    cell_list cells;

    bool backing_off_at(time_point now) const noexcept {
        return next_attempt && now < *next_attempt;
    }
    bool valid_at(time_point now) const noexcept { return current && now < current->expires_at; }

    /// @brief What get() throws while backing off at now: the last error's kind and
    /// details, saying that no request was made, when the next may be, and the last error.
    error backing_off(time_point now) const {
        const error& last = *last_error;
        std::string said = last.what();
        const std::string prefix = "oauth2cc: " + std::string(to_string(last.kind())) + " error: ";
        if (said.rfind(prefix, 0) == 0) said.erase(0, prefix.size());
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next_attempt - now);
        return error(last.kind(),
                     "no token request was made: after " + std::to_string(consecutive_failures) +
                         " failed request(s) the next is in " + std::to_string(left.count()) +
                         " ms (a changed credential file ends the wait); the last one: " + said,
                     error_details{last.oauth_error(), last.error_description(), last.error_uri(),
                                   last.http_status(), last.retry_after()});
    }
};

/// @brief The token_manager's fetches that are handed to the workers or under way, which
/// its destructor waits for.
struct fetch_count {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t running = 0;

    /// @brief One more fetch handed to the workers.
    void start() {
        const std::lock_guard<std::mutex> count(mutex);
        ++running;
    }
    /// @brief One fetch finished.
    void finish() {
        const std::lock_guard<std::mutex> count(mutex);
        --running;
        done.notify_all();
    }
};

/// @brief One entry of a token_manager: the token of one token_params, with its own single
/// flight, lead, backoff, cache key and store entry.
class manager_state : public std::enable_shared_from_this<manager_state> {
public:
    using steady = std::chrono::steady_clock;
    using time_point = steady::time_point;

    /// @param source, via, tailoring make the entry's client (see entry_client)
    /// @param cfg  the config with the entry's token_params in place, for its cache key
    /// @param is_own the entry of the config's own parameters
    /// @param seed seeds the jitter of backoffs and refresh points (0: at random)
    /// @param subject_key for an entry of one subject (current_subject::key), added to
    ///        its cache key
    manager_state(std::shared_ptr<request_source> source, std::shared_ptr<transport> via,
                  std::unique_ptr<const request_tailoring> tailoring, const client_config& cfg,
                  const refresh_policy& p, std::shared_ptr<clock_source> clk, bool is_own,
                  std::uint64_t seed, std::shared_ptr<fetch_count> count,
                  const std::string& subject_key = {})
        : policy(p),
          client(std::move(source), std::move(via), std::move(tailoring)),
          clock(clk ? std::move(clk) : std::make_shared<steady_clock_source>()),
          system_clock(dynamic_cast<steady_clock_source*>(clock.get()) != nullptr),
          coarse(system_clock && coarse_clock::available()),
          manual(clock->is_manual()),
          key(subject_key.empty() ? cache_key(cfg) : cache_key(cfg) + "&" + subject_key),
          id(next_manager_id()),
          where(server_of(cfg.token_endpoint.empty() ? cfg.issuer : cfg.token_endpoint)),
          who(excerpt(cfg.client_id, 100)),
          own(is_own),
          fetches(std::move(count)) {
        guarded_.rng.seed(
            static_cast<std::minstd_rand::result_type>(seed != 0 ? seed : std::random_device{}()));
        last_read.store(now().time_since_epoch().count(), std::memory_order_relaxed);
    }

    manager_state(const manager_state&) = delete;
    manager_state& operator=(const manager_state&) = delete;
    /// Takes every thread's copy back, and has no reader reach this entry again.
    ~manager_state() {
        const state_lock lock(mutex_);
        retire(guarded_.cells, cell_copy::gone);
    }

    /// @throws error `config` when a field of p is out of range
    static refresh_policy check(const refresh_policy& p) {
        const auto fail = [](const char* why) { throw error(error_kind::config, why); };
        if (p.early.count() < 0) fail("refresh_policy.early must not be negative");
        if (!(p.early_fraction >= 0.0 && p.early_fraction < 1.0)) {
            fail("refresh_policy.early_fraction must be in [0, 1)");
        }
        if (p.lifetime_if_unknown.count() <= 0) {
            fail("refresh_policy.lifetime_if_unknown must be positive");
        }
        if (p.retry_initial.count() <= 0) fail("refresh_policy.retry_initial must be positive");
        if (p.retry_max < p.retry_initial) {
            fail("refresh_policy.retry_max must not be below retry_initial");
        }
        // Bounded so that no sum of them with a time point can overflow.
        if (p.early > max_token_lifetime || p.lifetime_if_unknown > max_token_lifetime) {
            fail("refresh_policy.early and lifetime_if_unknown must be at most a year");
        }
        if (p.retry_max > max_token_lifetime)
            fail("refresh_policy.retry_max must be at most a year");
        if (p.max_entries == 0) fail("refresh_policy.max_entries must be at least 1");
        if (p.idle_after.count() <= 0) fail("refresh_policy.idle_after must be positive");
        if (p.idle_after > max_token_lifetime) {
            fail("refresh_policy.idle_after must be at most a year");
        }
        if (!(p.refresh_jitter >= 0.0 && p.refresh_jitter <= 1.0)) {
            fail("refresh_policy.refresh_jitter must be in [0, 1]");
        }
        return p;
    }

    time_point now() const { return system_clock ? steady::now() : clock->now(); }

    /// @brief The time of a read, for idle_after: the coarse clock where it may answer
    /// (within a tick of now(), on its time base), else now().
    time_point read_time() const { return coarse ? coarse_clock::now() : now(); }

    /// @brief Whether a cell's copy may still be served without the lock. On the system
    /// clock, the coarse clock answers while it is before coarse_until (see
    /// coarse_clock.hpp); only then, or on another clock, is the exact time read.
    bool fresh(const cache_cell& cell) const {
        if (coarse && coarse_clock::now() < cell.coarse_until) return true;
        return now() < cell.refresh_at;
    }

    /// @brief The guarded state; lock proves that this state's mutex is held.
    guarded_state& locked(const state_lock& lock) noexcept {
        assert(lock.owns_lock() && lock.mutex() == &mutex_);
        (void)lock;
        return guarded_;
    }
    const guarded_state& locked(const state_lock& lock) const noexcept {
        assert(lock.owns_lock() && lock.mutex() == &mutex_);
        (void)lock;
        return guarded_;
    }
    /// @brief Takes the lock. It is never held across a request or a call of the logger.
    state_lock lock() const { return state_lock(mutex_); }

    /// @brief Waits for a change (notify()), or until `when` on this manager's clock.
    void wait(state_lock& lock, const std::optional<time_point>& when) {
        if (!when || manual) {
            changed_.wait(lock);  // a manual clock wakes us through its subscription
        } else if (system_clock) {
            changed_.wait_until(lock, *when);
        } else {
            const auto left = *when - now();
            if (left > steady::duration::zero()) changed_.wait_for(lock, left);
        }
    }
    /// @brief Waits until pred() holds; it is checked with the lock held.
    template <class Pred>
    void wait_for_condition(state_lock& lock, Pred pred) {
        changed_.wait(lock, pred);
    }
    /// @brief Wakes every waiter; call with the lock held, after a change.
    void notify(const state_lock& lock) {
        (void)lock;
        changed_.notify_all();
    }
    /// @brief Wakes every waiter after taking and releasing the lock, so that a waiter
    /// between its check and its wait cannot miss it (for the clock's subscription).
    void poke() {
        { const state_lock lock(mutex_); }
        changed_.notify_all();
    }

    // Set once.
    const refresh_policy policy;
    entry_client client;
    const std::shared_ptr<clock_source> clock;
    const bool system_clock;  ///< the clock is std::chrono::steady_clock
    const bool coarse;        ///< ...and the coarse clock may answer cached reads
    const bool manual;
    const std::string key;
    const std::uint64_t id;
    const std::string where;  ///< host:port of the token endpoint, for log lines
    const std::string who;    ///< the client id, sanitised, for log lines
    const bool own;           ///< the config's own entry: never dropped
    const std::shared_ptr<fetch_count> fetches;
    /// When a caller last read this entry, on its clock (time_since_epoch().count()).
    std::atomic<steady::rep> last_read{0};
    /// Held by a fetch from its start to its log line: the entry's next fetch, on whichever
    /// worker, begins after the logger has returned, so its lines come in order.
    std::mutex fetch_order;

    /// Read and written without the lock: the token a call last succeeded with
    /// (note_accepted). Cleared when the token changes (retire_copies), so that it never
    /// names a freed token whose address a new one took: a caller still holding the old
    /// token keeps it alive, so no new token can share its address while that caller can
    /// report it.
    std::atomic<const token*> accepted{nullptr};

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    guarded_state guarded_;
};

/// @brief Takes back every thread's copy of the older tokens, so that no thread's cache
/// keeps a replaced, invalidated or destroyed token alive: it lives only as long as the
/// copies that callers hold.
inline void retire_copies(manager_state& s, const state_lock& lock) {
    s.accepted.store(nullptr, std::memory_order_relaxed);  // it named an older token
    retire(s.locked(lock).cells);
}

/// @brief The manager's observer, if any.
inline std::shared_ptr<metrics_observer> observer_of(const manager_state& s) {
    const state_lock lock = s.lock();
    return s.locked(lock).observer;
}

/// @brief Does nothing: cached_copy()'s default on_hit.
struct no_op {
    void operator()() const noexcept {}
};

/// @brief The cell's copy when it is current and fresh (on s's clock), counted as a hit;
/// else null. No lock, no write that other threads see. on_hit runs inside the read
/// mark, while the cell's entry cannot be gone.
template <class OnHit = no_op>
inline std::shared_ptr<const token> cached_copy(const manager_state& s, cache_cell& cell,
                                                OnHit on_hit = {}) {
    cell.enter_read();
    if (cell.current() && cell.local && s.fresh(cell)) {
        on_hit();
        std::shared_ptr<const token> copy = cell.local;
        cell.leave_read();
        cell.count_hit();
        return copy;
    }
    cell.leave_read();
    return nullptr;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/store_sync.hpp ----

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

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace oauth2cc::detail {

/// @brief Marks the thread as running this manager's logger (or a get_async() callback),
/// for as long as it does. Its calls back into the manager, for any entry, must not wait
/// for a request: the request that would answer them may need this worker.
class logging_scope {
public:
    explicit logging_scope(const manager_state& s) noexcept : previous_(current()) {
        current() = s.fetches.get();
    }
    logging_scope(const logging_scope&) = delete;
    logging_scope& operator=(const logging_scope&) = delete;
    ~logging_scope() { current() = previous_; }

    /// @brief True on a thread inside the logger of s's manager.
    static bool inside(const manager_state& s) noexcept { return current() == s.fetches.get(); }

private:
    // The manager is named by its fetch_count, which every entry of it shares.
    static const void*& current() noexcept {
        thread_local const void* logging = nullptr;
        return logging;
    }
    const void* previous_;
};

/// @brief What a fetch starts from, copied under the lock.
struct fetch_inputs {
    std::shared_ptr<token_store> store;
    std::string store_key;
    std::shared_ptr<const snapshot> replacing;  ///< keeps exclusions.replacing alive
    store_exclusions exclusions;
    std::shared_ptr<metrics_observer> observer;
    bool after_failure = false;  ///< the last request failed
};

/// @brief How a fetch went.
struct fetch_report {
    std::chrono::steady_clock::time_point started;     ///< on the manager's clock
    std::chrono::steady_clock::time_point real_start;  ///< for the time it took
    std::chrono::system_clock::time_point wall_start;  ///< the stored token's issue time
    bool requested = false;             ///< a request was made (the store had no token)
    std::optional<stored_pick> picked;  ///< the token taken from the store
    std::optional<token> got;           ///< the token requested
    std::optional<error> failure;
    std::chrono::seconds lifetime{0};    ///< of the token requested
    save_problem not_saved;              ///< why the requested token was not stored
    std::string store_unavailable;       ///< why the store could not be reached
    std::optional<store_result> loaded;  ///< how the look in the store went, if any
    std::chrono::nanoseconds request_took{0};
    unsigned nonce_retries = 0;         ///< the request's `use_dpop_nonce` retries
    unsigned credential_rotations = 0;  ///< credential files rotated since the last request
    std::string notice;                 ///< the token client's notice, for the log line
    long long took_ms = 0;
};

/// @brief A log line for after the lock is released.
struct log_entry {
    log_level level = log_level::info;
    std::string line;
    std::shared_ptr<guarded_state::logger_fn> logger;
    fetch_events events;  ///< for the observer and the get_async() callbacks
};

inline fetch_inputs take_inputs(manager_state& s) {
    const state_lock lock = s.lock();
    const guarded_state& g = s.locked(lock);
    fetch_inputs in;
    in.store = g.store;
    in.store_key = g.store_key;
    in.replacing = g.current;
    in.exclusions.replacing = g.current ? g.current->tok.get() : nullptr;
    in.exclusions.dropped_digest = g.dropped_digest;
    in.exclusions.dpop_bound = !s.client.config().dpop_key.has_value();
    in.exclusions.not_applicable = accepts_not_applicable(s.client.config());
    in.observer = g.observer;
    in.after_failure = g.consecutive_failures > 0;
    return in;
}

/// @brief Step 1: a usable stored token, or the store's lock for the request to come.
inline std::unique_ptr<token_store_lock> take_from_store(const manager_state& s,
                                                         const fetch_inputs& in, fetch_report& r) {
    if (!in.store) return nullptr;
    try {
        store_look look =
            look_in_store(*in.store, in.store_key, s.policy, in.exclusions, r.started);
        r.picked = std::move(look.picked);
        r.store_unavailable = std::move(look.unavailable);
        r.loaded = !r.store_unavailable.empty() ? store_result::unavailable
                   : r.picked                   ? store_result::hit
                                                : store_result::miss;
        return std::move(look.held);
    } catch (const error& e) {
        r.failure = e;
        r.loaded = store_result::failure;
        return nullptr;
    }
}

/// @brief Step 2: the token request, with the lifetime the manager will give the token.
inline void request(manager_state& s, fetch_report& r) {
    r.requested = true;
    const unsigned nonce_retries_before = s.client.nonce_retries();
    const unsigned rotations_before = s.client.credential_rotations();
    const auto start = std::chrono::steady_clock::now();
    const auto done = [&] {
        r.request_took = std::chrono::steady_clock::now() - start;
        r.nonce_retries = s.client.nonce_retries() - nonce_retries_before;
        r.credential_rotations = s.client.credential_rotations() - rotations_before;
        r.notice = s.client.take_notice();
    };
    try {
        r.got = s.client.fetch();
        done();
    } catch (const error& e) {
        done();
        r.failure = e;
        return;
    } catch (...) {
        done();
        r.failure = error(error_kind::transport,
                          "the transport threw an exception that is not an oauth2cc::error");
        return;
    }
    // A token that claims no lifetime at all is served once, then refreshed.
    r.lifetime = std::max(r.got->expires_in ? *r.got->expires_in : s.policy.lifetime_if_unknown,
                          std::chrono::seconds(1));
}

/// @brief Step 4 on success: the token becomes current, every thread's older copy goes.
inline void publish_token(manager_state& s, const state_lock& lock, fetch_report& r,
                          log_entry& log) {
    guarded_state& g = s.locked(lock);
    auto snap = std::make_shared<snapshot>();
    if (r.got) {
        r.got->obtained_at = r.started;
        snap->expires_at = r.started + r.lifetime;
        snap->refresh_at = refresh_point(s.policy, r.started, snap->expires_at, r.lifetime, *r.got);
        snap->tok = std::make_shared<const token>(std::move(*r.got));
        ++g.successes;
    } else {
        snap->expires_at = r.started + r.picked->left;
        snap->refresh_at =
            refresh_point(s.policy, r.started, snap->expires_at, r.picked->lifetime, r.picked->tok);
        snap->tok = std::make_shared<const token>(std::move(r.picked->tok));
        ++g.store_loads;
    }
    g.current = std::move(snap);
    retire_copies(s, lock);
    g.consecutive_failures = 0;
    g.next_attempt.reset();
    g.last_outcome = fetch_outcome::token;
    const auto refresh_in =
        std::chrono::duration_cast<std::chrono::seconds>(g.current->refresh_at - r.started).count();
    const token& tok = *g.current->tok;
    if (r.requested) {
        log.line = "token for client \"" + s.who + "\" from " + s.where + " in " +
                   std::to_string(r.took_ms) + " ms; lifetime " +
                   std::to_string(r.lifetime.count()) + " s" +
                   (tok.expires_in ? "" : " (no expires_in: assumed)") + ", refresh " +
                   std::to_string(refresh_in) + " s from now";
    } else {
        log.line = "token for client \"" + s.who + "\" from the token store in " +
                   std::to_string(r.took_ms) + " ms; " + std::to_string(tok.expires_in->count()) +
                   " s left, refresh " + std::to_string(refresh_in) + " s from now";
    }
    if (!r.not_saved.what.empty() && !r.not_saved.unavailable) {
        ++g.store_failures;
        log.level = log_level::warning;
        log.line += "; not stored: " + r.not_saved.what;
    }
}

/// @brief A store that cannot be reached is counted each time, and logged once per outage:
/// on the first failure, and when it answers again.
inline void note_store_health(manager_state& s, const state_lock& lock, const fetch_inputs& in,
                              fetch_report& r, log_entry& log) {
    guarded_state& g = s.locked(lock);
    if (!in.store) return;
    const std::string& why = !r.store_unavailable.empty() ? r.store_unavailable
                             : r.not_saved.unavailable    ? r.not_saved.what
                                                          : std::string();
    if (!why.empty()) {
        ++g.store_failures;
        if (g.store_down) return;
        g.store_down = true;
        log.level = std::max(log.level, log_level::warning);
        log.line +=
            "; the token store is unavailable, going on without it until it "
            "answers again: " +
            why;
    } else if (g.store_down && !r.failure) {
        g.store_down = false;
        log.line += "; the token store answers again";
    }
}

/// @brief Step 4 on failure: the error is kept for callers, and the next attempt waits a
/// backoff.
inline void publish_failure(manager_state& s, const state_lock& lock, fetch_report& r,
                            log_entry& log) {
    guarded_state& g = s.locked(lock);
    const error& failure = *r.failure;
    ++g.failures;
    ++g.consecutive_failures;
    if (!r.requested) ++g.store_failures;
    const auto delay = retry_delay(
        failure, static_cast<unsigned>(std::min<std::uint64_t>(g.consecutive_failures, 64)),
        s.policy.retry_initial, s.policy.retry_max, g.rng);
    g.next_attempt = s.now() + delay;
    g.last_outcome = fetch_outcome::failure;
    log.level = retry_cannot_cure(failure) ? log_level::error : log_level::warning;
    log.line = std::string(r.requested ? "token request" : "token store") + " for client \"" +
               s.who + "\" " + (r.requested ? "to " + s.where + " " : std::string()) +
               "failed after " + std::to_string(r.took_ms) + " ms";
    if (failure.http_status() != 0) {
        log.line += " (HTTP " + std::to_string(failure.http_status()) + ")";
    }
    log.line += ": " + std::string(failure.what()) + "; next attempt in " +
                std::to_string(delay.count()) + " ms (failure " +
                std::to_string(g.consecutive_failures) + " in a row)";
    g.last_error = std::move(r.failure);
}

/// @brief What the observer is to be told of a fetch: told before the outcome is
/// published, so that a caller the fetch wakes finds it counted.
inline fetch_events observer_events(const fetch_inputs& in, const fetch_report& r) {
    fetch_events events;
    events.observer = in.observer;
    if (!events.observer) return events;
    if (r.loaded) events.store.emplace_back(store_operation::load, *r.loaded);
    if (r.requested) {
        request_record rec;
        rec.outcome = r.got ? request_outcome::success : outcome_of(r.failure->kind());
        if (r.failure) {
            rec.http_status = r.failure->http_status();
            rec.oauth_error = excerpt(r.failure->oauth_error(), 100);
        }
        rec.latency = r.request_took;
        rec.retry = in.after_failure;
        rec.nonce_retries = r.nonce_retries;
        rec.credential_rotations = r.credential_rotations;
        events.request = std::move(rec);
    }
    if (r.got && in.store) {
        events.store.emplace_back(store_operation::save, r.not_saved.what.empty() ? store_result::ok
                                                         : r.not_saved.unavailable
                                                             ? store_result::unavailable
                                                             : store_result::failure);
    }
    return events;
}

/// @brief Step 4: the outcome published, the fetch over, every waiter woken.
inline log_entry publish(manager_state& s, const fetch_inputs& in, fetch_report& r) {
    log_entry log;
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    if (r.requested) {
        ++g.fetches;
        if (g.consecutive_failures > 0) ++g.retries;
    }
    log.events.callbacks = std::move(g.callbacks);
    g.callbacks.clear();
    if (r.got || r.picked) {
        publish_token(s, lock, r, log);
    } else {
        publish_failure(s, lock, r, log);
    }
    if (r.credential_rotations > 0) {
        // Counted and said, never shown: a new secret or key is the file's business.
        g.credential_rotations += r.credential_rotations;
        log.line += "; a rotated credential was taken up from " +
                    credential_files(s.client.config()) + " (" +
                    std::to_string(g.credential_rotations) + " so far)";
    }
    if (!r.notice.empty()) {
        log.line += "; " + r.notice;
        if (log.level < log_level::warning) log.level = log_level::warning;
    }
    note_store_health(s, lock, in, r, log);
    g.fetch = fetch_state::idle;
    ++g.fetch_seq;
    log.logger = g.logger;
    if (!log.events.callbacks.empty()) {
        if (g.last_outcome == fetch_outcome::token) {
            log.events.result.tok = g.current->tok;
        } else {
            log.events.result.failure = g.last_error;
        }
    }
    s.notify(lock);
    return log;
}

/// @brief Step 5: the log line and the get_async() callbacks, outside every lock.
inline void write_log(const manager_state& s, const log_entry& log) {
    const logging_scope inside(s);
    if (log.logger && *log.logger) {
        try {
            (*log.logger)(log.level, log.line);
        } catch (...) {
            // A logger that throws must not take the refresh down with it.
        }
    }
    log.events.deliver(s.who);
}

/// @brief One fetch: a usable stored token, else one token request (saved to the store);
/// the outcome published and logged. The state's fetch is `running` on entry.
inline void run_fetch(manager_state& s) {
    const std::lock_guard<std::mutex> order(s.fetch_order);
    fetch_report r;
    r.started = s.now();
    r.real_start = std::chrono::steady_clock::now();
    r.wall_start = std::chrono::system_clock::now();
    const fetch_inputs in = take_inputs(s);
    std::unique_ptr<token_store_lock> held = take_from_store(s, in, r);
    if (!r.picked && !r.failure) request(s, r);
    if (r.got && in.store) {
        r.not_saved = save_to_store(*in.store, in.store_key, *r.got, r.wall_start, r.lifetime);
    }
    held.reset();
    r.took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - r.real_start)
                    .count();
    {
        const logging_scope inside(s);
        observer_events(in, r).deliver(s.who);
    }
    write_log(s, publish(s, in, r));
}

/// @brief Starts one fetch unless one is running: hands it to the process's workers.
/// @throws error `transport` when no worker can run it
inline void start_fetch(manager_state& s, const state_lock& lock) {
    guarded_state& g = s.locked(lock);
    if (g.fetch != fetch_state::idle) return;
    s.fetches->start();
    const auto finished = [fetches = s.fetches] { fetches->finish(); };
    g.fetch = fetch_state::running;
    try {
        // The manager's job (its entries share s.fetches), urgent without a valid token.
        const bool urgent = !g.valid_at(s.now());
        g.fetch_job = refresh_service::instance().submit(
            [self = s.shared_from_this(), finished]() mutable {
                run_fetch(*self);
                bool background = false;
                {
                    const state_lock inner = self->lock();
                    background = self->locked(inner).background;
                }
                // The entry is let go before the fetch counts as finished: this worker may hold
                // its last reference, and its config, keys and transport are to be freed before
                // the manager's destructor returns (before OpenSSL cleans up), never after.
                self.reset();
                finished();
                // The entry's refresh point has moved: the refresher is to look again.
                if (background) refresh_service::instance().poke();
            },
            s.fetches.get(), urgent);
    } catch (const error&) {
        g.fetch = fetch_state::idle;
        finished();
        throw;
    }
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/rejection_guard.hpp ----

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

namespace oauth2cc::detail {

/// @brief Notes that a call succeeded with tok: its rejection later is no evidence for
/// the rejection guard. Costs a read when the token is already noted.
inline void note_accepted(manager_state& s, const token* tok) noexcept {
    if (s.accepted.load(std::memory_order_relaxed) != tok) {
        s.accepted.store(tok, std::memory_order_relaxed);
    }
}

/// @brief The rejection guard's verdict on a token that a caller saw rejected (see
/// token_manager::invalidate): true when it is kept, with the warning to log when the guard
/// has just begun. A token the guard kept is dropped once the guard ends, and counted, but
/// does not start the guard again: its successor gets its chance.
inline bool guard_keeps(manager_state& s, const state_lock& lock,
                        const std::shared_ptr<const token>& seen, std::string& warning) {
    guarded_state& g = s.locked(lock);
    const auto now = s.now();
    if (g.guard_until && now < *g.guard_until) return true;
    const bool kept_before = g.guard_kept.lock() == seen;
    g.guard_until.reset();
    g.guard_kept.reset();
    const bool accepted = s.accepted.load(std::memory_order_relaxed) == seen.get();
    const bool young = now - seen->obtained_at < s.policy.retry_max;
    if (accepted || (!young && !kept_before)) {
        g.rejections = 0;
        return false;
    }
    ++g.rejections;
    if (kept_before || g.rejections < 2) return false;
    const auto ceiling =
        backoff_ceiling(static_cast<unsigned>(std::min<std::uint64_t>(g.rejections - 1, 64)),
                        s.policy.retry_initial, s.policy.retry_max);
    // Half the ceiling at least: the guard must hold for a while to be one.
    std::uniform_int_distribution<std::int64_t> pick(ceiling.count() / 2, ceiling.count());
    const std::chrono::milliseconds hold(pick(g.rng));
    g.guard_until = now + hold;
    g.guard_kept = seen;
    warning = "the API rejected the last " + std::to_string(g.rejections) + " tokens of client \"" +
              s.who + "\" before any call succeeded with them; the token is kept for " +
              std::to_string(hold.count()) + " ms, with no token request meanwhile";
    return true;
}

}  // namespace oauth2cc::detail

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc::detail {

// A copy of tok under a control block of its own, for one thread's cache cell.
inline std::shared_ptr<const token> local_copy(const std::shared_ptr<const token>& tok) {
    return std::shared_ptr<const token>(tok.get(),
                                        [keep = tok](const token*) mutable { keep.reset(); });
}

// The current token: through this thread's cell when there is one (pointing it at the
// current token), else the shared one. Needs a current token.
inline std::shared_ptr<const token> serve(manager_state& s, const state_lock& lock,
                                          cache_cell* cell) {
    const snapshot& current = *s.locked(lock).current;
    if (cell == nullptr) return current.tok;
    if (cell->copy.load(std::memory_order_relaxed) != cell_copy::current || !cell->local) {
        cell->local = local_copy(current.tok);
        cell->refresh_at = current.refresh_at;
        cell->coarse_until = coarse_until(current.refresh_at, current.expires_at);
        cell->copy.store(cell_copy::current, std::memory_order_relaxed);
    }
    return cell->local;
}

// Counts a read answered by the valid token.
inline void count_hit(manager_state& s, const state_lock& lock, cache_cell* cell) {
    if (cell != nullptr) {
        cell->count_hit();
    } else {
        ++s.locked(lock).hits;
    }
}

// This thread's cell for the config's own entry; a new one is enrolled so that the
// manager can take its copy back and count its reads.
inline cache_cell& this_thread_cell(manager_state& s, const std::shared_ptr<manager_state>& alive) {
    return thread_cell(s.id, alive, [&s](std::shared_ptr<cache_cell> cell) {
        const state_lock lock = s.lock();
        s.locked(lock).cells.enroll(std::move(cell));
    });
}

/// @brief With a valid token whose refresh is due, starts the refresh (unless backing
/// off); a thread that cannot start leaves it to the next caller.
inline void refresh_if_due(manager_state& s, const state_lock& lock,
                           manager_state::time_point now) {
    guarded_state& g = s.locked(lock);
    if (now < g.current->refresh_at || g.backing_off_at(now)) return;
    try {
        start_fetch(s, lock);
    } catch (const error&) {
        // The token is still valid; the next caller tries again.
    }
}

/// @brief This thread's copy of an entry, from its slot in the thread's keyed_cells, when
/// it is current and fresh; else null. No lock, and no write that other threads see but
/// the entry's last read, once per tick of the coarse clock. `own` is the manager's own
/// entry, whose clock every entry shares.
inline std::shared_ptr<const token> keyed_copy(const manager_state& own, keyed_cells::slot& slot) {
    return cached_copy(own, *slot.cell, [&own, &slot] {
        auto& last_read = static_cast<manager_state*>(slot.entry)->last_read;
        const auto now = own.read_time().time_since_epoch().count();
        if (last_read.load(std::memory_order_relaxed) < now) {
            last_read.store(now, std::memory_order_relaxed);
        }
    });
}

/// @brief The cell of a slot of this thread's keyed_cells for entry e: the slot's own when
/// it is e's, else a new one enrolled in e (the old one, of an entry dropped or gone, is
/// let go: that entry drops it from its list).
inline cache_cell& keyed_cell(keyed_cells::slot& slot, const std::shared_ptr<manager_state>& e) {
    // A cell that is not gone is of the entry it was made for, alive: an entry marks its
    // cells gone before it is freed, and a new one at its address is made after that.
    if (slot.cell && slot.entry == e.get() &&
        slot.cell->copy.load(std::memory_order_seq_cst) != cell_copy::gone) {
        return *slot.cell;
    }
    auto cell = std::make_shared<cache_cell>();
    {
        const state_lock lock = e->lock();
        e->locked(lock).cells.enroll(cell);
    }
    slot.cell = std::move(cell);
    slot.entry = e.get();
    return *slot.cell;
}

/// @brief What the span of a token an entry serves is about.
inline span_start token_span(const manager_state& s) {
    span_start what;
    what.kind = span_kind::token_acquisition;
    what.client_id = s.who;
    what.server = s.where;
    what.grant = to_string(s.client.config().grant);
    return what;
}

/// @brief A valid token of the entry, from the cache or from one shared fetch, waiting at
/// most max_wait (see token_manager::get). A tracer gets a span of it: hit or wait.
inline std::shared_ptr<const token> wait_for_token(manager_state& s, cache_cell* cell,
                                                   std::chrono::milliseconds max_wait) {
    // Ended after the lock is released, as the report is.
    span_scope span(s.client.config().tracer, token_span(s));
    wait_report report;  // reports a wait once the lock is released
    state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    auto now = s.now();
    // A wait longer than any token could take is no limit at all; so it cannot overflow.
    std::optional<manager_state::time_point> deadline;
    if (max_wait < max_token_lifetime) deadline = max_wait.count() <= 0 ? now : now + max_wait;
    bool waited = false;
    for (;;) {
        if (logging_scope::inside(s)) {
            // From this manager's logger: a valid token, or the last error, at once.
            if (g.valid_at(now)) {
                span.served(cache_outcome::hit);
                return serve(s, lock, cell);
            }
            if (g.last_error) {
                span.failed(*g.last_error);
                throw *g.last_error;
            }
            throw error(error_kind::transport,
                        "get() from this token_manager's logger never waits for a token "
                        "request, and there is no valid token now");
        }
        if (g.valid_at(now)) {
            refresh_if_due(s, lock, now);
            if (!waited) count_hit(s, lock, cell);
            span.served(waited ? cache_outcome::wait : cache_outcome::hit);
            return serve(s, lock, cell);
        }
        if (g.fetch == fetch_state::idle) {
            if (g.backing_off_at(now) && g.last_error) {
                if (!s.client.credentials_changed()) {
                    ++g.fast_failures;
                    const error e = g.backing_off(now);
                    span.failed(e);
                    throw e;
                }
                g.next_attempt.reset();  // a credential file was fixed: ask at once
            }
            start_fetch(s, lock);
        }
        if (!waited) {
            ++g.waits;
            waited = true;
            span.served(cache_outcome::wait);
            if (g.observer) report.begin(g.observer, s.who);
        }
        const std::uint64_t seq = g.fetch_seq;
        // On a worker (a credential source asking this manager for a token), the fetch
        // runs here rather than waiting for another worker, which may never come: every
        // worker may be waiting so. The transport's deadlines bound it.
        if (const auto job = g.fetch_job.lock()) {
            if (refresh_service::on_worker()) {
                lock.unlock();
                job->run_once();
                lock.lock();
            } else if (!job->urgent.exchange(true)) {
                refresh_service::instance().hurry();  // a background refresh a caller waits for
            }
        }
        while (g.fetch_seq == seq && (!deadline || s.now() < *deadline)) s.wait(lock, deadline);
        if (g.fetch_seq == seq) {
            throw error(error_kind::transport, "no token within max_wait (" +
                                                   std::to_string(max_wait.count()) +
                                                   " ms); the token request is still in progress");
        }
        if (g.last_outcome == fetch_outcome::failure && g.last_error) {
            span.failed(*g.last_error);
            throw *g.last_error;
        }
        if (g.last_outcome == fetch_outcome::token && g.current) return serve(s, lock, cell);
        now = s.now();
    }
}

/// @brief The valid token at once, or null, starting a fetch when there is none (see
/// token_manager::try_get).
inline std::shared_ptr<const token> try_token(manager_state& s, cache_cell* cell) {
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    const auto now = s.now();
    if (g.valid_at(now)) {
        if (!logging_scope::inside(s)) refresh_if_due(s, lock, now);
        count_hit(s, lock, cell);
        return serve(s, lock, cell);
    }
    if (!logging_scope::inside(s) && g.fetch == fetch_state::idle && !g.backing_off_at(now)) {
        start_fetch(s, lock);
    }
    return nullptr;
}

/// @brief Hands the entry's valid token, or the error of the fetch that was to give it,
/// to done (see token_manager::get_async).
inline void token_to(manager_state& s, token_callback done) {
    token_result now_result;
    {
        const state_lock lock = s.lock();
        guarded_state& g = s.locked(lock);
        const auto now = s.now();
        const bool inside = logging_scope::inside(s);
        if (g.valid_at(now)) {
            if (!inside) refresh_if_due(s, lock, now);
            now_result.tok = g.current->tok;
        } else if (inside) {
            now_result.failure =
                g.last_error ? *g.last_error
                             : error(error_kind::transport,
                                     "get_async() from this token_manager's logger or callback "
                                     "never waits for a token request, and there is no valid "
                                     "token now");
        } else if (g.fetch == fetch_state::idle && g.backing_off_at(now) && g.last_error &&
                   !s.client.credentials_changed()) {
            ++g.fast_failures;
            now_result.failure = g.backing_off(now);
        } else {
            if (g.fetch == fetch_state::idle && g.backing_off_at(now)) g.next_attempt.reset();
            try {
                start_fetch(s, lock);
                g.callbacks.push_back(std::move(done));
                return;
            } catch (const error& e) {
                now_result.failure = e;
            }
        }
    }
    hand_over(done, now_result);
}

/// @brief Drops the entry's token if it is still seen, unless the rejection guard keeps
/// it (when guarded); the store's copy goes too (see token_manager::invalidate).
inline void drop_token(manager_state& s, const token* seen, bool guarded = true) {
    std::shared_ptr<token_store> store;
    std::shared_ptr<const token> dropped;
    std::string key;
    std::string warning;
    std::shared_ptr<guarded_state::logger_fn> logger;
    {
        const state_lock lock = s.lock();
        guarded_state& g = s.locked(lock);
        if (!g.current || (seen != nullptr && g.current->tok.get() != seen)) return;
        if (guarded && guard_keeps(s, lock, g.current->tok, warning)) {
            logger = g.logger;
        } else {
            dropped = g.current->tok;
            g.current.reset();
            retire_copies(s, lock);
            g.dropped_digest = sha256_hex(dropped->access_token.reveal());
            store = g.store;
            key = g.store_key;
            s.notify(lock);
        }
    }
    if (!warning.empty() && logger && *logger) {
        const logging_scope inside(s);
        try {
            (*logger)(log_level::warning, warning);
        } catch (...) {
            // A logger that throws changes nothing here.
        }
    }
    // The store's files are read and written outside the lock that readers need.
    if (!store) return;
    const store_result dropped_there = drop_stored(*store, key, dropped->access_token);
    std::shared_ptr<metrics_observer> observer;
    {
        const state_lock lock = s.lock();
        guarded_state& g = s.locked(lock);
        if (dropped_there != store_result::ok) ++g.store_failures;
        observer = g.observer;
    }
    tell(observer, [&](metrics_observer& o) {
        o.on_store(store_event{s.who, store_operation::remove, dropped_there});
    });
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/manager_core.hpp ----

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Converts a time on the entry's clock to steady_clock, for the refresher's wait;
/// none for a manual clock, whose every change pokes the refresher.
inline std::optional<std::chrono::steady_clock::time_point> steady_time(
    const manager_state& s, manager_state::time_point when) {
    if (s.manual) return std::nullopt;
    if (s.system_clock) return when;
    return std::chrono::steady_clock::now() + (when - s.now());
}

/// @brief One look of the refresher at an entry refreshed in the background: starts its
/// fetch when there is no valid token or its refresh point has passed (never before a
/// backoff ends), and says when to look again. An entry that is not the config's own and
/// has not been read for idle_after is not refreshed: `drop` is set instead.
inline std::optional<std::chrono::steady_clock::time_point> background_step(manager_state& s,
                                                                            bool& drop) {
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    if (!g.background || g.fetch != fetch_state::idle) return std::nullopt;
    const auto now = s.now();
    const bool valid = g.valid_at(now);
    const bool due = !valid || now >= g.current->refresh_at;
    const manager_state::time_point read(
        manager_state::steady::duration(s.last_read.load(std::memory_order_relaxed)));
    if (!s.own && now - read >= s.policy.idle_after) {
        if (due) {
            drop = true;
            return std::nullopt;
        }
        return steady_time(s, g.current->refresh_at);
    }
    if (g.backing_off_at(now)) return steady_time(s, *g.next_attempt);
    if (!due) return steady_time(s, g.current->refresh_at);
    try {
        start_fetch(s, lock);
        return std::nullopt;  // its end pokes the refresher
    } catch (const error&) {
        return std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
}

/// @brief The subject this thread sees now, of a config that follows_subject(): asks the
/// sources, and works out the key only when they give other tokens than this thread saw
/// last (kept in cell, the thread's cell of the config's own entry).
/// @throws error `config` when a source fails (call_source()), or a JWT bearer assertion
///         names no issuer and subject
inline const current_subject& subject_now(const client_config& cfg, cache_cell& cell) {
    const bool exchange = cfg.grant == grant_type::token_exchange;
    std::string subject = exchange ? call_source(cfg.subject_token, "subject_token")
                                   : call_source(cfg.grant_assertion, "grant_assertion");
    std::string actor;
    const wipe_at_exit wiper{[&subject, &actor] {
        wipe(subject);
        wipe(actor);
    }};
    if (exchange && cfg.actor_token) actor = call_source(cfg.actor_token, "actor_token");
    current_subject* seen = cell.subject.get();
    if (seen != nullptr && subject == seen->subject.reveal() && actor == seen->actor.reveal()) {
        return *seen;
    }
    auto now = std::make_unique<current_subject>();
    now->key = exchange ? exchange_subject_key(subject, actor) : assertion_subject_key(subject);
    now->key_hash = subject_hash(now->key);
    now->subject = secret(subject);
    now->actor = secret(actor);
    cell.subject = std::move(now);
    return *cell.subject;
}

/// @brief What every entry of a manager shares, set through the manager.
struct entry_settings {
    std::shared_ptr<guarded_state::logger_fn> logger;
    std::shared_ptr<metrics_observer> observer;
    std::shared_ptr<token_store> store;
    bool background = false;
};

/// @brief Gives an entry the manager's settings.
inline void give_settings(manager_state& s, const entry_settings& settings) {
    const std::string key = settings.store ? store_key(s.key) : std::string();
    const state_lock lock = s.lock();
    guarded_state& g = s.locked(lock);
    g.logger = settings.logger;
    g.observer = settings.observer;
    g.store = settings.store;
    if (g.store_key.empty()) g.store_key = key;
    g.background = settings.background;
}

/// @brief Adds an entry's counters to out (a sum over entries).
inline void add_counters(manager_stats& out, manager_state& s) {
    const state_lock lock = s.lock();
    const guarded_state& g = s.locked(lock);
    out.cache_hits += g.cells.hits() + g.hits;
    out.fetches += g.fetches;
    out.successes += g.successes;
    out.failures += g.failures;
    out.retries += g.retries;
    out.waits += g.waits;
    out.fast_failures += g.fast_failures;
    out.store_loads += g.store_loads;
    out.store_failures += g.store_failures;
    out.in_flight = out.in_flight || g.fetch != fetch_state::idle;
    // The state of the entry that fares worst: the config's own first among equals.
    if (g.consecutive_failures > out.consecutive_failures ||
        (s.own && g.consecutive_failures == out.consecutive_failures && g.last_error)) {
        out.consecutive_failures = g.consecutive_failures;
        out.next_attempt = g.next_attempt;
    }
    if (g.last_error && (s.own || !out.last_error)) out.last_error = g.last_error;
}

/// @brief A token_manager's entries and what they share. Lock order: the core's lock may
/// be held while an entry's is taken, never the other way round.
class manager_core {
public:
    manager_core(client_config cfg, refresh_policy p, std::shared_ptr<transport> via,
                 std::shared_ptr<clock_source> clk)
        : follows(follows_subject(cfg)),
          policy(manager_state::check(p)),
          clock(clk ? std::move(clk) : std::make_shared<steady_clock_source>()),
          running(std::make_shared<fetch_count>()),
          own(std::make_shared<manager_state>(std::make_shared<request_source>(cfg), std::move(via),
                                              nullptr, cfg, policy, clock, true, policy.jitter_seed,
                                              running)),
          base(own->client.config()),
          base_params(params_of(base)),
          dpop(base.dpop_key ? std::optional<dpop_prover>(*base.dpop_key) : std::nullopt) {
        map_.emplace(entry_key{base_params, {}}, own);
    }

    // Set once.
    /// The config follows its subject (follows_subject()): every token is an entry of one
    /// subject, and the config's own entry holds none.
    const bool follows;
    const refresh_policy policy;
    const std::shared_ptr<clock_source> clock;
    const std::shared_ptr<fetch_count> running;
    const std::shared_ptr<manager_state> own;
    /// The config as given: its one copy, held by the request source every entry shares.
    const client_config& base;
    const token_params base_params;  ///< params_of(base)
    /// Makes the proofs of resource requests, when client_config::dpop_key is set.
    const std::optional<dpop_prover> dpop;
    /// The latest DPoP nonce of each resource server's origin, for every entry.
    dpop_nonces resource_nonces;
    std::uint64_t clock_subscription = 0;  ///< set by the constructor of token_manager
    /// The refresher's id of this manager's pass, while refreshing in the background.
    std::atomic<std::uint64_t> background_id{0};

    /// @brief The entry of p (of subj, for a config that follows its subject), made when
    /// there is none (dropping the least recently read beyond max_entries, and those idle
    /// for idle_after); its read is noted.
    /// @throws error `config` when p cannot be asked for (a scope outside RFC 6749 §3.3,
    ///         say)
    std::shared_ptr<manager_state> entry(const token_params& p,
                                         const current_subject* subj = nullptr) {
        const auto now = own->read_time().time_since_epoch().count();
        entry_key key{p, subj != nullptr ? subj->key : std::string()};
        const std::lock_guard<std::mutex> lock(mutex_);
        auto it = map_.find(key);
        if (it != map_.end()) {
            it->second->last_read.store(now, std::memory_order_relaxed);
            return it->second;
        }
        if (!new_entries_.take(policy.new_entries_per_second, own->now())) {
            ++refused_;
            throw error(error_kind::config,
                        "this token_manager was asked for more than " +
                            std::to_string(policy.new_entries_per_second) +
                            " new token parameters in a second (refresh_policy::"
                            "new_entries_per_second), each a token request: reuse the "
                            "parameters of a few audiences and resources, or raise the bound");
        }
        const std::uint64_t seed = policy.jitter_seed != 0 ? policy.jitter_seed + ++made_ : 0;
        auto tailoring = std::make_unique<request_tailoring>();
        tailoring->params = p;
        if (subj != nullptr) tailoring->subject = std::make_shared<const current_subject>(*subj);
        own->client.source()->check(*tailoring);
        auto made = std::make_shared<manager_state>(
            own->client.source(), own->client.via(), std::move(tailoring), with_params(base, p),
            policy, clock, false, seed, running, key.subject);
        // Idle entries are looked for once per sixteenth of idle_after, not on every new
        // entry: a burst of new entries costs no walk over all of them each.
        if (now - last_idle_walk_ >= idle_ticks() / 16) {
            drop_idle(now);
            last_idle_walk_ = now;
        }
        if (map_.size() >= policy.max_entries) drop_least_recent();
        map_.emplace(std::move(key), made);
        give_settings(*made, settings_);
        return made;
    }

    /// @brief The entry of p and subject, or null when there is none.
    std::shared_ptr<manager_state> find(const token_params& p,
                                        std::string_view subject = {}) const {
        const entry_key key{p, std::string(subject)};
        const std::lock_guard<std::mutex> lock(mutex_);
        const auto it = map_.find(key);
        return it == map_.end() ? nullptr : it->second;
    }

    /// @brief Every entry, at this moment.
    std::vector<std::shared_ptr<manager_state>> all() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        std::vector<std::shared_ptr<manager_state>> out;
        out.reserve(map_.size());
        for (const auto& kv : map_) out.push_back(kv.second);
        return out;
    }

    std::size_t size() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return map_.size();
    }
    /// @brief The counters of every entry, those dropped included.
    manager_stats stats() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        manager_stats out = dropped_;
        out.in_flight = false;
        out.consecutive_failures = 0;
        out.last_error.reset();
        out.next_attempt.reset();
        for (const auto& kv : map_) add_counters(out, *kv.second);
        out.entries = map_.size();
        out.evictions = evictions_;
        out.entries_refused = refused_;
        return out;
    }

    /// @brief Changes the settings (change runs under the core's lock) and gives every
    /// entry the new ones; an entry made meanwhile takes them when it is made.
    /// @returns what change returned
    template <class Change>
    auto configure(Change&& change) {
        std::vector<std::shared_ptr<manager_state>> entries;
        entry_settings now;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            change(settings_);
            now = settings_;
            for (const auto& kv : map_) entries.push_back(kv.second);
        }
        for (const auto& e : entries) give_settings(*e, now);
        return now;
    }

    entry_settings settings() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return settings_;
    }

    /// @brief The refresher's pass over every entry refreshed in the background: starts
    /// the due refreshes, drops the entries left idle, and says when to look again.
    std::optional<std::chrono::steady_clock::time_point> background_pass() {
        std::optional<std::chrono::steady_clock::time_point> next;
        std::vector<const manager_state*> dropped;
        for (const auto& e : all()) {
            // The own entry of a config that follows its subject holds no token.
            if (follows && e == own) continue;
            bool drop = false;
            const auto wake = background_step(*e, drop);
            if (drop) dropped.push_back(e.get());
            if (wake && (!next || *wake < *next)) next = wake;
        }
        if (!dropped.empty()) {
            const std::lock_guard<std::mutex> lock(mutex_);
            for (auto it = map_.begin(); it != map_.end();) {
                const bool gone =
                    std::find(dropped.begin(), dropped.end(), it->second.get()) != dropped.end();
                it = gone ? evict(it) : std::next(it);
            }
        }
        return next;
    }

    /// @brief Wakes every waiter of every entry (the clock's subscription).
    void poke_all() {
        for (const auto& e : all()) e->poke();
        refresh_service::instance().poke();
    }

private:
    std::chrono::steady_clock::rep idle_ticks() const {
        return std::chrono::duration_cast<std::chrono::steady_clock::duration>(policy.idle_after)
            .count();
    }

    // Drops the entries (not the config's own) not read for idle_after. Needs the lock.
    void drop_idle(std::chrono::steady_clock::rep now) {
        const auto idle = idle_ticks();
        for (auto it = map_.begin(); it != map_.end();) {
            const bool gone = !it->second->own &&
                              now - it->second->last_read.load(std::memory_order_relaxed) >= idle;
            it = gone ? evict(it) : std::next(it);
        }
    }

    // Drops the least recently read entry that is not the config's own. Needs the lock.
    void drop_least_recent() {
        auto oldest = map_.end();
        for (auto it = map_.begin(); it != map_.end(); ++it) {
            if (it->second->own) continue;
            if (oldest == map_.end() ||
                it->second->last_read.load(std::memory_order_relaxed) <
                    oldest->second->last_read.load(std::memory_order_relaxed)) {
                oldest = it;
            }
        }
        if (oldest != map_.end()) evict(oldest);
    }

    using entry_map = std::unordered_map<entry_key, std::shared_ptr<manager_state>, entry_key_hash>;

    // Drops an entry, keeping its counters. Needs the lock.
    entry_map::iterator evict(entry_map::iterator it) {
        add_counters(dropped_, *it->second);
        ++evictions_;
        return map_.erase(it);
    }

    mutable std::mutex mutex_;
    entry_map map_;
    manager_stats dropped_;  ///< the counters of the entries dropped
    entry_settings settings_;
    std::uint64_t evictions_ = 0;
    std::uint64_t made_ = 0;
    std::uint64_t refused_ = 0;  ///< new entries refused beyond new_entries_per_second
    std::chrono::steady_clock::rep last_idle_walk_ = 0;
    rate_bucket new_entries_;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/manager/resource_headers.hpp ----

#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief Refuses a token that is not an access token (token_type `N_A`, RFC 8693 §2.2.1).
/// @throws error `config`
inline void check_attachable(const token& tok) {
    if (tok.token_type == "N_A") {
        throw error(error_kind::config,
                    "the token is not an access token (token_type N_A, issued_token_type \"" +
                        excerpt(tok.issued_token_type, 100) +
                        "\"): it is never attached to a request; take it from get()");
    }
}

/// @brief The headers of one resource request with tok (see request_headers()).
inline name_value_list resource_headers(manager_core& s, const token& tok, std::string_view method,
                                        std::string_view url) {
    check_attachable(tok);
    name_value_list headers;
    if (tok.token_type != "DPoP") {
        headers.emplace_back("Authorization", "Bearer " + tok.access_token.reveal());
        return headers;
    }
    if (!s.dpop) {
        throw error(error_kind::config,
                    "the token is DPoP-bound but the client has no dpop_key to prove it");
    }
    // A fragment is neither sent (RFC 9110 §4.2.4) nor signed (RFC 9449 §4.2).
    url = url.substr(0, url.find('#'));
    const std::string origin = dpop_origin(url);
    if (origin.empty()) {
        throw error(error_kind::config,
                    "a DPoP proof needs the request's absolute http:// or https:// URL");
    }
    headers.emplace_back("Authorization", "DPoP " + tok.access_token.reveal());
    headers.emplace_back("DPoP", s.dpop->proof(method, url, s.resource_nonces.get(origin),
                                               tok.access_token.reveal()));
    return headers;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/oauth/revocation.hpp ----

// ---- oauth2cc/detail/oauth/endpoint_call.hpp ----

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc::detail {

/// @brief cfg as the client of endpoint: no token parameters and no grant, the assertions'
/// audience the token endpoint (else the issuer) unless cfg names one; checked.
/// @throws error `config` as validate_config() does
inline client_config endpoint_client(const client_config& cfg, std::string endpoint) {
    client_config target = cfg;
    if (target.assertion_audience.empty()) {
        target.assertion_audience = !cfg.token_endpoint.empty() ? cfg.token_endpoint : cfg.issuer;
    }
    target.token_endpoint = std::move(endpoint);
    target.scopes.clear();
    target.resources.clear();
    target.audience.clear();
    target.extra_params.clear();
    target.grant = grant_type::client_credentials;  // the grant's sources are not needed
    target.subject_token = nullptr;
    target.actor_token = nullptr;
    target.actor_token_type.clear();
    target.requested_token_type.clear();
    target.grant_assertion = nullptr;
    validate_config(target);
    return target;
}

/// @brief What call_endpoint() returns.
struct endpoint_answer {
    int status = 0;                     ///< a 2xx
    std::optional<nlohmann::json> doc;  ///< the body, when asked for and readable
};

/// @brief POSTs fields to target.token_endpoint (made by endpoint_client()) as target's
/// client: a Basic header, the secret in the body, or a new client assertion (RFC 7523
/// §2.2), as its method wants. `name` names the endpoint ("introspection"), for the span
/// and the messages. hide holds credential_redactions(target) and what fields carry; the
/// assertion made is added.
/// @returns the answer's status, and its document (none when read_body is false, or the
///          body is neither JSON nor a form)
/// @throws error as throw_for_error_response() does for an error answer; `bad_response`
///         for a body over max_response_bytes; the transport's errors
inline endpoint_answer call_endpoint(const client_config& target, const name_value_list& fields,
                                     redactions& hide, transport& via, const std::string& name,
                                     bool read_body) {
    http_request req = form_post(target, target.token_endpoint);
    const request_wiper wiper(req);
    for (const auto& [field, value] : fields) append_form_field(req.body, field, value);
    append_client_authentication(req, target);
    if (sends_assertion(target.auth)) {
        std::string assertion = assertion_maker(target).make();
        const wipe_at_exit assertion_wiper{[&assertion] { wipe(assertion); }};
        hide.add(assertion);
        append_form_field(req.body, "client_assertion_type", jwt_bearer_assertion_type);
        append_form_field(req.body, "client_assertion", assertion);
    }
    add_traceparent(req, target.traceparent);
    const std::string client_id = excerpt(target.client_id, 100);
    const std::string server = server_of(target.token_endpoint);
    span_start what;
    what.client_id = client_id;
    what.server = server;
    what.endpoint = name;
    what.method = "POST";
    span_scope span(target.tracer, what);
    try {
        http_response res = via.send(req);
        const wipe_at_exit body_wiper{[&res] { wipe(res.body); }};
        span.answered(res.status);
        if (res.body.size() > target.max_response_bytes) {
            throw error(error_kind::bad_response,
                        "the " + name + " response body is over max_response_bytes (" +
                            std::to_string(target.max_response_bytes) + ")",
                        error_details{{}, {}, {}, res.status, {}});
        }
        const bool success = res.status >= 200 && res.status <= 299;
        std::optional<nlohmann::json> doc;
        if (read_body || !success) doc = response_document(res);
        throw_for_error_response(res, doc, hide, std::chrono::system_clock::now(),
                                 "the " + name + " endpoint");
        return endpoint_answer{res.status, std::move(doc)};
    } catch (const error& e) {
        span.failed(e);
        throw;
    }
}

}  // namespace oauth2cc::detail

#include <chrono>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief cfg.revocation_endpoint, else the one cfg.issuer's metadata names.
/// @throws error `config` when neither names one; as discover() does
inline std::string revocation_endpoint_of(const client_config& cfg, transport& via) {
    if (!cfg.revocation_endpoint.empty()) return cfg.revocation_endpoint;
    if (cfg.issuer.empty()) {
        throw error(error_kind::config,
                    "no revocation endpoint: set client_config::revocation_endpoint, or the "
                    "issuer whose metadata names it");
    }
    const authorization_server_metadata meta = discover(cfg, via);
    if (meta.revocation_endpoint.empty()) {
        throw error(error_kind::config, "the metadata of issuer " + excerpt(cfg.issuer, 200) +
                                            " names no revocation_endpoint (RFC 8414 §2)");
    }
    return meta.revocation_endpoint;
}

/// @brief Revokes token at endpoint, authenticating as cfg's client (whose secret is the
/// one to send: see with_current_credentials()). An assertion's audience is the token
/// endpoint, else the issuer, unless cfg names one.
/// @throws error as oauth2cc::revoke() does
inline void revoke_at(const client_config& cfg, const std::string& endpoint, const secret& token,
                      std::string_view token_type_hint, transport& via) {
    if (token.empty()) throw error(error_kind::config, "the token to revoke is empty");
    if (has_control(token_type_hint) || token_type_hint.find(' ') != std::string_view::npos) {
        throw error(error_kind::config, "token_type_hint has spaces or control characters");
    }
    const client_config target = endpoint_client(cfg, endpoint);
    // Made in place: an initializer list would leave a copy of the token behind, unwiped.
    name_value_list fields;
    fields.reserve(2);
    fields.emplace_back("token", token.reveal());
    const wipe_at_exit fields_wiper{[&fields] { wipe(fields.front().second); }};
    if (!token_type_hint.empty()) fields.emplace_back("token_type_hint", token_type_hint);
    redactions hide = credential_redactions(target);
    hide.add(token.reveal());
    // RFC 7009 §2.2: the status says it all; a 200's body, if any, means nothing.
    call_endpoint(target, fields, hide, via, "revocation", false);
}

}  // namespace oauth2cc::detail

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace oauth2cc {

OAUTH2CC_INLINE std::string_view to_string(log_level level) noexcept {
    switch (level) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warning:
            return "warning";
        case log_level::error:
            return "error";
    }
    return "unknown";
}

OAUTH2CC_INLINE token_manager::token_manager(client_config cfg, refresh_policy policy,
                                             std::shared_ptr<transport> via,
                                             std::shared_ptr<clock_source> clock)
    : core_(std::make_shared<detail::manager_core>(std::move(cfg), policy, std::move(via),
                                                   std::move(clock))) {
    detail::manager_core* c = core_.get();
    core_->clock_subscription = core_->clock->subscribe([c] { c->poke_all(); });
}

OAUTH2CC_INLINE token_manager::~token_manager() {
    stop();
    detail::manager_core& c = *core_;
    c.clock->unsubscribe(c.clock_subscription);
    {
        std::unique_lock<std::mutex> lock(c.running->mutex);
        c.running->done.wait(lock, [&] { return c.running->running == 0; });
    }
    {
        // Threads' cells outlive the manager; the token must not live on in them, nor
        // the subject a thread saw last.
        detail::manager_state& s = *c.own;
        const detail::state_lock lock = s.lock();
        s.locked(lock).current.reset();
        detail::retire_copies(s, lock);
        for (const auto& cell : s.locked(lock).cells.cells) cell->subject.reset();
    }
    set_observer(nullptr);
}

OAUTH2CC_INLINE std::chrono::steady_clock::duration token_manager::lead_for(
    std::chrono::steady_clock::duration lifetime, const refresh_policy& policy) {
    using duration = std::chrono::steady_clock::duration;
    const duration early = std::chrono::duration_cast<duration>(policy.early);
    const duration fraction =
        std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
            static_cast<double>(lifetime.count()) * policy.early_fraction));
    return std::min(std::max(early, fraction), lifetime / 2);
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get() {
    if (core_->follows) return get(core_->base_params, std::chrono::milliseconds::max());
    detail::manager_state& s = *core_->own;
    detail::cache_cell& cell = detail::this_thread_cell(s, core_->own);
    if (auto copy = detail::cached_copy(s, cell)) return copy;
    return detail::wait_for_token(s, &cell, std::chrono::milliseconds::max());
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(
    std::chrono::milliseconds max_wait) {
    if (core_->follows) return get(core_->base_params, max_wait);
    detail::manager_state& s = *core_->own;
    return detail::wait_for_token(s, &detail::this_thread_cell(s, core_->own), max_wait);
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(const token_params& params) {
    return get(params, std::chrono::milliseconds::max());
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::get(
    const token_params& params, std::chrono::milliseconds max_wait) {
    detail::manager_state& own = *core_->own;
    detail::cache_cell& mine = detail::this_thread_cell(own, core_->own);
    // A config that follows its subject reads the entry of the subject its sources give.
    const detail::current_subject* subject =
        core_->follows ? &detail::subject_now(core_->base, mine) : nullptr;
    const std::string_view subject_key = subject != nullptr ? subject->key : std::string_view();
    const std::size_t hash = detail::entry_hash(params, subject != nullptr ? subject->key_hash : 0);
    if (mine.keyed) {
        // A slot found has its cell.
        if (detail::keyed_cells::slot* slot = mine.keyed->find(hash, params, subject_key)) {
            if (auto copy = detail::keyed_copy(own, *slot)) return copy;
        }
    }
    const auto entry = core_->entry(params, subject);
    if (entry == core_->own) return get(max_wait);
    if (!mine.keyed) mine.keyed = std::make_unique<detail::keyed_cells>();
    detail::cache_cell& cell =
        detail::keyed_cell(mine.keyed->find_or_add(hash, params, subject_key), entry);
    return detail::wait_for_token(*entry, &cell, max_wait);
}

OAUTH2CC_INLINE std::string token_manager::authorization_header() {
    const auto tok = get();
    detail::check_attachable(*tok);
    if (tok->token_type == "DPoP") {
        throw error(error_kind::config,
                    "the token is DPoP-bound: every request needs its own proof, so take "
                    "the headers from request_headers(method, url)");
    }
    return "Bearer " + tok->access_token.reveal();
}

OAUTH2CC_INLINE name_value_list token_manager::request_headers(std::string_view method,
                                                               std::string_view url) {
    const auto tok = get();
    return detail::resource_headers(*core_, *tok, method, url);
}

OAUTH2CC_INLINE name_value_list token_manager::request_headers(const token_params& params,
                                                               std::string_view method,
                                                               std::string_view url) {
    const auto tok = get(params);
    return detail::resource_headers(*core_, *tok, method, url);
}

OAUTH2CC_INLINE name_value_list token_manager::headers_for(const token& tok,
                                                           std::string_view method,
                                                           std::string_view url) {
    return detail::resource_headers(*core_, tok, method, url);
}

OAUTH2CC_INLINE bool token_manager::set_dpop_nonce(std::string_view url, std::string_view nonce) {
    const std::string origin = detail::dpop_origin(url);
    return !origin.empty() && core_->resource_nonces.put(origin, nonce);
}

OAUTH2CC_INLINE void token_manager::invalidate(const token* seen) {
    if (core_->follows) return invalidate(core_->base_params, seen);
    detail::drop_token(*core_->own, seen);
}

OAUTH2CC_INLINE void token_manager::invalidate(const token_params& params, const token* seen) {
    if (const auto entry = core_->find(params, seen_subject(false))) {
        detail::drop_token(*entry, seen);
    }
}

OAUTH2CC_INLINE void token_manager::revoke() {
    transport& via = *core_->own->client.via();
    const std::string endpoint =
        detail::revocation_endpoint_of(detail::with_current_credentials(core_->base), via);
    std::optional<error> first;
    for (const auto& entry : core_->all()) {
        std::shared_ptr<const token> tok;
        {
            const detail::state_lock lock = entry->lock();
            const detail::guarded_state& g = entry->locked(lock);
            if (g.current) tok = g.current->tok;
        }
        if (!tok) continue;
        // An exchanged token of another type than an access token goes without a hint.
        const bool access =
            tok->issued_token_type.empty() || tok->issued_token_type == token_types::access_token;
        try {
            detail::revoke_at(detail::with_current_credentials(entry->client.config()), endpoint,
                              tok->access_token, access ? "access_token" : "", via);
        } catch (const error& e) {
            if (!first) first = e;
        }
        detail::drop_token(*entry, tok.get(), false);
    }
    if (first) throw *first;
}

OAUTH2CC_INLINE std::string_view token_manager::seen_subject(bool seen_only) {
    if (!core_->follows) return {};
    detail::cache_cell& mine = detail::this_thread_cell(*core_->own, core_->own);
    // The subject of the token this thread was served last, which it now reports on.
    if (mine.subject) return mine.subject->key;
    if (seen_only) return {};
    return detail::subject_now(core_->base, mine).key;
}

OAUTH2CC_INLINE void token_manager::note_accepted(const token& tok) noexcept {
    if (core_->follows) return note_accepted(core_->base_params, tok);
    detail::note_accepted(*core_->own, &tok);
}

OAUTH2CC_INLINE void token_manager::note_accepted(const token_params& params,
                                                  const token& tok) noexcept {
    try {
        if (const auto entry = core_->find(params, seen_subject(true))) {
            detail::note_accepted(*entry, &tok);
        }
    } catch (...) {
        // Out of memory: the guard goes without this report.
    }
}

OAUTH2CC_INLINE std::function<std::string()> subject_token_of(token_manager& m) {
    return [&m] { return m.get()->access_token.reveal(); };
}

OAUTH2CC_INLINE std::function<std::string()> subject_token_of(token_manager& m,
                                                              token_params params) {
    return [&m, params = std::move(params)] { return m.get(params)->access_token.reveal(); };
}

OAUTH2CC_INLINE std::size_t token_manager::entries() const { return core_->size(); }

OAUTH2CC_INLINE const client_config& token_manager::config() const noexcept { return core_->base; }

OAUTH2CC_INLINE std::shared_ptr<metrics_observer> token_manager::observer() const {
    return core_->settings().observer;
}

OAUTH2CC_INLINE void token_manager::start_background_refresh() {
    bool already = false;
    core_->configure([&](detail::entry_settings& settings) {
        already = settings.background;
        settings.background = true;
    });
    if (already) return;
    const std::weak_ptr<detail::manager_core> weak = core_;
    try {
        core_->background_id = detail::refresh_service::instance().enroll(
            [weak]() -> std::optional<std::chrono::steady_clock::time_point> {
                const auto c = weak.lock();
                if (!c) return std::nullopt;
                return c->background_pass();
            });
    } catch (const error&) {
        core_->configure([](detail::entry_settings& settings) { settings.background = false; });
        throw;
    }
}

OAUTH2CC_INLINE void token_manager::stop() {
    detail::manager_core& c = *core_;
    if (detail::logging_scope::inside(*c.own)) {
        // The logger runs on a worker whose request stop() would wait for.
        throw error(error_kind::config, "stop() cannot be called from this manager's logger");
    }
    bool was = false;
    c.configure([&](detail::entry_settings& settings) {
        was = settings.background;
        settings.background = false;
    });
    if (!was) return;
    detail::refresh_service::instance().withdraw(c.background_id.exchange(0));
    std::unique_lock<std::mutex> lock(c.running->mutex);
    c.running->done.wait(lock, [&] { return c.running->running == 0; });
}

OAUTH2CC_INLINE manager_stats token_manager::stats() const { return core_->stats(); }

OAUTH2CC_INLINE void token_manager::set_refresh_workers(std::size_t count) {
    detail::refresh_service::instance().set_workers(count);
}

OAUTH2CC_INLINE void token_manager::set_logger(
    std::function<void(log_level, std::string_view)> logger) {
    auto shared = std::make_shared<detail::guarded_state::logger_fn>(std::move(logger));
    core_->configure([&](detail::entry_settings& settings) { settings.logger = shared; });
}

OAUTH2CC_INLINE const std::string& token_manager::cache_key() const noexcept {
    return core_->own->key;
}

OAUTH2CC_INLINE void token_manager::set_store(std::shared_ptr<token_store> store) {
    core_->configure([&](detail::entry_settings& settings) { settings.store = store; });
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/token_manager_async_inl.hpp ----

#include <memory>
#include <optional>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::try_get() noexcept {
    if (core_->follows) return try_get(core_->base_params);
    try {
        detail::manager_state& s = *core_->own;
        detail::cache_cell& cell = detail::this_thread_cell(s, core_->own);
        if (auto copy = detail::cached_copy(s, cell)) return copy;
        return detail::try_token(s, &cell);
    } catch (...) {
        // No worker for the request, or no memory: no token now; the next call tries again.
    }
    return nullptr;
}

OAUTH2CC_INLINE std::shared_ptr<const token> token_manager::try_get(
    const token_params& params) noexcept {
    try {
        const auto entry = core_->entry(params, subject_of_caller());
        if (entry == core_->own) return try_get();
        return detail::try_token(*entry, nullptr);
    } catch (...) {
        // As above, or params that cannot be asked for: no token.
    }
    return nullptr;
}

OAUTH2CC_INLINE void token_manager::get_async(std::function<void(token_result)> done) {
    if (core_->follows) return get_async(core_->base_params, std::move(done));
    detail::token_to(*core_->own, std::move(done));
}

OAUTH2CC_INLINE void token_manager::get_async(const token_params& params,
                                              std::function<void(token_result)> done) {
    std::shared_ptr<detail::manager_state> entry;
    try {
        entry = core_->entry(params, subject_of_caller());
    } catch (const error& e) {
        token_result failed;
        failed.failure = e;
        detail::hand_over(done, failed);
        return;
    }
    detail::token_to(*entry, std::move(done));
}

OAUTH2CC_INLINE const detail::current_subject* token_manager::subject_of_caller() {
    if (!core_->follows) return nullptr;
    return &detail::subject_now(core_->base, detail::this_thread_cell(*core_->own, core_->own));
}

OAUTH2CC_INLINE void token_manager::set_observer(std::shared_ptr<metrics_observer> observer) {
    std::shared_ptr<metrics_observer> previous;
    bool same = false;
    core_->configure([&](detail::entry_settings& settings) {
        same = settings.observer == observer;
        previous = std::exchange(settings.observer, observer);
    });
    if (same) return;
    detail::tell(previous, [&](metrics_observer& o) { o.on_detach(*this); });
    detail::tell(observer, [&](metrics_observer& o) { o.on_attach(*this, core_->own->who); });
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/authorized_client_inl.hpp ----

// ---- oauth2cc/detail/http/headers.hpp ----

#include <string_view>

namespace oauth2cc::detail {

/// @brief Headers that frame a message or steer its connection. The transport writes
/// them itself; one from the caller could send the request to another virtual host or
/// desynchronise a kept-alive connection (RFC 9112 §6, §9.6; RFC 9110 §7.2, §7.6.1).
inline bool is_framing_header(std::string_view name) noexcept {
    for (std::string_view framing :
         {"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade",
          "TE", "Trailer", "Proxy-Connection", "Expect"}) {
        if (iequals(name, framing)) return true;
    }
    return false;
}

/// @brief Caller headers that a redirect may carry to another origin: those that say
/// what the client accepts or sends, none that could be a credential. Every other header
/// (Cookie, Proxy-Authorization, X-Api-Key, whatever a caller named) stays behind, as the
/// token does (the Fetch standard and RFC 9110 §15.4 leave this to the client; curl and
/// browsers drop credentials the same way).
inline bool crosses_origins(std::string_view name) noexcept {
    for (std::string_view safe : {"Accept", "Accept-Language", "Accept-Encoding", "Content-Type",
                                  "Content-Language", "User-Agent", "Cache-Control", "Pragma"}) {
        if (iequals(name, safe)) return true;
    }
    return false;
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/http/redirect.hpp ----

#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief Where a redirect's Location points, resolved against the URL it came from.
/// Absolute http(s) URLs, scheme-relative "//host/..." and paths; empty for anything else.
inline std::optional<std::string> resolve_location(std::string_view from_url, const url_parts& from,
                                                   std::string_view location) {
    location = trim(location);
    if (location.empty() || has_control(location)) return std::nullopt;
    if (parse_url(location)) return std::string(location);
    const std::string scheme = from.https ? "https:" : "http:";
    if (location.size() > 1 && location[0] == '/' && location[1] == '/') {
        const std::string absolute = scheme + std::string(location);
        if (parse_url(absolute)) return absolute;
        return std::nullopt;
    }
    // The scheme and authority as the URL wrote them.
    const std::size_t authority = from_url.find("://") + 3;
    const std::string origin(from_url.substr(0, from_url.find_first_of("/?", authority)));
    if (location[0] == '/') return origin + std::string(location);
    // A relative reference: against the directory of the current path.
    std::string base = from.path.substr(0, from.path.find('?'));
    base = base.substr(0, base.rfind('/') + 1);
    return origin + base + std::string(location);
}

inline bool is_followable_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace oauth2cc::detail

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE std::string with_query(std::string_view path, const name_value_list& params) {
    std::string out(path);
    char separator = out.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [name, value] : params) {
        out.push_back(separator);
        separator = '&';
        // %20 for a space: read as a space by form decoders and RFC 3986 decoders alike,
        // where '+' is a space to the first and a plus sign to the second.
        out += detail::percent_encode(name, "%20");
        out.push_back('=');
        out += detail::percent_encode(value, "%20");
    }
    return out;
}

OAUTH2CC_INLINE authorized_client::authorized_client(std::string base_url, token_manager& tokens,
                                                     client_options options,
                                                     std::shared_ptr<transport> via)
    : tokens_(tokens),
      options_(std::move(options)),
      transport_(std::move(via)),
      who_(detail::excerpt(tokens.config().client_id, 100)),
      params_(options_.params) {
    // A certificate-bound token (RFC 8705 §3) works only over a connection that presents
    // the certificate it is bound to: the token_manager's, unless the API has its own.
    const tls_options& manager_tls = tokens_.config().tls;
    if (!options_.tls.has_client_certificate() && options_.tls.client_key_file.empty() &&
        options_.tls.client_key_pem.empty()) {
        options_.tls.client_cert_file = manager_tls.client_cert_file;
        options_.tls.client_key_file = manager_tls.client_key_file;
        options_.tls.client_cert_pem = manager_tls.client_cert_pem;
        options_.tls.client_key_pem = manager_tls.client_key_pem;
    }
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    const auto url = detail::parse_url(base_url);
    if (!url) {
        fail("base_url " + detail::url_problem(base_url) +
             " (an absolute http:// or https:// URL is wanted)");
    }
    if (url->path.find('?') != std::string::npos) fail("base_url must not carry a query");
    detail::check_plain_http(*url, options_, "base_url", "tokens");
    detail::check_connection(options_);
    if (options_.max_redirects < 0) fail("max_redirects must not be negative");
    while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    base_url_ = std::move(base_url);
    origin_ = detail::origin_of(*url);
    if (!transport_) {
        transport_ =
            std::make_shared<httplib_transport>(static_cast<const connection_options&>(options_));
    }
}

OAUTH2CC_INLINE http_response authorized_client::get(std::string_view path,
                                                     const name_value_list& headers) {
    return send("GET", path, {}, {}, headers);
}

OAUTH2CC_INLINE http_response authorized_client::del(std::string_view path,
                                                     const name_value_list& headers) {
    return send("DELETE", path, {}, {}, headers);
}

OAUTH2CC_INLINE http_response authorized_client::post(std::string_view path, std::string_view body,
                                                      std::string_view content_type,
                                                      const name_value_list& headers) {
    return send("POST", path, body, content_type, headers);
}

OAUTH2CC_INLINE http_response authorized_client::put(std::string_view path, std::string_view body,
                                                     std::string_view content_type,
                                                     const name_value_list& headers) {
    return send("PUT", path, body, content_type, headers);
}

OAUTH2CC_INLINE http_response authorized_client::patch(std::string_view path, std::string_view body,
                                                       std::string_view content_type,
                                                       const name_value_list& headers) {
    return send("PATCH", path, body, content_type, headers);
}

OAUTH2CC_INLINE http_request authorized_client::request_for(std::string_view method,
                                                            std::string_view path,
                                                            std::string_view body,
                                                            std::string_view content_type,
                                                            const name_value_list& headers) const {
    const auto fail = [](const std::string& why) { throw error(error_kind::config, why); };
    if (path.empty() || path.front() != '/' || (path.size() > 1 && path[1] == '/')) {
        fail(
            "the path must start with a single '/': it is relative to the base URL, so "
            "the token cannot be sent to another origin");
    }
    if (path.find('#') != std::string_view::npos) fail("the path must not carry a fragment");
    http_request base;
    base.method = std::string(method);
    base.url = base_url_ + std::string(path);
    bool has_type = false, has_agent = false;
    for (const auto& [name, value] : headers) {
        if (detail::iequals(name, "Authorization")) {
            fail(
                "the call carries its own Authorization header; the token_manager's token "
                "is the one sent, so remove it");
        }
        if (detail::is_framing_header(name)) {
            fail("the call sets \"" + detail::excerpt(name, 60) +
                 "\", which frames the message or steers the connection; the transport "
                 "writes it, never the caller");
        }
        has_type = has_type || detail::iequals(name, "Content-Type");
        has_agent = has_agent || detail::iequals(name, "User-Agent");
        base.headers.emplace_back(name, value);
    }
    if (!content_type.empty() && !has_type) {
        base.headers.emplace_back("Content-Type", std::string(content_type));
    }
    if (!has_agent && !options_.user_agent.empty()) {
        base.headers.emplace_back("User-Agent", options_.user_agent);
    }
    base.body = std::string(body);
    return base;
}

OAUTH2CC_INLINE http_response authorized_client::send_hop(http_request& req, const token& tok,
                                                          bool on_origin, bool& new_nonce,
                                                          unsigned attempt) {
    const client_config& cfg = tokens_.config();
    const std::string server = cfg.tracer ? detail::server_of(req.url) : std::string();
    span_start what;
    what.client_id = who_;
    what.server = server;
    what.grant = to_string(cfg.grant);
    what.endpoint = "resource";
    what.method = req.method;
    what.attempt = attempt;
    detail::span_scope span(cfg.tracer, what);
    // The token's headers (Authorization, and a DPoP proof for this hop's URL) are added
    // for this hop only, and wiped and removed once it is sent, so the request is not
    // copied per hop.
    std::size_t added = 0;
    const auto drop_authorization = [&] {
        for (; added > 0; --added) {
            detail::wipe(req.headers.back().second);
            req.headers.pop_back();
        }
    };
    if (on_origin) {
        for (auto& header : tokens_.headers_for(tok, req.method, req.url)) {
            req.headers.push_back(std::move(header));
            ++added;
        }
    }
    http_response res;
    try {
        res = transport_->send(req);
    } catch (...) {
        drop_authorization();
        throw;
    }
    drop_authorization();
    span.answered(res.status);
    if (span.get() != nullptr && (res.status == 401 || res.status == 403)) {
        const auto challenge =
            tok.token_type == "DPoP" ? find_dpop_challenge(res) : find_bearer_challenge(res);
        if (challenge) span.challenged(challenge->error);
    }
    const auto nonce = res.header("DPoP-Nonce");
    new_nonce =
        on_origin && tok.token_type == "DPoP" && nonce && tokens_.set_dpop_nonce(req.url, *nonce);
    return res;
}

OAUTH2CC_INLINE bool authorized_client::redirect(http_request& req, const http_response& res,
                                                 bool& on_origin) const {
    const auto location = res.header("Location");
    const auto from = detail::parse_url(req.url);
    if (!location || !from) return false;
    const auto next = detail::resolve_location(req.url, *from, *location);
    const auto next_parts = next ? detail::parse_url(*next) : std::nullopt;
    if (!next_parts) return false;
    if (!next_parts->https && !options_.allow_insecure_http &&
        !detail::is_loopback_host(next_parts->host)) {
        return false;  // never downgrade to clear text on the network
    }
    // Once the call has left the base URL's origin, the token stays behind, and so does
    // every caller header that could be a credential, and a body that a 307 or 308 would
    // carry along.
    if (on_origin && detail::origin_of(*next_parts) != origin_) {
        if ((res.status == 307 || res.status == 308) && !req.body.empty()) return false;
        on_origin = false;
        for (auto it = req.headers.begin(); it != req.headers.end();) {
            if (detail::crosses_origins(it->first)) {
                ++it;
            } else {
                detail::wipe(it->second);
                it = req.headers.erase(it);
            }
        }
    }
    if (res.status == 303 || ((res.status == 301 || res.status == 302) && req.method == "POST")) {
        req.method = "GET";
        req.body.clear();
        for (auto it = req.headers.begin(); it != req.headers.end();) {
            it = detail::iequals(it->first, "Content-Type") ? req.headers.erase(it) : it + 1;
        }
    }
    req.url = *next;
    return true;
}

OAUTH2CC_INLINE http_response authorized_client::exchange(const http_request& base,
                                                          const token& tok, bool& on_origin,
                                                          bool& new_nonce, unsigned attempt) {
    if (detail::has_control(tok.access_token.reveal())) {
        throw error(error_kind::bad_response,
                    "the access token holds control characters; it is never sent");
    }
    http_request req = base;
    on_origin = true;
    for (int hop = 0;; ++hop) {
        http_response res = send_hop(req, tok, on_origin, new_nonce, attempt);
        if (!options_.follow_redirects || !detail::is_followable_redirect(res.status) ||
            hop >= options_.max_redirects || !redirect(req, res, on_origin)) {
            return res;
        }
    }
}

OAUTH2CC_INLINE http_response authorized_client::send(std::string_view method,
                                                      std::string_view path, std::string_view body,
                                                      std::string_view content_type,
                                                      const name_value_list& headers) {
    http_request base = request_for(method, path, body, content_type, headers);
    // One traceparent for the call, its retries and redirects.
    detail::add_traceparent(base, tokens_.config().traceparent);
    unsigned attempt = 0;
    // `token_sent`: the final response answered a request that carried the token;
    // `new_nonce`: the last response on the origin gave a new DPoP nonce.
    bool token_sent = false, new_nonce = false;
    auto params = current_params();
    auto tok = token_of(params);
    http_response res = exchange(base, *tok, token_sent, new_nonce, attempt++);
    const bool dpop = tok->token_type == "DPoP";
    if (res.status == 401 && token_sent && dpop) {
        // RFC 9449 §9: a new nonce the server asks for is answered once, same token.
        const auto challenge = find_dpop_challenge(res);
        if (challenge && challenge->error == "use_dpop_nonce" && new_nonce) {
            detail::tell(tokens_.observer(), [&](metrics_observer& o) {
                o.on_dpop_nonce_retry(who_, nonce_origin::resource_server);
            });
            res = exchange(base, *tok, token_sent, new_nonce, attempt++);
        }
    }
    if (res.status == 401 && token_sent) {
        const auto challenge = dpop ? find_dpop_challenge(res) : find_bearer_challenge(res);
        if (!challenge || challenge->error.empty() || challenge->error == "invalid_token") {
            // The token is no longer good: drop it (unless another caller already did)
            // and repeat once with a new one. The rejection guard may keep it instead:
            // then the API's answer goes back as it came.
            if (params) {
                tokens_.invalidate(*params, tok.get());
            } else {
                tokens_.invalidate(tok.get());
            }
            auto next = token_of(params);
            if (next == tok) return res;
            tok = std::move(next);
            detail::tell(tokens_.observer(),
                         [&](metrics_observer& o) { o.on_unauthorized_retry(who_); });
            res = exchange(base, *tok, token_sent, new_nonce, attempt++);
        }
    } else if (res.status == 403 && token_sent && options_.step_up_scope) {
        if (auto wider = stepped_up(params, res, dpop)) {
            // The wider scopes are kept only once a token for them was had: a server that
            // refuses them leaves this client as it was, and the API's 403 as it came.
            std::shared_ptr<const token> wider_token;
            try {
                wider_token = token_of(wider);
            } catch (const error&) {
                return res;
            }
            {
                const std::lock_guard<std::mutex> lock(params_mutex_);
                params_ = wider;
            }
            params = std::move(wider);
            tok = std::move(wider_token);
            res = exchange(base, *tok, token_sent, new_nonce, attempt++);
        }
    }
    if (token_sent && res.status != 401) {
        if (params) {
            tokens_.note_accepted(*params, *tok);
        } else {
            tokens_.note_accepted(*tok);
        }
    }
    return res;
}

OAUTH2CC_INLINE std::optional<token_params> authorized_client::current_params() const {
    const std::lock_guard<std::mutex> lock(params_mutex_);
    return params_;
}

OAUTH2CC_INLINE std::shared_ptr<const token> authorized_client::token_of(
    const std::optional<token_params>& params) {
    return params ? tokens_.get(*params) : tokens_.get();
}

OAUTH2CC_INLINE std::optional<token_params> authorized_client::stepped_up(
    const std::optional<token_params>& sent, const http_response& res, bool dpop) const {
    const auto challenge = dpop ? find_dpop_challenge(res) : find_bearer_challenge(res);
    if (!challenge || challenge->error != "insufficient_scope" || challenge->scope.empty()) {
        return std::nullopt;
    }
    // This client's own scopes, never those of an earlier step-up: a challenge replaces
    // the last widening, so a run of challenges cannot grow the scopes without bound.
    token_params wider = options_.params ? *options_.params : params_of(tokens_.config());
    const std::vector<std::string>& sent_scopes = sent ? sent->scopes : tokens_.config().scopes;
    const auto has = [](const std::vector<std::string>& scopes, const std::string& scope) {
        return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
    };
    bool adds = false;
    std::size_t at = 0;
    const std::string& named = challenge->scope;
    while (at < named.size()) {
        const std::size_t end = std::min(named.find(' ', at), named.size());
        std::string scope = named.substr(at, end - at);
        at = end + 1;
        if (scope.empty() ||
            (!options_.step_up_scopes.empty() && options_.step_up_scopes.count(scope) == 0)) {
            continue;
        }
        adds = adds || !has(sent_scopes, scope);
        if (!has(wider.scopes, scope)) wider.scopes.push_back(std::move(scope));
    }
    if (!adds) return std::nullopt;
    return wider;
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/config_sources_inl.hpp ----

// ---- oauth2cc/detail/config/parser.hpp ----

// ---- oauth2cc/detail/config/settings.hpp ----

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>

namespace oauth2cc::detail {

/// @brief Every setting's name: the environment's OAUTH2_<NAME> and the file's member.
inline const std::vector<std::string_view>& setting_names() {
    static const std::vector<std::string_view> names{"token_url",
                                                     "issuer",
                                                     "client_id",
                                                     "client_secret",
                                                     "client_secret_file",
                                                     "auth_method",
                                                     "scope",
                                                     "client_key_file",
                                                     "client_key_id",
                                                     "client_key_alg",
                                                     "client_assertion_file",
                                                     "assertion_audience",
                                                     "client_cert_file",
                                                     "client_cert_key_file",
                                                     "dpop",
                                                     "dpop_key_file",
                                                     "audience",
                                                     "resource",
                                                     "ca_file",
                                                     "revocation_url",
                                                     "grant",
                                                     "subject_token_file",
                                                     "subject_token_type",
                                                     "actor_token_file",
                                                     "actor_token_type",
                                                     "requested_token_type",
                                                     "assertion_file",
                                                     "grant_key_file",
                                                     "grant_key_id",
                                                     "assertion_subject"};
    return names;
}

/// @brief Settings by name, and how errors name them (OAUTH2_SCOPE, or "scope" in FILE).
class settings_reader {
public:
    using settings = std::map<std::string, std::string, std::less<>>;

    settings_reader(const settings& values, std::function<std::string(std::string_view)> label)
        : values_(values), label_(std::move(label)) {}

    /// @brief The value of a setting; empty when not given.
    const std::string& operator[](std::string_view name) const {
        static const std::string none;
        const auto found = values_.find(name);
        return found != values_.end() ? found->second : none;
    }

    bool has(std::string_view name) const { return !(*this)[name].empty(); }

    /// @brief How errors name a setting.
    std::string label(std::string_view name) const { return label_(name); }

    /// @throws error `config`: "<label>: why"
    [[noreturn]] void fail(std::string_view name, const std::string& why) const {
        throw error(error_kind::config, label(name) + ": " + why);
    }

    /// @brief The path a setting names, once it is known to be a file this process can
    /// read; empty when not given.
    /// @throws error `config` naming the setting and the path when it is not
    std::string file(std::string_view name) const {
        const std::string& path = (*this)[name];
        if (path.empty()) return path;
        if (has_control(path)) fail(name, "the path has control characters");
        // O_NONBLOCK: a FIFO (a shell's <(...), say) does not block the check.
        const unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        if (fd.get() < 0) {
            const int err = errno;
            // The secret's file setting is often given the secret itself by mistake: its
            // value is never shown.
            if (name == "client_secret_file") {
                fail(name, std::string("cannot read the file it names: ") + std::strerror(err) +
                               " (it takes the path of a file that holds the secret; give "
                               "the secret itself as client_secret)");
            }
            fail(name, "cannot read \"" + excerpt(path, 200) + "\": " + std::strerror(err));
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
            fail(name, "\"" + excerpt(path, 200) + "\" is a directory, not a file");
        }
        return path;
    }

private:
    const settings& values_;
    std::function<std::string(std::string_view)> label_;
};

/// @brief The names auth_method takes (those of oauth2cc-cli --auth).
inline std::optional<auth_method> auth_method_named(std::string_view m) {
    static const std::pair<std::string_view, auth_method> names[] = {
        {"basic", auth_method::client_secret_basic},
        {"client_secret_basic", auth_method::client_secret_basic},
        {"post", auth_method::client_secret_post},
        {"client_secret_post", auth_method::client_secret_post},
        {"none", auth_method::none},
        {"client_secret_jwt", auth_method::client_secret_jwt},
        {"private_key_jwt", auth_method::private_key_jwt},
        {"client_assertion", auth_method::client_assertion},
        {"tls_client_auth", auth_method::tls_client_auth},
        {"self_signed_tls_client_auth", auth_method::self_signed_tls_client_auth}};
    for (const auto& [name, method] : names) {
        if (name == m) return method;
    }
    return std::nullopt;
}

/// @brief A key file setting as a signing_key, with its id and algorithm settings.
/// @throws error `config` naming the setting when the key cannot be read or used
inline signing_key key_setting(const settings_reader& s, std::string_view file, std::string_view id,
                               std::string_view alg_name = {}) {
    std::optional<jws_alg> alg;
    const std::string& wanted = alg_name.empty() ? std::string() : s[alg_name];
    for (const auto a :
         {jws_alg::rs256, jws_alg::ps256, jws_alg::es256, jws_alg::es384, jws_alg::eddsa}) {
        if (wanted == to_string(a)) alg = a;
    }
    if (!wanted.empty() && !alg) {
        s.fail(alg_name, "unknown algorithm \"" + excerpt(wanted, 40) +
                             "\": RS256, PS256, ES256, ES384 or EdDSA");
    }
    const std::string path = s.file(file);
    try {
        return signing_key::from_pem_file(path, id.empty() ? std::string() : s[id], alg);
    } catch (const error& e) {
        s.fail(file, e.what());
    }
}

/// @brief Sets cfg.auth and what the method uses, from auth_method, client_key_file,
/// client_key_id, client_key_alg, client_assertion_file, client_cert_file,
/// client_cert_key_file, dpop and dpop_key_file. With no method named, a key file means
/// private_key_jwt, an assertion file client_assertion, and neither client_secret_basic.
/// @throws error `config` naming the setting that is unknown, missing or out of place
inline void apply_authentication(client_config& cfg, const settings_reader& s) {
    if (!s.has("auth_method")) {
        cfg.auth = s.has("client_key_file")         ? auth_method::private_key_jwt
                   : s.has("client_assertion_file") ? auth_method::client_assertion
                                                    : auth_method::client_secret_basic;
    } else if (const auto m = auth_method_named(s["auth_method"])) {
        cfg.auth = *m;
    } else {
        s.fail("auth_method", "unknown method \"" + excerpt(s["auth_method"], 40) +
                                  "\": client_secret_basic (basic), client_secret_post (post), "
                                  "none, client_secret_jwt, private_key_jwt, client_assertion, "
                                  "tls_client_auth or self_signed_tls_client_auth");
    }
    const std::string method(to_string(cfg.auth));
    for (const char* name : {"client_key_file", "client_key_id", "client_key_alg"}) {
        if (s.has(name) && cfg.auth != auth_method::private_key_jwt) {
            s.fail(name, "a client key is for the private_key_jwt method only, not " + method);
        }
    }
    if (s.has("client_assertion_file") && cfg.auth != auth_method::client_assertion) {
        s.fail("client_assertion_file",
               "an assertion file is for the client_assertion method only, not " + method);
    }
    if (cfg.auth == auth_method::private_key_jwt) {
        if (!s.has("client_key_file"))
            s.fail("client_key_file", "private_key_jwt needs a client key file");
        cfg.client_key = key_setting(s, "client_key_file", "client_key_id", "client_key_alg");
    }
    if (cfg.auth == auth_method::client_assertion) {
        if (!s.has("client_assertion_file")) {
            s.fail("client_assertion_file", "client_assertion needs an assertion file");
        }
        cfg.client_assertion = assertion_from_file(s.file("client_assertion_file"));
    }
    // Mutual TLS: the certificate authenticates the tls methods, and binds the tokens of
    // any method on a server that issues certificate-bound tokens.
    if (s.has("client_cert_file") != s.has("client_cert_key_file")) {
        s.fail(s.has("client_cert_file") ? "client_cert_key_file" : "client_cert_file",
               "a client certificate and its key go together");
    }
    const bool tls_method = cfg.auth == auth_method::tls_client_auth ||
                            cfg.auth == auth_method::self_signed_tls_client_auth;
    if (tls_method && !s.has("client_cert_file")) {
        s.fail("client_cert_file", method + " needs a client certificate and its key");
    }
    cfg.tls.client_cert_file = s.file("client_cert_file");
    cfg.tls.client_key_file = s.file("client_cert_key_file");
    const std::string& dpop = s["dpop"];
    if (!dpop.empty() && dpop != "0" && dpop != "1" && dpop != "true" && dpop != "false") {
        s.fail("dpop", "takes 1 (a new DPoP key for this process) or 0");
    }
    const bool new_dpop_key = dpop == "1" || dpop == "true";
    if (new_dpop_key && s.has("dpop_key_file")) {
        s.fail("dpop", "a DPoP key file, or a new DPoP key: not both");
    }
    if (s.has("dpop_key_file")) {
        cfg.dpop_key = key_setting(s, "dpop_key_file", {});
    } else if (new_dpop_key) {
        cfg.dpop_key = signing_key::generate(jws_alg::es256);
    }
}

/// @brief The client secret from client_secret_file or client_secret, for a method that
/// sends one. A method that sends none leaves both unread: an environment may hold a
/// secret for another program, and it is no error.
/// @throws error `config` naming the setting, never the secret
inline void apply_secret(client_config& cfg, const settings_reader& s) {
    if (!sends_secret(cfg.auth)) return;
    const bool file = s.has("client_secret_file");
    const bool value = s.has("client_secret");
    if (file && value) s.fail("client_secret", "set the secret or its file, not both");
    if (!file && !value) {
        s.fail("client_secret_file", std::string(to_string(cfg.auth)) + " needs a client secret");
    }
    if (value) {
        if (has_control(s["client_secret"])) s.fail("client_secret", "has control characters");
        cfg.client_secret = secret(s["client_secret"]);
        return;
    }
    cfg.client_secret_file = s.file("client_secret_file");
}

/// @brief The RFC 8693 §3 token types by their short names, which the type settings take
/// besides the URIs themselves.
/// @throws error `config` naming the setting for an unknown short name
inline std::string token_type_setting(const settings_reader& s, std::string_view name) {
    const std::string& value = s[name];
    if (value.empty() || value.find(':') != std::string::npos) return value;
    for (const char* known :
         {"access_token", "refresh_token", "id_token", "jwt", "saml1", "saml2"}) {
        if (value == known) return "urn:ietf:params:oauth:token-type:" + value;
    }
    s.fail(name, "unknown token type \"" + excerpt(value, 40) +
                     "\": access_token, refresh_token, id_token, jwt, saml1, saml2, or a URI");
}

/// @brief The JWT bearer grant's assertion source: assertion_file, or grant_key_file
/// (with grant_key_id and assertion_subject) signing one per request.
/// @throws error `config` naming the setting that is missing or out of place
inline void apply_jwt_bearer(client_config& cfg, const settings_reader& s) {
    if (s.has("assertion_file") && s.has("grant_key_file")) {
        s.fail("assertion_file", "an assertion file, or a grant key: not both");
    }
    if (s.has("assertion_file")) {
        for (const char* n : {"grant_key_id", "assertion_subject"}) {
            if (s.has(n)) s.fail(n, "is for a grant key, not an assertion file");
        }
        cfg.grant_assertion = assertion_from_file(s.file("assertion_file"));
    } else if (s.has("grant_key_file")) {
        if (cfg.client_id.empty()) s.fail("client_id", "a grant key signs as the client id");
        const std::string audience = !cfg.assertion_audience.empty() ? cfg.assertion_audience
                                     : !cfg.token_endpoint.empty()   ? cfg.token_endpoint
                                                                     : cfg.issuer;
        const std::string& subject = s["assertion_subject"];
        cfg.grant_assertion =
            jwt_bearer_assertion(key_setting(s, "grant_key_file", "grant_key_id"), cfg.client_id,
                                 subject.empty() ? cfg.client_id : subject, audience);
    } else {
        s.fail("grant", "jwt_bearer needs an assertion file or a grant key");
    }
}

/// @brief The grant a name means: to_string() of each.
inline std::optional<grant_type> grant_named(std::string_view name) {
    for (const auto g :
         {grant_type::client_credentials, grant_type::token_exchange, grant_type::jwt_bearer}) {
        if (name == to_string(g)) return g;
    }
    return std::nullopt;
}

/// @brief Sets cfg.grant and its sources from grant, subject_token_file,
/// subject_token_type, actor_token_file, actor_token_type, requested_token_type,
/// assertion_file, grant_key_file, grant_key_id and assertion_subject. With no grant
/// named, a subject token file means token_exchange, an assertion file or a grant key
/// jwt_bearer, and neither client_credentials. The token files are re-read when they
/// change; a grant key signs a new assertion for each request, with iss the client id,
/// sub assertion_subject (the client id when empty) and aud cfg.assertion_audience (the
/// token endpoint, else the issuer, when empty).
/// @throws error `config` naming the setting that is unknown, missing or out of place
inline void apply_grant(client_config& cfg, const settings_reader& s) {
    const bool jwt_source = s.has("assertion_file") || s.has("grant_key_file");
    const std::string& name = s["grant"];
    if (name.empty()) {
        cfg.grant = s.has("subject_token_file") ? grant_type::token_exchange
                    : jwt_source                ? grant_type::jwt_bearer
                                                : grant_type::client_credentials;
    } else if (const auto named = grant_named(name)) {
        cfg.grant = *named;
    } else {
        s.fail("grant", "unknown grant \"" + excerpt(name, 40) +
                            "\": client_credentials, token_exchange or jwt_bearer");
    }
    const std::string grant(to_string(cfg.grant));
    for (const char* n : {"subject_token_file", "subject_token_type", "actor_token_file",
                          "actor_token_type", "requested_token_type"}) {
        if (s.has(n) && cfg.grant != grant_type::token_exchange) {
            s.fail(n, "is for the token_exchange grant, not " + grant);
        }
    }
    for (const char* n :
         {"assertion_file", "grant_key_file", "grant_key_id", "assertion_subject"}) {
        if (s.has(n) && cfg.grant != grant_type::jwt_bearer) {
            s.fail(n, "is for the jwt_bearer grant, not " + grant);
        }
    }
    if (cfg.grant == grant_type::token_exchange) {
        if (!s.has("subject_token_file")) {
            s.fail("subject_token_file", "token_exchange needs a subject token file");
        }
        cfg.subject_token = assertion_from_file(s.file("subject_token_file"));
        if (s.has("subject_token_type")) {
            cfg.subject_token_type = token_type_setting(s, "subject_token_type");
        }
        if (s.has("actor_token_file")) {
            cfg.actor_token = assertion_from_file(s.file("actor_token_file"));
            // An actor token whose type is not given: an access token, as for the subject.
            cfg.actor_token_type = s.has("actor_token_type")
                                       ? token_type_setting(s, "actor_token_type")
                                       : std::string(token_types::access_token);
        } else if (s.has("actor_token_type")) {
            s.fail("actor_token_type", "an actor token type without an actor token file");
        }
        cfg.requested_token_type = token_type_setting(s, "requested_token_type");
    }
    if (cfg.grant == grant_type::jwt_bearer) apply_jwt_bearer(cfg, s);
}

}  // namespace oauth2cc::detail

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace oauth2cc::detail {

/// @brief A space-separated setting as a list.
inline std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t begin = text.find_first_not_of(" \t", at);
        if (begin == std::string::npos) break;
        const std::size_t end = std::min(text.find_first_of(" \t", begin), text.size());
        out.push_back(text.substr(begin, end - begin));
        at = end;
    }
    return out;
}

/// @brief A client configuration from settings by name (setting_names()): the one parser
/// of config_from_environment(), config_from_file() and config_from_settings().
/// @throws error `config` naming the setting that is unknown, missing, out of place or
///         bad (never a secret's value)
inline client_config config_of(const settings_reader& s, const settings_reader::settings& values) {
    for (const auto& [name, value] : values) {
        const auto& known = setting_names();
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            s.fail(name, "no such setting");
        }
        if (name != "client_secret" && has_control(value)) s.fail(name, "has control characters");
    }
    client_config cfg;
    cfg.token_endpoint = s["token_url"];
    cfg.issuer = s["issuer"];
    if (cfg.token_endpoint.empty() && cfg.issuer.empty()) {
        s.fail("token_url", "no token endpoint: set it, or the issuer to discover it from");
    }
    // The one rule a URL breaks, under the name the user gave it; never the URL itself.
    for (const char* url : {"token_url", "issuer", "revocation_url"}) {
        if (s.has(url) && !url_problem(s[url]).empty()) s.fail(url, url_problem(s[url]));
    }
    cfg.client_id = s["client_id"];
    if (cfg.client_id.empty()) s.fail("client_id", "no client id");
    cfg.assertion_audience = s["assertion_audience"];
    apply_authentication(cfg, s);
    apply_secret(cfg, s);
    cfg.scopes = words(s["scope"]);
    cfg.audience = s["audience"];
    cfg.resources = words(s["resource"]);
    cfg.tls.ca_file = s.file("ca_file");
    cfg.revocation_endpoint = s["revocation_url"];
    apply_grant(cfg, s);
    return cfg;
}

/// @brief A client configuration from the text of a configuration file: a JSON object of
/// settings, every value a string (see config_from_file()); where names the file, and
/// shared_mode is its mode ("0644") when users other than its owner may read it (empty
/// when not): a file that holds client_secret itself must be the owner's alone.
/// @throws error `config` naming where and the member (or the line and column where the
///         text is not JSON), never a secret's value
inline client_config config_from_json(std::string_view text, const std::string& where,
                                      const std::string& shared_mode = {}) {
    json_notes notes;
    nlohmann::json doc = parse_json_bounded(text, notes);
    settings_reader::settings values;
    const wipe_at_exit wiper{[&] {
        wipe_strings(doc);
        for (auto& kv : values) wipe(kv.second);
    }};
    if (doc.is_discarded() && notes.error_at != std::string::npos) {
        throw error(error_kind::config, where + " is not JSON: the text stops being JSON at " +
                                            line_and_column(text, notes.error_at));
    }
    if (!doc.is_object())
        throw error(error_kind::config, where + " is not a JSON object of settings");
    const auto label = [&where](std::string_view name) {
        return "\"" + excerpt(name, 100) + "\" in " + where;
    };
    if (!notes.repeated.empty()) {
        throw error(error_kind::config, label(notes.repeated) + ": given twice");
    }
    for (const auto& [name, value] : doc.items()) {
        if (!value.is_string()) {
            throw error(error_kind::config, label(name) + ": not a string (write \"" +
                                                excerpt(name, 100) + "\": \"...\")");
        }
        values.emplace(name, value.get_ref<const std::string&>());
    }
    const auto secret_member = values.find("client_secret");
    if (!shared_mode.empty() && secret_member != values.end() && !secret_member->second.empty()) {
        throw error(error_kind::config,
                    where + " holds client_secret, and its mode " + shared_mode +
                        " lets other users read it: `chmod 600` it, or move the secret to "
                        "a file of its own named by client_secret_file");
    }
    return config_of(settings_reader(values, label), values);
}

}  // namespace oauth2cc::detail

#include <cctype>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <sys/stat.h>

namespace oauth2cc {

OAUTH2CC_INLINE client_config config_from_environment(std::string_view prefix) {
    const auto variable = [prefix](std::string_view name) {
        std::string out(prefix);
        for (const char c : name)
            out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        return out;
    };
    detail::settings_reader::settings values;
    const detail::wipe_at_exit wiper{[&values] {
        for (auto& kv : values) detail::wipe(kv.second);
    }};
    for (const std::string_view name : detail::setting_names()) {
        const char* value = std::getenv(variable(name).c_str());
        if (value != nullptr && *value != '\0') values.emplace(std::string(name), value);
    }
    return detail::config_of(detail::settings_reader(values, variable), values);
}

OAUTH2CC_INLINE client_config config_from_file(const std::string& path) {
    std::string text = detail::read_credential_file(path, 1024 * 1024, "the configuration file");
    const detail::wipe_at_exit wiper{[&text] { detail::wipe(text); }};
    // A file that holds the secret itself is checked as the token cache's files are.
    struct stat st {};
    const std::string shared =
        ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0
            ? detail::octal_mode(st.st_mode & 07777)
            : std::string();
    return detail::config_from_json(
        text, "the configuration file \"" + detail::excerpt(path, 200) + "\"", shared);
}

OAUTH2CC_INLINE client_config
config_from_settings(const std::map<std::string, std::string>& settings) {
    detail::settings_reader::settings values(settings.begin(), settings.end());
    const detail::wipe_at_exit wiper{[&values] {
        for (auto& kv : values) detail::wipe(kv.second);
    }};
    return detail::config_of(
        detail::settings_reader(values, [](std::string_view name) { return std::string(name); }),
        values);
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/discovery_inl.hpp ----

#include <optional>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE authorization_server_metadata discover(const client_config& cfg, transport& via) {
    detail::check_issuer(cfg);
    std::optional<error> last;
    for (const std::string& url : detail::well_known_urls(cfg.issuer)) {
        http_request req;
        req.method = "GET";
        req.url = url;
        req.headers = {{"Accept", "application/json"}};
        if (!cfg.user_agent.empty()) req.headers.emplace_back("User-Agent", cfg.user_agent);
        const http_response res = via.send(req);
        if (res.body.size() > cfg.max_response_bytes) {
            throw error(
                error_kind::bad_response,
                "the metadata at " + detail::excerpt(url, 200) + " is over max_response_bytes",
                error_details{{}, {}, {}, res.status, {}});
        }
        if (res.status != 200) {
            last = error(error_kind::http_status,
                         "the metadata URL " + detail::excerpt(url, 200) + " answered HTTP " +
                             std::to_string(res.status),
                         error_details{{}, {}, {}, res.status, {}});
            continue;
        }
        try {
            return detail::parse_metadata(res, cfg.issuer);
        } catch (const error& e) {
            // An issuer mismatch ends discovery; a page that is not metadata (an HTML
            // page at the first URL) lets the next URL be tried.
            if (e.kind() == error_kind::config) throw;
            last = e;
        }
    }
    throw *last;
}

OAUTH2CC_INLINE authorization_server_metadata discover(const client_config& cfg) {
    detail::check_issuer(cfg);
    httplib_transport via(cfg);
    return discover(cfg, via);
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/file_token_store_inl.hpp ----

// ---- oauth2cc/detail/crypto/seal.hpp ----

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oauth2cc::detail {

/// @brief What a sealed entry starts with; base64url(nonce, ciphertext, tag) follows.
inline constexpr std::string_view sealed_prefix = "oauth2cc-sealed/1.";
/// @brief The shortest sealing key taken: 128 bits, if they are random.
inline constexpr std::size_t min_sealing_key_bytes = 16;
inline constexpr std::size_t seal_nonce_bytes = 12;
inline constexpr std::size_t seal_tag_bytes = 16;

/// @brief HKDF-SHA256 (RFC 5869 §2: extract, then expand) of ikm into length bytes, by
/// OpenSSL's EVP_PKEY_HKDF; empty when OpenSSL fails. The caller wipes the result.
inline std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                               std::size_t length) {
    const auto bytes = [](std::string_view s) {
        return reinterpret_cast<const unsigned char*>(s.data());
    };
    std::string out(length, '\0');
    const std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), &EVP_PKEY_CTX_free);
    std::size_t written = out.size();
    const bool ok =
        ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
        EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), bytes(salt), static_cast<int>(salt.size())) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), bytes(ikm), static_cast<int>(ikm.size())) == 1 &&
        EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), bytes(info), static_cast<int>(info.size())) == 1 &&
        EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written) == 1 &&
        written == out.size();
    if (!ok) {
        wipe(out);
        out.clear();
    }
    return out;
}

/// @brief Seals and opens a store's entries under one key. The AES key is derived once,
/// held in a secret, and wiped with it.
class sealer {
public:
    /// @brief Derives the AES-256 key: HKDF-SHA256 (RFC 5869) of sealing_key, with a
    /// fixed salt and info that name this use.
    /// @throws error `config` when the key is shorter than 16 bytes or OpenSSL fails
    explicit sealer(const secret& sealing_key) {
        if (sealing_key.reveal().size() < min_sealing_key_bytes) {
            throw error(error_kind::config,
                        "a sealing key must be at least 16 bytes; use 32 random bytes, e.g. "
                        "from `openssl rand -base64 32`");
        }
        static constexpr std::string_view salt = "oauth2cc token store";
        static constexpr std::string_view info = "oauth2cc-sealed/1 AES-256-GCM";
        std::string key = hkdf_sha256(sealing_key.reveal(), salt, info, 32);
        if (key.empty()) {
            throw error(error_kind::config,
                        "OpenSSL could not derive the sealing key (HKDF-SHA256)");
        }
        key_ = secret{std::move(key)};
    }

    /// @brief plain sealed: the prefix, then base64url of a fresh random 96-bit nonce, the
    /// AES-256-GCM ciphertext and its 128-bit tag; aad is authenticated, not stored.
    /// @throws error `config` when OpenSSL fails
    std::string seal(std::string_view plain, std::string_view aad) const {
        const std::string nonce = random_bytes(seal_nonce_bytes);
        std::string raw = nonce;
        raw.resize(seal_nonce_bytes + plain.size() + seal_tag_bytes);
        auto* out = reinterpret_cast<unsigned char*>(raw.data()) + seal_nonce_bytes;
        const cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0;
        int last = 0;
        const bool ok =
            ctx &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_bytes(),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_EncryptUpdate(ctx.get(), out, &n, bytes(plain), static_cast<int>(plain.size())) ==
                1 &&
            EVP_EncryptFinal_ex(ctx.get(), out + n, &last) == 1 &&
            static_cast<std::size_t>(n + last) == plain.size() &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(seal_tag_bytes),
                                out + plain.size()) == 1;
        if (!ok) throw error(error_kind::config, "OpenSSL could not seal the token (AES-256-GCM)");
        std::string text(sealed_prefix);
        base64url_append(text, raw);
        return text;
    }

    /// @brief The plain text of sealed, or empty when it is not a sealed entry, was sealed
    /// under another key or for another aad, or was altered. The caller wipes the text.
    std::optional<std::string> open(std::string_view sealed, std::string_view aad) const {
        if (sealed.substr(0, sealed_prefix.size()) != sealed_prefix) return std::nullopt;
        std::optional<std::string> raw = base64url_decode(sealed.substr(sealed_prefix.size()));
        if (!raw || raw->size() < seal_nonce_bytes + seal_tag_bytes) return std::nullopt;
        const std::size_t size = raw->size() - seal_nonce_bytes - seal_tag_bytes;
        auto* in = reinterpret_cast<unsigned char*>(raw->data());
        std::string plain(size, '\0');
        auto* out = reinterpret_cast<unsigned char*>(plain.data());
        const cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
        int n = 0;
        int last = 0;
        const bool ok =
            ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_bytes(), in) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_DecryptUpdate(ctx.get(), out, &n, in + seal_nonce_bytes, static_cast<int>(size)) ==
                1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(seal_tag_bytes),
                                in + seal_nonce_bytes + size) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), out + n, &last) == 1;
        wipe(*raw);
        if (!ok) {
            wipe(plain);
            return std::nullopt;
        }
        return plain;
    }

private:
    using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
    static const unsigned char* bytes(std::string_view s) noexcept {
        return reinterpret_cast<const unsigned char*>(s.data());
    }
    const unsigned char* key_bytes() const noexcept { return bytes(key_.reveal()); }

    secret key_;
};

/// @brief A sealer for sealing_key, or none when no key was given (entries stay in
/// clear). A key given empty (an empty key file, say) is a mistake, never "no sealing".
/// @throws error `config` as sealer does, and for a key given empty
inline std::shared_ptr<const sealer> sealer_for(const secret& sealing_key) {
    if (!sealing_key.has_value()) return nullptr;
    if (sealing_key.empty()) {
        throw error(error_kind::config,
                    "the sealing key is empty: a key was given (an empty file?), so tokens "
                    "would be stored in clear; give 32 random bytes, or no key at all");
    }
    return std::make_shared<const sealer>(sealing_key);
}

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/store/token_file.hpp ----

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
// ---- oauth2cc/detail/store/file_store.hpp ----

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oauth2cc::detail {

/// @brief A token file is a few kilobytes; anything far larger is not one.
inline constexpr std::size_t max_token_file_bytes = 1024 * 1024;

/// @brief Holds a flock(2) on a key's lock file; closing the file releases it.
class file_store_lock final : public token_store_lock {
public:
    explicit file_store_lock(int fd) noexcept : fd_(fd) {}

private:
    unique_fd fd_;
};

/// @brief Makes every missing directory on path with mode 0700, as the XDG Base
/// Directory specification asks of the cache home.
inline void make_private_directories(const std::string& path) {
    for (std::size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
        const std::string prefix = at == std::string::npos ? path : path.substr(0, at);
        if (!prefix.empty() && ::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
            throw file_error("cannot make the token cache directory", prefix, errno);
        }
        if (at == std::string::npos) break;
    }
}

/// @brief Opens name in the store's directory, refusing symbolic links.
/// @returns the fd, or -1 when it does not exist and create is false
inline int open_in_store(int directory_fd, const std::string& name, const std::string& path,
                         int flags) {
    const int fd = ::openat(directory_fd, name.c_str(),
                            flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    if (fd >= 0) return fd;
    if (errno == ENOENT && (flags & O_CREAT) == 0) return -1;
    if (errno == ELOOP) {
        throw error(error_kind::config,
                    "the token cache file " + path + " is a symbolic link; refusing to use it");
    }
    throw file_error("cannot open the token cache file", path, errno);
}

/// @brief Removes temporary files that a process died before renaming: names of the form
/// `.KEY.json.PID.N.tmp` whose PID no longer exists. A reused PID only keeps a file.
inline void remove_stale_temporaries(int directory_fd) {
    unique_fd copy(::dup(directory_fd));  // closedir() closes the fd it reads from
    if (copy.get() < 0) return;
    DIR* dir = ::fdopendir(copy.get());
    if (dir == nullptr) return;
    copy.release();
    std::vector<std::string> stale;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        const auto json = name.find(".json.");
        if (name.size() < 5 || name[0] != '.' || json == std::string::npos ||
            name.compare(name.size() - 4, 4, ".tmp") != 0) {
            continue;
        }
        const std::string pid_text = name.substr(json + 6, name.find('.', json + 6) - (json + 6));
        if (pid_text.empty() || pid_text.size() > 10 ||
            pid_text.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const long pid = std::stol(pid_text);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
            stale.push_back(name);
        }
    }
    for (const auto& name : stale) ::unlinkat(directory_fd, name.c_str(), 0);
    ::closedir(dir);
}

inline file_token_store_options store_options_in(std::string directory) {
    file_token_store_options options;
    options.directory = std::move(directory);
    return options;
}

}  // namespace oauth2cc::detail

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oauth2cc {

OAUTH2CC_INLINE file_token_store::file_token_store(std::string directory)
    : file_token_store(detail::store_options_in(std::move(directory))) {}

OAUTH2CC_INLINE file_token_store::file_token_store(file_token_store_options options)
    : directory_(options.directory.empty() ? default_directory() : std::move(options.directory)),
      lock_wait_(options.lock_wait),
      sealer_(detail::sealer_for(options.sealing_key)) {
    if (lock_wait_.count() < 0) {
        throw error(error_kind::config, "file_token_store_options.lock_wait must not be negative");
    }
    while (directory_.size() > 1 && directory_.back() == '/') directory_.pop_back();
    detail::make_private_directories(directory_);
    detail::unique_fd fd(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw detail::file_error("cannot open the token cache directory", directory_, errno);
    }
    detail::check_private(fd.get(), directory_, /*directory=*/true);
    directory_fd_ = fd.get();
    fd.release();
    detail::remove_stale_temporaries(directory_fd_);
}

OAUTH2CC_INLINE file_token_store::~file_token_store() {
    if (directory_fd_ >= 0) ::close(directory_fd_);
}

OAUTH2CC_INLINE std::string file_token_store::default_directory() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    // The specification says to ignore a relative XDG_CACHE_HOME.
    if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/oauth2cc";
    std::string home;
    if (const char* h = std::getenv("HOME"); h != nullptr && h[0] == '/') {
        home = h;
    } else {
        std::vector<char> buffer(16384);
        struct passwd pw {};
        struct passwd* found = nullptr;
        if (::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &found) == 0 &&
            found != nullptr && found->pw_dir != nullptr && found->pw_dir[0] == '/') {
            home = found->pw_dir;
        }
    }
    if (home.empty()) {
        throw error(error_kind::config,
                    "no directory for the token cache: set XDG_CACHE_HOME or HOME, or name one");
    }
    while (home.size() > 1 && home.back() == '/') home.pop_back();
    return (home == "/" ? std::string() : home) + "/.cache/oauth2cc";
}

OAUTH2CC_INLINE std::optional<stored_token> file_token_store::load(const std::string& key) {
    detail::check_store_key(key);
    const std::string name = key + ".json";
    const std::string path = directory_ + "/" + name;
    detail::unique_fd fd(detail::open_in_store(directory_fd_, name, path, O_RDONLY));
    if (fd.get() < 0) return std::nullopt;
    detail::check_private(fd.get(), path, /*directory=*/false);
    std::string text;
    if (const int err = detail::read_up_to(fd.get(), text, detail::max_token_file_bytes)) {
        detail::wipe(text);
        throw detail::file_error("cannot read the token cache file", path, err);
    }
    std::optional<stored_token> out;
    if (text.size() > detail::max_token_file_bytes) {
        // Not a token file: ignored.
    } else if (!sealer_) {
        out = detail::parse_token_file(text);
    } else {
        if (!text.empty() && text.back() == '\n') text.pop_back();
        if (auto plain = sealer_->open(text, key)) {
            out = detail::parse_token_file(*plain);
            detail::wipe(*plain);
        }
    }
    detail::wipe(text);
    return out;
}

OAUTH2CC_INLINE void file_token_store::save(const std::string& key, const stored_token& entry) {
    detail::check_store_key(key);
    static std::atomic<unsigned long> serial{0};
    const std::string name = key + ".json";
    const std::string path = directory_ + "/" + name;
    const std::string temporary = "." + name + "." + std::to_string(::getpid()) + "." +
                                  std::to_string(serial.fetch_add(1)) + ".tmp";
    std::string text = detail::token_file_text(entry);
    const detail::wipe_at_exit wipe_text{[&text] { detail::wipe(text); }};
    if (sealer_) {
        std::string sealed = sealer_->seal(text, key) + "\n";
        detail::wipe(text);
        text = std::move(sealed);
    }
    detail::unique_fd fd(detail::open_in_store(
        directory_fd_, temporary, directory_ + "/" + temporary, O_WRONLY | O_CREAT | O_EXCL));
    int err = ::fchmod(fd.get(), 0600) != 0 ? errno : 0;
    if (err == 0) err = detail::write_all(fd.get(), text.data(), text.size());
    if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
    fd.reset();
    if (err == 0 &&
        ::renameat(directory_fd_, temporary.c_str(), directory_fd_, name.c_str()) != 0) {
        err = errno;
    }
    if (err != 0) {
        ::unlinkat(directory_fd_, temporary.c_str(), 0);
        throw detail::file_error("cannot write the token cache file", path, err);
    }
    // Makes the rename itself durable. A failure here loses at most a cached token.
    ::fsync(directory_fd_);
}

OAUTH2CC_INLINE void file_token_store::remove(const std::string& key) {
    detail::check_store_key(key);
    const std::string name = key + ".json";
    if (::unlinkat(directory_fd_, name.c_str(), 0) != 0 && errno != ENOENT) {
        throw detail::file_error("cannot remove the token cache file", directory_ + "/" + name,
                                 errno);
    }
}

OAUTH2CC_INLINE std::unique_ptr<token_store_lock> file_token_store::lock(const std::string& key) {
    detail::check_store_key(key);
    const std::string name = key + ".lock";
    const std::string path = directory_ + "/" + name;
    detail::unique_fd fd(detail::open_in_store(directory_fd_, name, path, O_RDWR | O_CREAT));
    detail::check_private(fd.get(), path, /*directory=*/false);
    // flock has no timeout, so a lock whose holder hangs is polled for, with a bounded
    // wait; the holder's own request is bounded by its transport's timeouts.
    const auto give_up = std::chrono::steady_clock::now() + lock_wait_;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
            const int held = fd.get();
            fd.release();
            return std::make_unique<detail::file_store_lock>(held);
        }
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK)
            throw detail::file_error("cannot lock the token cache file", path, errno);
        const auto now = std::chrono::steady_clock::now();
        if (now >= give_up) return nullptr;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(pause, give_up - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(25));
    }
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/httplib_transport_inl.hpp ----

// ---- oauth2cc/detail/http/httplib_glue.hpp ----

// ---- oauth2cc/detail/http/deadline_watchdog.hpp ----

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace oauth2cc::detail {

/// @brief Runs a callback when a deadline passes unless it was disarmed first. One lazily
/// started thread serves every armed deadline; shared() is the one every transport of the
/// process uses.
class deadline_watchdog {
public:
    using clock = std::chrono::steady_clock;
    using ticket = std::uint64_t;

    deadline_watchdog() = default;

    /// @brief The process's watchdog: made on first use and never destroyed, so that a
    /// transport anywhere (a static one included) may use it to the end.
    static deadline_watchdog& shared() {
        static deadline_watchdog* const one = new deadline_watchdog();
        return *one;
    }
    deadline_watchdog(const deadline_watchdog&) = delete;
    deadline_watchdog& operator=(const deadline_watchdog&) = delete;

    ~deadline_watchdog() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    /// @brief Calls on_expiry on the watchdog thread once `when` has passed.
    ticket arm(clock::time_point when, std::function<void()> on_expiry) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        const ticket id = ++last_ticket_;
        armed_.emplace(id, entry{when, std::move(on_expiry), false});
        // The thread wakes at next_wake_ anyway; only an earlier deadline needs it now.
        // Most deadlines are later, so most requests cost no wake-up of the thread.
        if (when < next_wake_) {
            next_wake_ = when;
            wake_.notify_all();
        }
        return id;
    }

    /// @brief Forgets a deadline. Once this returns its callback is not running and never
    /// will run.
    /// @returns true when the deadline had already fired
    bool disarm(ticket id) {
        std::lock_guard<std::mutex> lock(mutex_);
        const auto it = armed_.find(id);
        if (it == armed_.end()) return false;
        const bool fired = it->second.fired;
        armed_.erase(it);
        return fired;
    }

private:
    struct entry {
        clock::time_point when;
        std::function<void()> on_expiry;
        bool fired;
    };

    void run() {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!stopping_) {
            bool any = false;
            clock::time_point next = clock::time_point::max();
            const auto now = clock::now();
            for (auto& [id, e] : armed_) {
                if (e.fired) continue;
                if (e.when <= now) {
                    e.fired = true;
                    // Under the lock, so that disarm() cannot return while it runs.
                    e.on_expiry();
                } else {
                    any = true;
                    if (e.when < next) next = e.when;
                }
            }
            // With nothing armed, look again after a while rather than never, so that arm()
            // rarely has to wake this thread.
            next_wake_ = any ? next : now + idle_recheck;
            wake_.wait_until(lock, next_wake_);
        }
    }

    static constexpr std::chrono::seconds idle_recheck{1};

    std::mutex mutex_;
    std::condition_variable wake_;
    clock::time_point next_wake_ = clock::time_point::max();
    std::map<ticket, entry> armed_;
    ticket last_ticket_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace oauth2cc::detail
// ---- oauth2cc/detail/http/httplib_support.hpp ----

#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Says in words what a cpp-httplib error that is not TLS's means for the caller,
/// with the timeout that may have passed and its value; never cpp-httplib's own name.
/// @param quick the exchange ended before read_timeout could have passed
inline std::string describe(httplib::Error failure, const connection_options& options, bool https,
                            bool quick) {
    const auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
    switch (failure) {
        case httplib::Error::Connection:
            return "could not connect (refused, unreachable, or connect_timeout (" +
                   ms(options.connect_timeout) + ") passed)";
        case httplib::Error::Read:
            if (!quick) {
                return "read_timeout (" + ms(options.read_timeout) +
                       ") passed before the whole response came";
            }
            return std::string("the server closed the connection without an HTTP response") +
                   (https ? "" : " (if that port speaks TLS, the URL wants https://)");
        case httplib::Error::Write:
            return "the connection closed, or read_timeout (" + ms(options.read_timeout) +
                   ") passed, while the request was sent";
        default:
            return "the HTTP exchange failed (cpp-httplib error " +
                   std::to_string(static_cast<int>(failure)) + ")";
    }
}

/// @brief OpenSSL's verdict on the server's certificate in the last handshake of a
/// connection, which the connection's SSL_CTX writes (see record_verification()).
struct verify_outcome {
    std::atomic<bool> checked{false};
    std::atomic<long> result{X509_V_OK};
};

/// @brief The SSL_CTX's certificate check: OpenSSL's own, with its verdict kept.
inline int record_verification(X509_STORE_CTX* store, void* arg) {
    const int ok = X509_verify_cert(store);
    auto* out = static_cast<verify_outcome*>(arg);
    out->result = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(store);
    out->checked = true;
    return ok;
}

/// @brief Why a TLS handshake with origin (host) failed, and what to do, from OpenSSL's
/// verdict on the certificate (or, when none was checked, its last error).
inline std::string tls_failure(const std::string& origin, const std::string& host,
                               const verify_outcome& verify) {
    const std::string trust =
        "give that certificate's CA (or the certificate itself) in tls.ca_file "
        "(OAUTH2_CA_FILE, oauth2cc-cli --ca-file)";
    std::string why;
    const long result = verify.checked ? verify.result.load() : X509_V_OK;
    switch (result) {
        case X509_V_OK: {
            const unsigned long last = ERR_peek_last_error();
            const bool plain = ERR_GET_REASON(last) == SSL_R_WRONG_VERSION_NUMBER ||
                               ERR_GET_REASON(last) == SSL_R_PACKET_LENGTH_TOO_LONG ||
                               ERR_GET_REASON(last) == SSL_R_HTTP_REQUEST;
            ERR_clear_error();
            why = plain ? "the server answered in plain HTTP, not TLS: the URL wants http:// "
                          "(or the port that speaks TLS)"
                        : "the handshake failed before a certificate was checked (does the "
                          "port speak plain HTTP? then the URL wants http://; else the server "
                          "refused this client's TLS version or certificate)";
            break;
        }
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            why = "the server's certificate is self-signed, and not trusted here: " + trust;
            break;
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            why = "the server's certificate is issued by a CA that is not trusted here: " + trust;
            break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
            why =
                "the server's certificate has expired: the server must renew it (or this "
                "machine's clock is wrong)";
            break;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            why = "the server's certificate is not valid yet: check this machine's clock";
            break;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            why = "the server's certificate is not for " + excerpt(host, 100) +
                  ": use a URL with a host name the certificate names";
            break;
        default:
            why = std::string("the server's certificate was refused: ") +
                  X509_verify_cert_error_string(result);
    }
    return "TLS with " + origin + " failed: " + why;
}

/// @brief Refuses trust anchors or a client certificate that OpenSSL cannot load, so that
/// the mistake shows as a clear `config` error and not as a failed handshake later.

/// @brief Puts a client certificate, the intermediates after it, and its key, all PEM
/// text, into ctx. @returns what could not be used, naming the field and never its
/// content; empty when all is in place
inline std::string use_client_pem(SSL_CTX* ctx, std::string_view cert_pem,
                                  std::string_view key_pem) {
    const auto buffer = [](std::string_view text) {
        return BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    };
    BIO* certs = buffer(cert_pem);
    X509* leaf =
        certs != nullptr ? PEM_read_bio_X509(certs, nullptr, refuse_passphrase, nullptr) : nullptr;
    bool cert_ok = ctx != nullptr && leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    while (cert_ok) {
        X509* intermediate = PEM_read_bio_X509(certs, nullptr, refuse_passphrase, nullptr);
        if (intermediate == nullptr) break;
        if (SSL_CTX_add0_chain_cert(ctx, intermediate) != 1) {
            X509_free(intermediate);
            cert_ok = false;
        }
    }
    BIO_free(certs);
    std::string problem;
    if (!cert_ok) {
        problem = "tls.client_cert_pem could not be read as a PEM certificate";
    } else {
        BIO* in = buffer(key_pem);  // reads the caller's buffer in place: no copy to wipe
        EVP_PKEY* key = in != nullptr
                            ? PEM_read_bio_PrivateKey(in, nullptr, refuse_passphrase, nullptr)
                            : nullptr;
        BIO_free(in);
        if (key == nullptr) {
            problem = "tls.client_key_pem could not be read as an unencrypted PEM private key";
        } else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
            problem = "tls.client_key_pem does not match tls.client_cert_pem";
        }
        EVP_PKEY_free(key);
    }
    ERR_clear_error();
    return problem;
}

/// @brief Whether path holds a private key in unencrypted PEM.
inline bool readable_private_key(const std::string& path) {
    BIO* in = BIO_new_file(path.c_str(), "r");
    if (in == nullptr) return false;
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, refuse_passphrase, nullptr);
    BIO_free(in);
    const bool readable = key != nullptr;
    EVP_PKEY_free(key);
    return readable;
}

/// @brief Puts a client certificate file (the certificate, then its intermediates) and
/// its key file into ctx, every PEM read through refuse_passphrase, so that a key file
/// replaced by an encrypted one is refused and never prompted for. Read afresh for each
/// new connection. @returns what could not be used, naming the file and never its
/// content; empty when all is in place
inline std::string use_client_files(SSL_CTX* ctx, const std::string& cert_file,
                                    const std::string& key_file) {
    SSL_CTX_set_default_passwd_cb(ctx, refuse_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
    std::string problem;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
        problem = "tls.client_cert_file \"" + excerpt(cert_file, 200) +
                  "\" could not be read as a PEM certificate";
    } else if (!readable_private_key(key_file)) {
        problem = "tls.client_key_file \"" + excerpt(key_file, 200) +
                  "\" could not be read as an unencrypted PEM private key";
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
               SSL_CTX_check_private_key(ctx) != 1) {
        problem = "tls.client_key_file does not match tls.client_cert_file";
    }
    ERR_clear_error();
    return problem;
}

inline void check_tls_files(const tls_options& tls) {
    const auto fail = [](const std::string& why) {
        ERR_clear_error();
        throw error(error_kind::config, why);
    };
    std::error_code ec;
    if (!tls.ca_dir.empty() && !std::filesystem::is_directory(tls.ca_dir, ec)) {
        fail("tls.ca_dir \"" + excerpt(tls.ca_dir, 200) + "\" is not a directory");
    }
    if (!tls.ca_file.empty()) {
        X509_STORE* store = X509_STORE_new();
        if (store == nullptr) fail("OpenSSL could not allocate a certificate store");
        const int loaded = X509_STORE_load_locations(store, tls.ca_file.c_str(), nullptr);
        X509_STORE_free(store);
        if (loaded != 1) {
            fail("tls.ca_file \"" + excerpt(tls.ca_file, 200) +
                 "\" could not be read as PEM certificates");
        }
    }
    if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
        fail("tls.client_cert_file and tls.client_key_file go together");
    }
    if (!tls.client_cert_file.empty()) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == nullptr) fail("OpenSSL could not create a TLS context");
        const std::string problem =
            use_client_files(ctx, tls.client_cert_file, tls.client_key_file);
        SSL_CTX_free(ctx);
        if (!problem.empty()) fail(problem);
    }
    if (!tls.client_cert_pem.empty()) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == nullptr) fail("OpenSSL could not create a TLS context");
        const std::string problem =
            use_client_pem(ctx, tls.client_cert_pem, tls.client_key_pem.reveal());
        SSL_CTX_free(ctx);
        if (!problem.empty()) fail(problem);
    }
    ERR_clear_error();
}

// cpp-httplib renamed its switches between releases; these pick whichever one exists.
template <class Client>
auto send_target_as_is(Client& client, int) -> decltype(client.set_path_encode(false)) {
    return client.set_path_encode(false);  // 0.20 and later
}
template <class Client>
auto send_target_as_is(Client& client, long) -> decltype(client.set_url_encode(false)) {
    return client.set_url_encode(false);  // before 0.20
}
template <class Client>
auto ssl_context_of(Client& client, int) -> decltype(static_cast<SSL_CTX*>(client.ssl_context())) {
    return client.ssl_context();  // before 0.43
}
template <class Client>
auto ssl_context_of(Client& client, long) -> decltype(static_cast<SSL_CTX*>(client.tls_context())) {
    return static_cast<SSL_CTX*>(client.tls_context());  // 0.43 and later
}

/// @brief Makes OpenSSL's own chain verification check the server's identity: the IP
/// address (RFC 6125 §6.2: an iPAddress SAN of exactly those bytes, never the CN) or the
/// DNS name, for every connection made from ctx. cpp-httplib's post-handshake check of
/// the verification result then fails on a mismatch, whichever release it is.
inline void require_identity(SSL_CTX* ctx, const std::string& host) {
    X509_VERIFY_PARAM* param = ctx != nullptr ? SSL_CTX_get0_param(ctx) : nullptr;
    bool ok = param != nullptr;
    if (ok && X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
        ERR_clear_error();  // not an IP address: a DNS name
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
    }
    if (!ok) {
        ERR_clear_error();
        throw error(error_kind::tls, "OpenSSL could not be told which host to verify");
    }
}

/// @brief A duplicate of the socket an exchange runs on, which the deadline shuts down.
/// shutdown() on it ends any wait on the socket at once, whatever the stage (connect, TLS
/// handshake, request, response), without the cpp-httplib lock that its own stop() needs
/// and that it holds through the handshake. Being a duplicate, it cannot name another
/// socket after cpp-httplib closes its own descriptor.
class socket_handle {
public:
    socket_handle() = default;
    socket_handle(const socket_handle&) = delete;
    socket_handle& operator=(const socket_handle&) = delete;
    ~socket_handle() { reset(-1); }

    /// @brief Called by cpp-httplib with each new socket, before it connects.
    void adopt(int fd) { reset(fd >= 0 ? ::dup(fd) : -1); }

    /// @brief Ends every operation on the socket now.
    void shut_down() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    }

    /// @brief Lets the socket close once cpp-httplib has closed its own descriptor.
    void release() { reset(-1); }

private:
    void reset(int fd) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

    std::mutex mutex_;
    int fd_ = -1;
};

}  // namespace oauth2cc::detail

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Sends requests through cpp-httplib clients kept alive per origin. Thread-safe:
/// a client is used by one request at a time and goes back to the idle list after it.
class httplib_sender {
public:
    /// @throws error `config` as check_connection() says, or for TLS files that cannot
    ///         be loaded
    explicit httplib_sender(connection_options options) : options_(std::move(options)) {
        check_connection(options_);
        check_tls_files(options_.tls);
        if (!options_.proxy.empty()) proxy_ = parse_proxy(options_.proxy);
    }

    const connection_options& options() const noexcept { return options_; }

    http_response send(const http_request& request) {
        const auto url = parse_url(request.url);
        if (!url) {
            throw error(error_kind::config,
                        "the request URL is not an absolute http:// or https:// URL with a "
                        "host, no user info, no fragment, no spaces or controls");
        }
        httplib::Request out;
        // The copy handed to cpp-httplib holds the request's credentials: wiped once sent,
        // or once refused.
        const wipe_at_exit out_wiper{[&out] {
            for (auto& header : out.headers) wipe(header.second);
            wipe(out.body);
        }};
        fill(out, request, *url);
        const std::string origin = origin_of(*url);
        bool over_cap = false;
        http_response result;
        cap_response(out, result, over_cap);

        std::unique_ptr<pooled_client> client = acquire(origin, *url);
        httplib::Response in;
        httplib::Error failure = httplib::Error::Success;
        const auto deadline =
            deadline_watchdog::clock::now() + options_.connect_timeout + options_.read_timeout;
        socket_handle* socket = client->socket.get();
        const auto ticket = watchdog_.arm(deadline, [socket] { socket->shut_down(); });
        client->verify->checked = false;
        const auto started = deadline_watchdog::clock::now();
        const bool sent = client->http->send(out, in, failure);
        const bool timed_out = watchdog_.disarm(ticket);
        if (!client->http->is_socket_open()) client->socket->release();

        if (!sent) {
            result.body.clear();
            const bool quick = deadline_watchdog::clock::now() - started < options_.read_timeout;
            throw failure_of(failure, over_cap, timed_out, in.status > 0 ? in.status : 0, origin,
                             *url, *client->verify, quick);
        }
        result.status = in.status;
        result.headers.reserve(in.headers.size());
        for (const auto& [name, value] : in.headers) result.headers.emplace_back(name, value);
        // A connection whose exchange met the deadline may have been shut down under it.
        if (!timed_out) release(origin, std::move(client));
        return result;
    }

private:
    /// @brief Fills out, cpp-httplib's request, from request: the method, the target as it
    /// goes on the wire, the headers (each checked), the body.
    /// @throws error `config` for a malformed method or header
    static void fill(httplib::Request& out, const http_request& request, const url_parts& url) {
        if (request.method.empty() || has_control(request.method) ||
            request.method.find(' ') != std::string::npos) {
            throw error(error_kind::config, "the request method is empty or malformed");
        }
        out.method = request.method;
        out.path = wire_target(url.path);
        for (const auto& [name, value] : request.headers) {
            if (name.empty() || has_control(name) || name.find(':') != std::string::npos ||
                name.find(' ') != std::string::npos) {
                throw error(error_kind::config, "a request header name is empty or malformed: \"" +
                                                    excerpt(name, 60) + "\"");
            }
            if (is_framing_header(name)) {
                throw error(error_kind::config,
                            "the request header \"" + excerpt(name, 60) +
                                "\" frames the message or steers the connection; the "
                                "transport writes it, never the caller");
            }
            // The value is not echoed: it may be a credential.
            if (has_control(value)) {
                throw error(error_kind::config, "the value of request header \"" +
                                                    excerpt(name, 60) +
                                                    "\" contains control characters");
            }
            out.headers.emplace(name, value);
        }
        out.body = request.body;
    }

    /// @brief Makes out read the response body into result.body, up to max_response_bytes:
    /// a larger announced length, or more bytes than that, stop the exchange and set
    /// over_cap. result and over_cap must outlive the exchange.
    void cap_response(httplib::Request& out, http_response& result, bool& over_cap) const {
        const std::size_t cap = options_.max_response_bytes;
        out.response_handler = [&result, &over_cap, cap](const httplib::Response& head) {
            const std::string length = head.get_header_value("Content-Length");
            if (!length.empty() && length.size() < 20) {
                std::uint64_t announced = 0;
                for (char c : length) {
                    if (c < '0' || c > '9') return true;  // httplib judges the framing
                    announced = announced * 10 + static_cast<std::uint64_t>(c - '0');
                }
                if (announced > cap) {
                    over_cap = true;
                    return false;
                }
                // Room for the whole body at once: it is not copied as it grows.
                result.body.reserve(static_cast<std::size_t>(announced));
            } else if (length.size() >= 20) {
                over_cap = true;
                return false;
            }
            return true;
        };
        out.content_receiver = [&result, &over_cap, cap](const char* data, std::size_t size,
                                                         std::uint64_t, std::uint64_t) {
            if (size > cap - result.body.size()) {
                over_cap = true;
                return false;
            }
            append_wiping(result.body, data, size);
            return true;
        };
    }

    /// @brief The error of an exchange that brought no whole response: an over-long
    /// response, the deadline, a Content-Encoding not asked for, TLS, or the transport.
    error failure_of(httplib::Error failure, bool over_cap, bool timed_out, int status,
                     const std::string& origin, const url_parts& url, const verify_outcome& verify,
                     bool quick) const {
        if (over_cap) {
            // A response arrived, and it is not one the protocol allows.
            return error(error_kind::bad_response,
                         "the response from " + origin + " is over max_response_bytes (" +
                             std::to_string(options_.max_response_bytes) + ")",
                         error_details{{}, {}, {}, status, {}});
        }
        if (timed_out) {
            return error(
                error_kind::transport,
                "no complete response from " + origin + " within " +
                    std::to_string((options_.connect_timeout + options_.read_timeout).count()) +
                    " ms (connect_timeout + read_timeout)");
        }
        const std::string what = httplib::to_string(failure);
        // Newer cpp-httplib releases refuse a Content-Encoding they were built without
        // (0.11 passed the body on undecoded): a response came, and not one that was
        // asked for.
        if (what == "Unsupported Content-Encoding" || what == "UnsupportedContentEncoding") {
            return error(error_kind::bad_response,
                         "the response from " + origin +
                             " uses a Content-Encoding that was not asked for and that "
                             "this build of cpp-httplib cannot decode",
                         error_details{{}, {}, {}, status, {}});
        }
        if (what.rfind("SSL", 0) == 0) {
            return error(error_kind::tls, tls_failure(origin, url.host, verify));
        }
        return error(error_kind::transport, "no response from " + origin + ": " +
                                                describe(failure, options_, url.https, quick));
    }

    /// @brief One kept-alive connection and the handle its deadline acts on.
    struct pooled_client {
        std::shared_ptr<socket_handle> socket = std::make_shared<socket_handle>();
        /// The certificate check of its handshakes; its SSL_CTX writes here.
        std::unique_ptr<verify_outcome> verify = std::make_unique<verify_outcome>();
        std::unique_ptr<httplib::ClientImpl> http;
        std::uint64_t generation = 0;  ///< of the client certificate's files it presents
    };

    std::unique_ptr<pooled_client> acquire(const std::string& origin, const url_parts& url) {
        // A client certificate replaced on disk: the kept-alive connections present the
        // old one, so they go (and those in use go when released); the next connection
        // reads the new files (make_client).
        const tls_options& tls = options_.tls;
        const bool rotated = !tls.client_cert_file.empty() &&
                             client_files_.changed(tls.client_cert_file, tls.client_key_file);
        std::uint64_t generation = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (rotated) {
                ++generation_;
                idle_.clear();
            }
            generation = generation_;
            const auto it = idle_.find(origin);
            if (it != idle_.end() && !it->second.empty()) {
                auto client = std::move(it->second.back());
                it->second.pop_back();
                return client;
            }
        }
        auto made = make_client(origin, url);
        made->generation = generation;
        return made;
    }

    void release(const std::string& origin, std::unique_ptr<pooled_client> client) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (client->generation != generation_) return;  // it presents a replaced certificate
        auto& list = idle_[origin];
        if (list.size() < options_.max_idle_connections) list.push_back(std::move(client));
    }

    std::unique_ptr<pooled_client> make_client(const std::string& origin,
                                               const url_parts& url) const {
        const tls_options& tls = options_.tls;
        auto made = std::make_unique<pooled_client>();
        // Host and port as they are: cpp-httplib's own URL parser reads an IPv6 literal
        // with hex letters or dots ([::ffff:7f00:1]) as a host name.
        if (url.https) {
            // The client certificate's files are read here, for each new connection, by
            // use_client_files rather than by cpp-httplib, whose reads would prompt for
            // the passphrase of a key file since replaced by an encrypted one.
            auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
            if (!ssl->is_valid()) {
                ERR_clear_error();
                throw error(error_kind::tls,
                            "cpp-httplib could not set up a TLS client for " + origin);
            }
            if (!tls.client_cert_file.empty()) {
                const std::string problem = use_client_files(
                    ssl_context_of(*ssl, 0), tls.client_cert_file, tls.client_key_file);
                if (!problem.empty()) throw error(error_kind::tls, problem);
            }
            if (!tls.client_cert_pem.empty()) {
                const std::string problem = use_client_pem(
                    ssl_context_of(*ssl, 0), tls.client_cert_pem, tls.client_key_pem.reveal());
                if (!problem.empty()) throw error(error_kind::tls, problem);
            }
            if (tls.verify) {
                require_identity(ssl_context_of(*ssl, 0), url.host);
                SSL_CTX_set_cert_verify_callback(ssl_context_of(*ssl, 0), record_verification,
                                                 made->verify.get());
            }
            configure_trust(*ssl);
            made->http = std::move(ssl);
        } else {
            made->http = std::make_unique<httplib::ClientImpl>(url.host, url.port);
        }
        httplib::ClientImpl* client = made->http.get();
        std::shared_ptr<socket_handle> socket = made->socket;
        client->set_socket_options([socket](auto fd) { socket->adopt(static_cast<int>(fd)); });
        send_target_as_is(*client, 0);
        if (proxy_) {
            client->set_proxy(proxy_->host, proxy_->port);
            if (!proxy_->user.empty()) {
                client->set_proxy_basic_auth(proxy_->user, proxy_->password);
            }
        }
        const auto split = [](std::chrono::milliseconds ms) {
            return std::pair<time_t, time_t>(static_cast<time_t>(ms.count() / 1000),
                                             static_cast<time_t>(ms.count() % 1000 * 1000));
        };
        const auto connect = split(options_.connect_timeout);
        const auto read = split(options_.read_timeout);
        client->set_connection_timeout(connect.first, connect.second);
        client->set_read_timeout(read.first, read.second);
        client->set_write_timeout(read.first, read.second);
        client->set_keep_alive(true);
        client->set_follow_location(false);
        // cpp-httplib writes the headers and the body of a request separately; without
        // TCP_NODELAY the body waits for the server's delayed ACK (about 40 ms on Linux).
        client->set_tcp_nodelay(true);
        return made;
    }

    /// @brief Trust anchors: the system store unless tls.ca_file or tls.ca_dir say
    /// otherwise (cpp-httplib 0.47 and later no longer add the system store to a custom
    /// CA either; both releases behave the same here).
    void configure_trust(httplib::SSLClient& client) const {
        const tls_options& tls = options_.tls;
        client.enable_server_certificate_verification(tls.verify);
        if (!tls.ca_file.empty() && !tls.ca_dir.empty()) {
            // cpp-httplib loads one of the two; a store that looks up the directory,
            // with the file added to it on first use, trusts both.
            X509_STORE* store = X509_STORE_new();
            if (store == nullptr ||
                X509_STORE_load_locations(store, nullptr, tls.ca_dir.c_str()) != 1) {
                if (store != nullptr) X509_STORE_free(store);
                ERR_clear_error();
                throw error(error_kind::config, "tls.ca_dir could not be loaded");
            }
            client.set_ca_cert_store(store);
            client.set_ca_cert_path(tls.ca_file);
        } else if (!tls.ca_file.empty() || !tls.ca_dir.empty()) {
            client.set_ca_cert_path(tls.ca_file, tls.ca_dir);
        }
    }

    connection_options options_;
    std::optional<proxy_parts> proxy_;
    std::mutex mutex_;
    std::map<std::string, std::vector<std::unique_ptr<pooled_client>>> idle_;
    file_watch client_files_;       ///< tls.client_cert_file and client_key_file
    std::uint64_t generation_ = 0;  ///< one more for each change of those files
    // The process's one watchdog; every exchange disarms its deadline before it returns.
    deadline_watchdog& watchdog_ = deadline_watchdog::shared();
};

}  // namespace oauth2cc::detail

#include <memory>
#include <utility>

namespace oauth2cc {

struct httplib_transport::state {
    explicit state(connection_options opts) : sender(std::move(opts)) {}
    detail::httplib_sender sender;
};

OAUTH2CC_INLINE httplib_transport::httplib_transport(connection_options options)
    : state_(std::make_unique<state>(std::move(options))) {}

OAUTH2CC_INLINE httplib_transport::~httplib_transport() = default;

OAUTH2CC_INLINE http_response httplib_transport::send(const http_request& request) {
    return state_->sender.send(request);
}

OAUTH2CC_INLINE const connection_options& httplib_transport::options() const noexcept {
    return state_->sender.options();
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/introspection_inl.hpp ----

#include <chrono>
#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE bool introspection_result::has_scope(std::string_view scope_token) const {
    if (!active || scope_token.empty()) return false;
    std::string_view rest = scope;
    while (!rest.empty()) {
        const std::size_t space = rest.find(' ');
        if (rest.substr(0, space) == scope_token) return true;
        if (space == std::string_view::npos) break;
        rest.remove_prefix(space + 1);
    }
    return false;
}

OAUTH2CC_INLINE introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                                std::string_view access_token, transport& via) {
    const client_config target =
        detail::endpoint_client(detail::with_current_credentials(cfg), std::string(endpoint));
    if (access_token.empty()) throw error(error_kind::config, "the token to introspect is empty");
    // Made in place: an initializer list would leave a copy of the token behind, unwiped.
    name_value_list fields;
    fields.reserve(2);
    fields.emplace_back("token", access_token);
    const detail::wipe_at_exit fields_wiper{[&fields] { detail::wipe(fields.front().second); }};
    fields.emplace_back("token_type_hint", "access_token");
    detail::redactions hide = detail::credential_redactions(target);
    hide.add(std::string(access_token));
    const auto answer = detail::call_endpoint(target, fields, hide, via, "introspection", true);
    const auto& doc = answer.doc;
    const int status = answer.status;
    const auto bad = [&](const std::string& why) {
        throw error(error_kind::bad_response, why, error_details{{}, {}, {}, status, {}});
    };
    if (!doc || !doc->is_object()) bad("the introspection response is not a JSON object");
    const auto active = doc->find("active");
    if (active == doc->end() || !active->is_boolean()) {
        bad("the introspection response has no boolean \"active\" (RFC 7662 §2.2)");
    }
    introspection_result out;
    out.active = active->get<bool>();
    const auto text = [&](const char* name, std::string& into) {
        const auto it = doc->find(name);
        if (it != doc->end() && it->is_string()) into = it->get<std::string>();
    };
    const auto number = [&](const char* name, std::optional<std::int64_t>& into) {
        const auto it = doc->find(name);
        if (it != doc->end() && it->is_number_integer()) into = it->get<std::int64_t>();
    };
    text("scope", out.scope);
    text("client_id", out.client_id);
    text("username", out.username);
    text("token_type", out.token_type);
    text("sub", out.sub);
    text("iss", out.iss);
    number("exp", out.exp);
    number("iat", out.iat);
    number("nbf", out.nbf);
    out.raw = *doc;
    return out;
}

OAUTH2CC_INLINE introspection_result introspect(const client_config& cfg, std::string_view endpoint,
                                                std::string_view access_token) {
    httplib_transport via(cfg);
    return introspect(cfg, endpoint, access_token, via);
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/proxy_inl.hpp ----

#include <cstdlib>
#include <string>
#include <string_view>

namespace oauth2cc {

OAUTH2CC_INLINE std::string proxy_from_environment(std::string_view url) {
    const auto variable = [](const char* name) -> std::string {
        const char* value = std::getenv(name);
        return value != nullptr ? std::string(detail::trim(value)) : std::string();
    };
    const auto first = [&](const char* a, const char* b) {
        std::string value = variable(a);
        return value.empty() && b != nullptr ? variable(b) : value;
    };
    const auto parts = detail::parse_url(url);
    if (!parts) return {};
    std::string proxy =
        parts->https ? first("https_proxy", "HTTPS_PROXY") : first("http_proxy", nullptr);
    if (proxy.empty()) proxy = first("all_proxy", "ALL_PROXY");
    if (proxy.empty()) return {};
    if (detail::no_proxy_matches(first("no_proxy", "NO_PROXY"), parts->host)) return {};
    return proxy;
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/revocation_inl.hpp ----

#include <string>

namespace oauth2cc {

OAUTH2CC_INLINE void revoke(const client_config& cfg, const secret& token,
                            std::string_view token_type_hint, transport& via) {
    const client_config current = detail::with_current_credentials(cfg);
    const std::string endpoint = detail::revocation_endpoint_of(current, via);
    detail::revoke_at(current, endpoint, token, token_type_hint, via);
}

OAUTH2CC_INLINE void revoke(const client_config& cfg, const secret& token,
                            std::string_view token_type_hint) {
    httplib_transport via(cfg);
    revoke(cfg, token, token_type_hint, via);
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/token_client_inl.hpp ----

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace oauth2cc {

OAUTH2CC_INLINE token request_token(const client_config& cfg, transport& via) {
    detail::request_source source(cfg);
    return detail::send_with_renewal(source, via);
}

OAUTH2CC_INLINE token request_token(const client_config& cfg) {
    detail::request_source source(cfg);
    httplib_transport via(cfg);
    return detail::send_with_renewal(source, via);
}

OAUTH2CC_INLINE token_client::token_client(client_config cfg, std::shared_ptr<transport> via)
    : cfg_(std::move(cfg)),
      transport_(std::move(via)),
      source_(std::make_shared<detail::request_source>(cfg_)) {
    if (!transport_) transport_ = std::make_shared<httplib_transport>(cfg_);
}

OAUTH2CC_INLINE token token_client::fetch() {
    return detail::send_with_renewal(*source_, *transport_, &nonce_retries_);
}

OAUTH2CC_INLINE unsigned token_client::credential_rotations() const noexcept {
    return source_->rotations();
}

OAUTH2CC_INLINE std::string token_client::take_notice() { return source_->take_note(); }

OAUTH2CC_INLINE bool token_client::credentials_changed() const {
    return source_->credentials_changed();
}

}  // namespace oauth2cc
// ---- oauth2cc/impl/www_authenticate_inl.hpp ----

// ---- oauth2cc/detail/http/challenges.hpp ----

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

// RFC 9110 §5.6.2 tchar.
inline bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

// RFC 9110 §11.2 token68 characters, before the trailing '='s.
inline bool is_token68_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

class challenge_reader {
public:
    explicit challenge_reader(std::string_view s) : s_(s) {}

    std::vector<auth_challenge> read_all() {
        std::vector<auth_challenge> out;
        // Bounded: every round consumes input or stops.
        while (out.size() < 64) {
            skip_list_separators();
            if (at_end()) break;
            auth_challenge c;
            c.scheme = std::string(read_token());
            if (c.scheme.empty()) break;
            const bool had_space = skip_spaces();
            if (had_space && !at_end() && peek() != ',') {
                if (!read_params_or_token68(c)) {
                    out.push_back(std::move(c));
                    break;
                }
            }
            out.push_back(std::move(c));
        }
        return out;
    }

private:
    bool at_end() const noexcept { return pos_ >= s_.size(); }
    char peek() const noexcept { return s_[pos_]; }

    bool skip_spaces() {
        const std::size_t start = pos_;
        while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
        return pos_ > start;
    }
    void skip_list_separators() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++pos_;
    }
    std::string_view read_token() {
        const std::size_t start = pos_;
        while (!at_end() && is_tchar(peek())) ++pos_;
        return s_.substr(start, pos_ - start);
    }

    // True when, from here, a parameter starts: token BWS "=" and not a token68's padding.
    bool param_ahead() const {
        std::size_t p = pos_;
        const std::size_t start = p;
        while (p < s_.size() && is_tchar(s_[p])) ++p;
        if (p == start) return false;
        while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
        if (p >= s_.size() || s_[p] != '=') return false;
        ++p;
        while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
        return p < s_.size() && (s_[p] == '"' || is_tchar(s_[p]));
    }

    // Reads token68 or a parameter list; false when the input is malformed.
    bool read_params_or_token68(auth_challenge& c) {
        if (!param_ahead()) {
            const std::size_t start = pos_;
            while (!at_end() && is_token68_char(peek())) ++pos_;
            while (!at_end() && peek() == '=') ++pos_;
            c.token68 = std::string(s_.substr(start, pos_ - start));
            skip_spaces();
            return !c.token68.empty() && (at_end() || peek() == ',');
        }
        while (c.params.size() < 64) {
            std::string name = to_lower(read_token());
            skip_spaces();
            if (at_end() || peek() != '=') return false;
            ++pos_;
            skip_spaces();
            std::string value;
            if (!at_end() && peek() == '"') {
                if (!read_quoted(value)) return false;
            } else {
                value = std::string(read_token());
                if (value.empty()) return false;
            }
            c.params.emplace_back(std::move(name), std::move(value));
            skip_spaces();
            if (at_end()) return true;
            if (peek() != ',') return false;
            // Another parameter of this challenge, or the next challenge.
            const std::size_t comma = pos_;
            skip_list_separators();
            if (at_end()) return true;
            if (!param_ahead()) {
                pos_ = comma;
                return true;
            }
        }
        return false;  // too many parameters: stop reading
    }

    bool read_quoted(std::string& out) {
        ++pos_;  // the opening quote
        while (!at_end()) {
            const char c = peek();
            ++pos_;
            if (c == '"') return true;
            if (c == '\\') {
                if (at_end()) return false;
                out.push_back(peek());
                ++pos_;
            } else {
                out.push_back(c);
            }
            if (out.size() > 4096) return false;
        }
        return false;
    }

    static std::string to_lower(std::string_view v) {
        std::string out(v);
        for (char& ch : out) {
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        }
        return out;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

/// @brief The first challenge of the scheme in a response's WWW-Authenticate headers.
inline std::optional<token_challenge> find_challenge(const http_response& response,
                                                     std::string_view scheme) {
    for (const auto& [name, value] : response.headers) {
        if (!iequals(name, "WWW-Authenticate")) continue;
        for (auto& c : parse_www_authenticate(value)) {
            if (!iequals(c.scheme, scheme)) continue;
            token_challenge b;
            b.realm = c.param("realm").value_or("");
            b.error = c.param("error").value_or("");
            b.error_description = c.param("error_description").value_or("");
            b.error_uri = c.param("error_uri").value_or("");
            b.scope = c.param("scope").value_or("");
            b.raw = std::move(c);
            return b;
        }
    }
    return std::nullopt;
}

}  // namespace oauth2cc::detail

#include <cstddef>

namespace oauth2cc {

OAUTH2CC_INLINE std::optional<std::string> auth_challenge::param(std::string_view name) const {
    for (const auto& [k, v] : params) {
        if (detail::iequals(k, name)) return v;
    }
    return std::nullopt;
}

OAUTH2CC_INLINE std::vector<auth_challenge> parse_www_authenticate(std::string_view value) {
    return detail::challenge_reader(value.substr(0, 16384)).read_all();
}

OAUTH2CC_INLINE std::optional<token_challenge> find_bearer_challenge(
    const http_response& response) {
    return detail::find_challenge(response, "Bearer");
}

OAUTH2CC_INLINE std::optional<token_challenge> find_dpop_challenge(const http_response& response) {
    return detail::find_challenge(response, "DPoP");
}

}  // namespace oauth2cc
#endif  // OAUTH2CC_WITH_BODIES
