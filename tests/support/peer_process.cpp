// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// peer_process.cpp: starts a real authorization server for a test and stops it by PID.
// SPDX-License-Identifier: MIT

#include "peer_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OAUTH2CC_TEST_PEERS_DIR
#error "OAUTH2CC_TEST_PEERS_DIR must name tests/peers of the source tree"
#endif

namespace oauth2cc_test {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        const std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Runs argv[0] with the arguments, waits for it, and returns its exit status.
int run_and_wait(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
    if (child == 0) {
        const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log >= 0) {
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    return status;
}

struct certificate_dir {
    certificates paths;
    ~certificate_dir() {
        std::error_code ignored;
        if (!paths.dir.empty()) fs::remove_all(paths.dir, ignored);
    }
};

}  // namespace

const peer_environment& environment() {
    static const peer_environment env = [] {
        peer_environment e;
        e.peers_dir = OAUTH2CC_TEST_PEERS_DIR;
        e.node = find_on_path("node");
        if (e.node.empty()) {
            e.missing = "node is not on PATH";
        } else if (!fs::exists(fs::path(e.peers_dir) / "oidc-provider" / "node_modules" /
                               "oidc-provider" / "package.json")) {
            e.missing = "the npm packages of tests/peers/oidc-provider are not installed";
        } else if (!fs::exists(fs::path(e.peers_dir) / "node-oauth2-server" / "node_modules" /
                               "@node-oauth" / "oauth2-server" / "package.json")) {
            e.missing = "the npm packages of tests/peers/node-oauth2-server are not installed";
        } else if (find_on_path("openssl").empty()) {
            e.missing = "the openssl command is not on PATH";
        }
        return e;
    }();
    return env;
}

bool peers_available_or_skip() {
    const auto& env = environment();
    if (env.missing.empty()) return true;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
        FAIL("the real-server tests cannot run: " << env.missing
                                                  << " (CI=true makes this a failure; "
                                                     "tools/bootstrap installs what is missing)");
    }
    MESSAGE("skipped: " << env.missing
                        << "; run tools/bootstrap to install the test peers and enable this test");
    return false;
}

const certificates& test_certificates() {
    static const certificate_dir made = [] {
        certificate_dir d;
        const fs::path tmp = fs::temp_directory_path();
        std::string pattern = (tmp / "oauth2cc-certs-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
        }
        d.paths.dir = pattern;
        const std::string log = d.paths.dir + "/make-certs.log";
        const int status = run_and_wait(
            {find_on_path("bash"), environment().peers_dir + "/make-certs.sh", d.paths.dir}, log);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            throw std::runtime_error("tests/peers/make-certs.sh failed:\n" + read_whole_file(log));
        }
        const auto at = [&](const char* name) { return d.paths.dir + "/" + name; };
        d.paths.ca_cert = at("ca.pem");
        d.paths.server_cert = at("server.pem");
        d.paths.server_key = at("server-key.pem");
        d.paths.other_host_cert = at("other-host.pem");
        d.paths.other_host_key = at("other-host-key.pem");
        d.paths.client_cert = at("client.pem");
        d.paths.client_key = at("client-key.pem");
        d.paths.client_next_cert = at("client-next.pem");
        d.paths.client_next_key = at("client-next-key.pem");
        d.paths.expired_cert = at("expired.pem");
        d.paths.expired_key = at("expired-key.pem");
        d.paths.self_signed_cert = at("self-signed.pem");
        d.paths.self_signed_key = at("self-signed-key.pem");
        d.paths.cn_only_cert = at("cn-only.pem");
        d.paths.cn_only_key = at("cn-only-key.pem");
        d.paths.ipv6_prefix_cert = at("ipv6-prefix.pem");
        d.paths.ipv6_prefix_key = at("ipv6-prefix-key.pem");
        return d;
    }();
    return made.paths;
}

// The environment for a child: this one without OAUTH2_* variables, plus env.
static std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& env) {
    // Neither the test's own configuration nor a proxy of the machine's reaches a child
    // unless the test gives it: the servers are all on loopback.
    const auto inherited = [](std::string_view entry) {
        if (entry.rfind("OAUTH2_", 0) == 0) return false;
        const std::string_view name = entry.substr(0, entry.find('='));
        for (std::string_view proxy : {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}) {
            if (name.size() == proxy.size() &&
                std::equal(name.begin(), name.end(), proxy.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == b;
                })) {
                return false;
            }
        }
        return true;
    };
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) {
        if (inherited(*e)) out.emplace_back(*e);
    }
    for (const auto& [k, v] : env) out.push_back(k + "=" + v);
    return out;
}

// argv and envp for execve, built before fork: after it, only async-signal-safe calls.
struct exec_arguments {
    std::vector<std::string> argv_text, env_text;
    std::vector<char*> argv, envp;

    exec_arguments(const std::vector<std::string>& args,
                   const std::vector<std::pair<std::string, std::string>>& env)
        : argv_text(args), env_text(child_environment(env)) {
        for (auto& a : argv_text) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (auto& e : env_text) envp.push_back(e.data());
        envp.push_back(nullptr);
    }
};

