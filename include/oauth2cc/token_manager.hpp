// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// token_manager.hpp: the thread-safe token holder: cached reads, one refresh before
// expiry, one request for many waiting callers, backoff on failure.
// SPDX-License-Identifier: MIT
#pragma once

#include "client_config.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "error.hpp"
#include "http.hpp"
#include "metrics.hpp"
#include "token.hpp"
#include "token_store.hpp"
#include "transport.hpp"

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

#if OAUTH2CC_WITH_BODIES
#include "impl/token_manager_inl.hpp"
#include "impl/token_manager_async_inl.hpp"
#endif
