// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// peer_process.hpp: starts a real authorization server for a test and stops it by PID.
// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace oauth2cc_test {

/// @brief Where the test peers live (tests/peers) and whether they can run here.
struct peer_environment {
    std::string peers_dir;  ///< tests/peers of the source tree.
    std::string node;       ///< The node executable, empty when none is on PATH.
    std::string missing;    ///< Why the peers cannot run here; empty when they can.
};

/// @brief Finds node and the installed npm packages of the peers.
const peer_environment& environment();

/// @brief True when the peers can run. Otherwise: under CI=true the test fails loudly;
/// elsewhere it says how to enable the peers and the caller returns (the test is skipped).
bool peers_available_or_skip();

/// @brief CA, server and client certificates made with the openssl command for this
/// test process, in a private temporary directory removed at exit.
struct certificates {
    std::string dir;
    std::string ca_cert;      ///< The test CA that signs everything below.
    std::string server_cert;  ///< For 127.0.0.1 and localhost.
    std::string server_key;
    std::string other_host_cert;  ///< Valid, signed by the CA, for another host name.
    std::string other_host_key;
    std::string client_cert;  ///< A client certificate for mutual TLS.
    std::string client_key;
    std::string client_next_cert;  ///< Another (CN=basic-client-next), as if renewed.
    std::string client_next_key;
    std::string expired_cert;  ///< For 127.0.0.1, signed by the CA, expired in 2020.
    std::string expired_key;
    std::string self_signed_cert;  ///< For 127.0.0.1, signed by itself only.
    std::string self_signed_key;
    std::string cn_only_cert;  ///< CN=127.0.0.1, signed by the CA, no subjectAltName.
    std::string cn_only_key;
    std::string ipv6_prefix_cert;  ///< Only IP:7f00:1:: (its first bytes are 127.0.0.1).
    std::string ipv6_prefix_key;
};

/// @brief Makes the certificates once per process; throws std::runtime_error on failure.
const certificates& test_certificates();

/// @brief A child process running a peer script with node. The constructor returns once
/// the peer has printed its JSON line and answers HTTP; the destructor stops it by PID
/// (SIGTERM, then SIGKILL), also when the test fails. If the test process itself dies,
/// the kernel sends the child SIGKILL (PR_SET_PDEATHSIG).
class peer_process {
public:
    /// @param script  a path under tests/peers, e.g. "oidc-provider/server.mjs"
    /// @param args    the script's own arguments
    /// @param timeout how long it may take to start and answer
    /// @throws std::runtime_error with the peer's stderr when it does not start in time
    peer_process(const std::string& script, const std::vector<std::string>& args,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

    /// @brief Starts any program that prints a JSON line with "url" and "port" once it
    /// serves, e.g. an example server. env sets variables in the child; every other
    /// OAUTH2_* variable of this process is left out of its environment.
    static std::unique_ptr<peer_process> start_program(
        const std::vector<std::string>& argv,
        const std::vector<std::pair<std::string, std::string>>& env,
        std::chrono::milliseconds timeout = std::chrono::seconds(30));
    ~peer_process();
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;

    /// @brief The JSON line the peer printed on start.
    const nlohmann::json& info() const { return info_; }
    /// @brief The port it listens on, on 127.0.0.1.
    int port() const { return info_.at("port").get<int>(); }
    /// @brief The child's process id; 0 once stopped.
    pid_t pid() const { return pid_; }
    /// @brief The peer's counters from GET /_harness/stats.
    /// @throws std::runtime_error when the peer does not answer
    nlohmann::json harness_stats() const;
    /// @brief Zeroes the peer's counters (POST /_harness/reset).
    void reset_harness_stats() const;
    /// @brief Lets go the refusals an oidc-provider started with --hold-refusals holds
    /// (POST /_harness/release).
    void release_held_refusals() const;
    /// @brief Everything the peer wrote to stderr so far.
    std::string stderr_text() const;
    /// @brief Stops the peer: SIGTERM, a bounded wait, then SIGKILL. Idempotent.
    /// @returns the raw wait status, or -1 when it was already stopped.
    int stop();

private:
    peer_process() = default;
    void launch(const std::vector<std::string>& argv,
                const std::vector<std::pair<std::string, std::string>>& env,
                const std::string& label, std::chrono::milliseconds timeout);
    void launch_once(const std::vector<std::string>& argv,
                     const std::vector<std::pair<std::string, std::string>>& env,
                     const std::string& label, std::chrono::milliseconds timeout);

    pid_t pid_ = 0;
    int stdout_fd_ = -1;
    std::string stderr_path_;
    nlohmann::json info_;
};

/// @brief What a program run to its end did.
struct program_result {
    int exit_code = -1;  ///< -1 when it did not exit normally.
    std::string out;     ///< Its stdout.
    std::string err;     ///< Its stderr.
};

/// @brief Runs a program to its end (killed after timeout), with env set in its
/// environment and every other OAUTH2_* variable of this process left out.
program_result run_program(const std::vector<std::string>& argv,
                           const std::vector<std::pair<std::string, std::string>>& env,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// @brief A program running in the background whose stdout a test reads line by line,
/// e.g. a daemon. The destructor kills it (SIGKILL) if it still runs.
class running_program {
public:
    running_program(const std::vector<std::string>& argv,
                    const std::vector<std::pair<std::string, std::string>>& env);
    ~running_program();
    running_program(const running_program&) = delete;
    running_program& operator=(const running_program&) = delete;

    /// @brief Waits until a line containing needle, printed after the last line this
    /// found, arrives. @returns false when none came within timeout or the program ended.
    bool wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
    /// @brief Everything it printed on stdout so far.
    const std::string& output() const { return output_; }
    /// @brief Sends a signal and waits (10 s at most, then SIGKILL) for it to end.
    /// @returns the raw wait status; took is how long the ending took
    int stop(int signal, std::chrono::milliseconds& took);
    /// @brief Closes its stdin (a pipe from this process): it reads end of file.
    void close_input();
    /// @brief Its process id; 0 once stopped.
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = 0;
    int stdout_fd_ = -1;
    int stdin_fd_ = -1;
    std::string output_;
    std::size_t searched_ = 0;
};

/// @brief The path of an executable on PATH, or empty when there is none.
std::string program_on_path(const std::string& name);

/// @brief Revokes an access token at oidc-provider (RFC 7009), authenticated as its
/// resource-server client. @returns true when the server answered 200
bool revoke_token(const peer_process& peer, const std::string& token);

/// @brief Starts tests/peers/oidc-provider/server.mjs with the given arguments.
std::unique_ptr<peer_process> start_oidc_provider(const std::vector<std::string>& args = {});

/// @brief Starts tests/peers/node-oauth2-server/server.mjs, a server that does not
/// form-decode Basic credentials, with the given arguments.
std::unique_ptr<peer_process> start_node_oauth2_server(const std::vector<std::string>& args = {});

/// @brief Starts tests/peers/authlib/server.py, a JWT bearer grant server (RFC 7523) on
/// Authlib, with Debian's python3 (which has python3-authlib and python3-flask); it
/// writes the private key of its issuer "svc" to key_dir/svc.pem.
std::unique_ptr<peer_process> start_authlib(const std::string& key_dir);

}  // namespace oauth2cc_test