peer_process::peer_process(const std::string& script, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout) {
    const auto& env = environment();
    if (!env.missing.empty()) throw std::runtime_error("test peers unavailable: " + env.missing);
    std::vector<std::string> argv{env.node, env.peers_dir + "/" + script};
    argv.insert(argv.end(), args.begin(), args.end());
    launch(argv, {}, script, timeout);
}

std::unique_ptr<peer_process> peer_process::start_program(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& env,
    std::chrono::milliseconds timeout) {
    std::unique_ptr<peer_process> p(new peer_process());
    p->launch(argv, env, argv.empty() ? std::string("?") : argv[0], timeout);
    return p;
}

namespace {

// Thrown when a peer printed no start line in time, which launch() retries once.
struct no_start_line : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What the kernel says a process is doing, for a report: its state and wait channel.
std::string process_state(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid);
    std::string stat = read_whole_file(dir + "/stat");
    const auto close_paren = stat.rfind(')');
    const std::string state = close_paren != std::string::npos && close_paren + 2 < stat.size()
                                  ? stat.substr(close_paren + 2, 1)
                                  : "?";
    return "state " + state + ", wchan " + read_whole_file(dir + "/wchan");
}

}  // namespace

void peer_process::launch(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& env,
                          const std::string& script, std::chrono::milliseconds timeout) {
    // A node peer has been seen, rarely and only on a loaded machine, to print nothing
    // for its whole start timeout. Such a start is reported and made once more.
    try {
        launch_once(argv, env, script,
                    std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(15)));
    } catch (const no_start_line& e) {
        std::fprintf(stderr, "peer_process: %s; starting it once more\n", e.what());
        launch_once(argv, env, script, timeout);
    }
}

void peer_process::launch_once(const std::vector<std::string>& argv_in,
                               const std::vector<std::pair<std::string, std::string>>& env_in,
                               const std::string& script, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    std::string stderr_pattern = (fs::temp_directory_path() / "oauth2cc-peer-XXXXXX").string();
    const int stderr_fd = ::mkstemp(stderr_pattern.data());
    if (stderr_fd < 0)
        throw std::runtime_error("mkstemp failed: " + std::string(std::strerror(errno)));
    stderr_path_ = stderr_pattern;

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(stderr_fd);
        throw std::runtime_error("pipe2 failed: " + std::string(std::strerror(errno)));
    }

    exec_arguments exec(argv_in, env_in);
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(out[0]);
        ::close(out[1]);
        ::close(stderr_fd);
        throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
    }
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(stderr_fd, STDERR_FILENO);
        ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(stderr_fd);
    stdout_fd_ = out[0];

    const auto fail = [&](const std::string& why) {
        const std::string log = stderr_text();
        stop();
        throw std::runtime_error("peer " + script + " did not start: " + why + "\n" + log);
    };

    std::string line;
    while (line.find('\n') == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) {
            const std::string state = process_state(pid_);
            const std::string log = stderr_text();
            stop();
            ::unlink(stderr_path_.c_str());
            throw no_start_line("peer " + script + " did not start: no start line in " +
                                std::to_string(timeout.count()) + " ms (" + state + ")\n" + log);
        }
        pollfd p{stdout_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        char buf[4096];
        const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("it exited");
        line.append(buf, static_cast<size_t>(n));
    }
    info_ = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
    if (!info_.is_object() || !info_.contains("port")) fail("bad start line: " + line);

    // The peer prints its line once it listens; one answered request proves it serves.
    const std::string issuer = info_.value("issuer", info_.value("url", ""));
    for (;;) {
        httplib::Client probe(issuer);
        probe.enable_server_certificate_verification(false);
        probe.set_connection_timeout(std::chrono::seconds(2));
        probe.set_read_timeout(std::chrono::seconds(5));
        probe.set_write_timeout(std::chrono::seconds(5));
        if (auto res = probe.Get("/_harness/stats"); res) break;
        if (clock_type::now() >= deadline) fail("it does not answer HTTP");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

peer_process::~peer_process() {
    stop();
    if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
}

std::string peer_process::stderr_text() const { return read_whole_file(stderr_path_); }

int peer_process::stop() {
    if (stdout_fd_ >= 0) {
        ::close(stdout_fd_);
        stdout_fd_ = -1;
    }
    if (pid_ <= 0) return -1;
    int status = 0;
    ::kill(pid_, SIGTERM);
    // A bounded wait for a clean exit; a peer that ignores SIGTERM is killed.
    const auto give_up = clock_type::now() + std::chrono::seconds(5);
    pid_t done = 0;
    while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 && clock_type::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (done == 0) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    }
    pid_ = 0;
    return status;
}

namespace {

httplib::Client harness_client(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(std::chrono::seconds(5));
    c.set_read_timeout(std::chrono::seconds(10));
    return c;
}

}  // namespace

nlohmann::json peer_process::harness_stats() const {
    auto c = harness_client(port());
    auto res = c.Get("/_harness/stats");
    if (!res || res->status != 200) throw std::runtime_error("the peer's /_harness/stats failed");
    return nlohmann::json::parse(res->body);
}

void peer_process::reset_harness_stats() const {
    auto c = harness_client(port());
    auto res = c.Post("/_harness/reset", "", "text/plain");
    if (!res || res->status != 204) throw std::runtime_error("the peer's /_harness/reset failed");
}

void peer_process::release_held_refusals() const {
    auto c = harness_client(port());
    auto res = c.Post("/_harness/release", "", "text/plain");
    if (!res || res->status != 204) throw std::runtime_error("the peer's /_harness/release failed");
}

bool revoke_token(const peer_process& peer, const std::string& token) {
    httplib::Client c = harness_client(peer.port());
    c.set_basic_auth("resource-server", "resource-server-secret");
    auto res = c.Post("/token/revocation", "token=" + token + "&token_type_hint=access_token",
                      "application/x-www-form-urlencoded");
    return res && res->status == 200;
}

program_result run_program(const std::vector<std::string>& argv_in,
                           const std::vector<std::pair<std::string, std::string>>& env,
                           std::chrono::milliseconds timeout) {
    const auto temp_file = [] {
        std::string pattern = (fs::temp_directory_path() / "oauth2cc-run-XXXXXX").string();
        const int fd = ::mkstemp(pattern.data());
        if (fd < 0)
            throw std::runtime_error("mkstemp failed: " + std::string(std::strerror(errno)));
        return std::make_pair(fd, pattern);
    };
    const auto [out_fd, out_path] = temp_file();
    const auto [err_fd, err_path] = temp_file();
    exec_arguments exec(argv_in, env);

    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    int status = 0;
    const auto give_up = clock_type::now() + timeout;
    pid_t done = 0;
    while ((done = ::waitpid(child, &status, WNOHANG)) == 0 && clock_type::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (done == 0) {
        ::kill(child, SIGKILL);
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    }
    program_result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_whole_file(out_path);
    r.err = read_whole_file(err_path);
    ::unlink(out_path.c_str());
    ::unlink(err_path.c_str());
    return r;
}

running_program::running_program(const std::vector<std::string>& argv_in,
                                 const std::vector<std::pair<std::string, std::string>>& env) {
    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed: " + std::string(std::strerror(errno)));
    }
    if (::pipe2(in, O_CLOEXEC) != 0) {
        ::close(out[0]);
        ::close(out[1]);
        throw std::runtime_error("pipe2 failed: " + std::string(std::strerror(errno)));
    }
    exec_arguments exec(argv_in, env);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(in[0], STDIN_FILENO);
        ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    stdout_fd_ = out[0];
    stdin_fd_ = in[1];
}

void running_program::close_input() {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
}

running_program::~running_program() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    close_input();
}

bool running_program::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
        // Whole lines only, from where the last search stopped.
        const std::size_t last_newline = output_.rfind('\n');
        if (last_newline != std::string::npos && last_newline + 1 > searched_) {
            const std::size_t found = output_.find(needle, searched_);
            if (found != std::string::npos && found < last_newline) {
                searched_ = output_.find('\n', found) + 1;
                return true;
            }
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0 || stdout_fd_ < 0) return false;
        pollfd p{stdout_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        char buf[4096];
        const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(stdout_fd_);
            stdout_fd_ = -1;
            continue;
        }
        output_.append(buf, static_cast<std::size_t>(n));
    }
}

int running_program::stop(int signal, std::chrono::milliseconds& took) {
    const auto started = clock_type::now();
    int status = 0;
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    const auto give_up = started + std::chrono::seconds(10);
    pid_t done = 0;
    while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 && clock_type::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
    if (done == 0) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    }
    pid_ = 0;
    // Keep what it printed while stopping.
    if (stdout_fd_ >= 0) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(stdout_fd_, buf, sizeof buf)) > 0)
            output_.append(buf, static_cast<std::size_t>(n));
    }
    return status;
}

std::string program_on_path(const std::string& name) { return find_on_path(name); }

std::unique_ptr<peer_process> start_oidc_provider(const std::vector<std::string>& args) {
    return std::make_unique<peer_process>("oidc-provider/server.mjs", args);
}

std::unique_ptr<peer_process> start_node_oauth2_server(const std::vector<std::string>& args) {
    return std::make_unique<peer_process>("node-oauth2-server/server.mjs", args);
}

std::unique_ptr<peer_process> start_authlib(const std::string& key_dir) {
    // Debian's interpreter, whatever python3 comes first on PATH: its packages are there.
    return peer_process::start_program(
        {"/usr/bin/python3", std::string(OAUTH2CC_TEST_PEERS_DIR) + "/authlib/server.py",
         "--key-dir", key_dir},
        {});
}

}  // namespace oauth2cc_test
