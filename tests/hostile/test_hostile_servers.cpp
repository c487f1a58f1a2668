// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_hostile_servers.cpp: a token endpoint that misbehaves in every way we know of, as
// a table of behaviours, each with the typed outcome it must produce. An httplib server
// plays the ones that are well-formed HTTP, a raw socket server the ones that are not,
// and three TLS servers the bad certificates. Every behaviour must end in its outcome
// within a bounded time, with neither the secret nor the token in what() or the log.
// SPDX-License-Identifier: MIT

#include "../support/local_server.hpp"
#include "../support/peer_process.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/detail/text/form.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <sys/socket.h>

using namespace std::chrono_literals;
using oauth2cc::error_kind;
using oauth2cc_test::local_server;
using oauth2cc_test::raw_server;

namespace {

constexpr const char* hostile_secret = "Hx-S3cret/for+hostile=servers";
constexpr const char* hostile_token = "Tk-Hostile-4b1d9e";
constexpr const char* client_id = "hostile-client";
// connect_timeout + read_timeout: the deadline of a whole exchange.
constexpr auto connect_timeout = 500ms;
constexpr auto read_timeout = 1000ms;
// A failure must arrive by the deadline; the slack covers slow sanitizer builds.
constexpr auto time_bound = connect_timeout + read_timeout + 2500ms;

std::string token_json(const std::string& members) {
    return std::string(R"({"access_token":")") + hostile_token + "\"" +
           (members.empty() ? "" : "," + members) + "}";
}

std::string gzip(const std::string& data) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string http_date(std::time_t t) {
    std::tm utc{};
    gmtime_r(&t, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return text;
}

using handler = std::function<void(const httplib::Request&, httplib::Response&)>;
using raw_script = std::function<void(int fd, const raw_server&)>;

/// What a behaviour must lead to: a token (and what to check of it), or an error.
struct outcome {
    std::optional<error_kind> kind;  ///< empty: a token
    std::string oauth_error;
    int http_status = 0;
    std::optional<std::chrono::seconds> retry_after_at_least;
    std::function<void(const oauth2cc::token&)> check_token;
};

outcome fails(error_kind kind, int status = 0, std::string code = "") {
    outcome o;
    o.kind = kind;
    o.http_status = status;
    o.oauth_error = std::move(code);
    return o;
}

outcome succeeds(std::function<void(const oauth2cc::token&)> check = {}) {
    outcome o;
    o.check_token = std::move(check);
    return o;
}

enum class where { http, raw, tls_expired, tls_self_signed, tls_wrong_host, tls_to_plain };

struct behaviour {
    std::string name;
    where at = where::http;
    handler http;
    raw_script raw;
    outcome expected;
};

void reply(httplib::Response& res, int status, const std::string& body,
           const std::string& type = "application/json") {
    res.status = status;
    res.set_content(body, type.c_str());
}

handler json_reply(int status, std::string body) {
    return [status, body](const httplib::Request&, httplib::Response& res) {
        reply(res, status, body);
    };
}

// Writes a fixed reply, then closes the connection.
raw_script raw_reply(std::string bytes) {
    return [bytes](int fd, const raw_server&) {
        raw_server::read_request(fd);
        raw_server::write_all(fd, bytes);
    };
}

// Writes head, then one byte of filler every 50 ms until the client gives up.
raw_script raw_trickle(std::string head) {
    return [head](int fd, const raw_server& self) {
        raw_server::read_request(fd);
        if (!raw_server::write_all(fd, head)) return;
        for (int i = 0; i < 400 && !self.stopping(); ++i) {  // 20 s at most
            if (!raw_server::write_all(fd, "x")) return;
            std::this_thread::sleep_for(50ms);
        }
    };
}

std::vector<behaviour> behaviours() {
    const auto bad = [](const char* name, std::string body, int status = 200) {
        return behaviour{name,
                         where::http,
                         json_reply(status, std::move(body)),
                         {},
                         fails(error_kind::bad_response, status)};
    };
    std::vector<behaviour> b;
    // The body is not a token response.
    b.push_back(bad("malformed JSON", R"({"access_token":"Tk-Hostile-4b1d9e",)"));
    b.push_back(bad("a JSON array at top level", "[" + token_json("") + "]"));
    b.push_back(bad("a JSON number at top level", "3600"));
    b.push_back(bad("a JSON string at top level", "\"Tk-Hostile-4b1d9e\""));
    b.push_back(bad("an empty 200 body", ""));
    b.push_back({"an HTML 200 body",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) {
                     reply(res, 200, "<html>Tk-Hostile-4b1d9e</html>", "text/html");
                 },
                 {},
                 fails(error_kind::bad_response, 200)});
    b.push_back({"204 No Content",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) { res.status = 204; },
                 {},
                 fails(error_kind::bad_response, 204)});
    // access_token.
    b.push_back(bad("access_token missing", R"({"token_type":"Bearer","expires_in":60})"));
    b.push_back(bad("access_token empty", R"({"access_token":"","token_type":"Bearer"})"));
    b.push_back(bad("access_token a number", R"({"access_token":12345,"token_type":"Bearer"})"));
    b.push_back(
        bad("access_token holding CR LF",
            R"({"access_token":"Tk-Hostile-4b1d9e\r\nX-Injected: 1","token_type":"Bearer"})"));
    b.push_back(bad("access_token holding NUL",
                    R"({"access_token":"Tk-Hostile-4b1d9e\u0000tail","token_type":"Bearer"})"));
    b.push_back(
        {"access_token 10 MB long",
         where::http,
         json_reply(200, R"({"access_token":")" + std::string(10 * 1024 * 1024, 'T') + "\"}"),
         {},
         fails(error_kind::bad_response, 200)});
    b.push_back(bad("access_token in invalid UTF-8",
                    "{\"access_token\":\"Tk-Hostile-4b1d9e\xff\xfe\",\"token_type\":\"Bearer\"}"));
    // token_type.
    b.push_back({"token_type missing: taken as Bearer",
                 where::http,
                 json_reply(200, token_json("")),
                 {},
                 succeeds([](const oauth2cc::token& t) { CHECK(t.token_type == "Bearer"); })});
    b.push_back(bad("token_type mac", token_json(R"("token_type":"mac")")));
    b.push_back(bad("token_type a number", token_json(R"("token_type":1)")));
    // expires_in.
    b.push_back(bad("expires_in -1", token_json(R"("expires_in":-1)")));
    b.push_back(bad("expires_in \"abc\"", token_json(R"("expires_in":"abc")")));
    b.push_back({"expires_in 1e300: clamped to a year",
                 where::http,
                 json_reply(200, token_json(R"("expires_in":1e300)")),
                 {},
                 succeeds([](const oauth2cc::token& t) {
                     REQUIRE(t.expires_in.has_value());
                     CHECK(*t.expires_in == std::chrono::hours(24 * 365));
                 })});
    b.push_back({"expires_in \"3600.5\": 3600 s",
                 where::http,
                 json_reply(200, token_json(R"("expires_in":"3600.5")")),
                 {},
                 succeeds([](const oauth2cc::token& t) {
                     CHECK(t.expires_in == std::chrono::seconds(3600));
                 })});
    b.push_back(
        {"expires_in null: lifetime unknown",
         where::http,
         json_reply(200, token_json(R"("expires_in":null)")),
         {},
         succeeds([](const oauth2cc::token& t) { CHECK_FALSE(t.expires_in.has_value()); })});
    b.push_back(bad("expires_in true", token_json(R"("expires_in":true)")));
    // scope.
    b.push_back(bad("scope an array", token_json(R"("scope":["read_date"])")));
    b.push_back(bad("scope a number", token_json(R"("scope":7)")));
    // JSON that is legal but dangerous.
    b.push_back(bad("duplicate access_token members",
                    token_json(R"("access_token":"Tk-Other-token","token_type":"Bearer")")));
    b.push_back(bad("JSON nested 100,000 deep",
                    token_json(R"("x":)" + std::string(100000, '[') + std::string(100000, ']'))));
    // Error responses.
    b.push_back({"200 carrying error",
                 where::http,
                 json_reply(200, R"({"error":"invalid_scope","error_description":"no"})"),
                 {},
                 fails(error_kind::oauth, 200, "invalid_scope")});
    b.push_back({"400 with no body",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) { res.status = 400; },
                 {},
                 fails(error_kind::http_status, 400)});
    b.push_back({"401 with an HTML body",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) {
                     reply(res, 401, "<html><body>Login required</body></html>", "text/html");
                 },
                 {},
                 fails(error_kind::http_status, 401)});
    b.push_back({"401 invalid_client with a Basic challenge",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) {
                     res.set_header("WWW-Authenticate", R"(Basic realm="token")");
                     reply(res, 401, R"({"error":"invalid_client"})");
                 },
                 {},
                 fails(error_kind::oauth, 401, "invalid_client")});
    b.push_back({"400 echoing the secret and the Basic credentials",
                 where::http,
                 [](const httplib::Request& req, httplib::Response& res) {
                     const std::string echo = std::string("bad secret ") + hostile_secret + " in " +
                                              req.get_header_value("Authorization");
                     reply(res, 400,
                           nlohmann::json{{"error", "invalid_request"},
                                          {"error_description", echo},
                                          {"error_uri", echo}}
                               .dump());
                 },
                 {},
                 fails(error_kind::oauth, 400, "invalid_request")});
    b.push_back({"400 with error not a string",
                 where::http,
                 json_reply(400, R"({"error":42})"),
                 {},
                 fails(error_kind::oauth, 400, "invalid_response")});
    b.push_back({"400 in invalid UTF-8",
                 where::http,
                 json_reply(400, "{\"error\":\"invalid_request\xff\"}"),
                 {},
                 fails(error_kind::http_status, 400)});
    outcome slow = fails(error_kind::http_status, 429);
    slow.retry_after_at_least = 30s;
    b.push_back({"429 with Retry-After in seconds",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) {
                     res.set_header("Retry-After", "30");
                     reply(res, 429, "slow down", "text/plain");
                 },
                 {},
                 slow});
    slow.retry_after_at_least = 100s;  // the date is 120 s ahead when sent
    b.push_back({"429 with Retry-After as an HTTP-date",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) {
                     res.set_header("Retry-After", http_date(std::time(nullptr) + 120));
                     reply(res, 429, "slow down", "text/plain");
                 },
                 {},
                 slow});
    for (const int status : {500, 502, 503}) {
        b.push_back({"HTTP " + std::to_string(status),
                     where::http,
                     json_reply(status, "<h1>upstream trouble</h1>"),
                     {},
                     fails(error_kind::http_status, status)});
    }
    for (const int status : {301, 302, 307}) {
        b.push_back({"a " + std::to_string(status) + " redirect, never followed",
                     where::http,
                     [status](const httplib::Request&, httplib::Response& res) {
                         res.status = status;
                         res.set_header("Location", "/redirect-target");
                     },
                     {},
                     fails(error_kind::http_status, status)});
    }
    // Bodies and framing.
    b.push_back({"a gzip body",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) {
                     res.set_header("Content-Encoding", "gzip");
                     res.set_content(gzip(token_json(R"("token_type":"Bearer")")),
                                     "application/json");
                 },
                 {},
#ifdef CPPHTTPLIB_ZLIB_SUPPORT
                 succeeds()});  // httplib decompresses it
#else
                 fails(error_kind::bad_response, 200)});
#endif
    // Compressed here, before any server runs: compressing 64 MB in the handler took
    // about as long as the client's read timeout, which made the outcome a race.
    const std::string bomb = gzip(std::string(64 * 1024 * 1024, '0'));
    b.push_back({"a gzip bomb: 64 MB of zeros",
                 where::http,
                 [bomb](const httplib::Request&, httplib::Response& res) {
                     res.set_header("Content-Encoding", "gzip");
                     res.set_content(bomb, "application/json");
                 },
                 {},
#ifdef CPPHTTPLIB_ZLIB_SUPPORT
                 fails(error_kind::bad_response, 200)});  // the cap applies to what is inflated
#else
                 fails(error_kind::bad_response, 200)});
#endif
    b.push_back({"a chunked body past the size cap",
                 where::http,
                 [](const httplib::Request&, httplib::Response& res) {
                     res.set_chunked_content_provider(
                         "application/json", [](std::size_t offset, httplib::DataSink& sink) {
                             const std::string chunk(64 * 1024, ' ');
                             if (offset > 8 * 1024 * 1024) return false;
                             return sink.write(chunk.data(), chunk.size());
                         });
                 },
                 {},
                 fails(error_kind::bad_response, 200)});
    b.push_back({"a body that never ends",
                 where::raw,
                 {},
                 raw_trickle("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: 100000\r\n\r\n{\"access_token\":\""),
                 fails(error_kind::transport)});
    b.push_back({"headers that never end",
                 where::raw,
                 {},
                 raw_trickle("HTTP/1.1 200 OK\r\nX-Slow: "),
                 fails(error_kind::transport)});
    b.push_back({"a connection reset mid-body",
                 where::raw,
                 {},
                 [](int fd, const raw_server&) {
                     raw_server::read_request(fd);
                     raw_server::write_all(fd,
                                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                           "Content-Length: 5000\r\n\r\n{\"access_token\":\"Tk-Ho");
                     const linger reset{1, 0};  // close() then sends RST
                     ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
                 },
                 fails(error_kind::transport)});
    b.push_back({"the connection closed before any reply",
                 where::raw,
                 {},
                 [](int fd, const raw_server&) { raw_server::read_request(fd); },
                 fails(error_kind::transport)});
    b.push_back({"a status line that is not HTTP",
                 where::raw,
                 {},
                 raw_reply("HELLO THERE\r\n\r\n"),
                 fails(error_kind::transport)});
    b.push_back({"a header line of 100 KB",
                 where::raw,
                 {},
                 raw_reply("HTTP/1.1 200 OK\r\nX-Big: " + std::string(100 * 1024, 'a') +
                           "\r\nContent-Length: 2\r\n\r\n{}"),
                 fails(error_kind::transport)});
    b.push_back({"an HTTP/1.0 reply closed by the server",
                 where::raw,
                 {},
                 raw_reply("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" +
                           token_json(R"("token_type":"bearer","expires_in":60)")),
                 succeeds([](const oauth2cc::token& t) {
                     CHECK(t.expires_in == std::chrono::seconds(60));
                 })});
    b.push_back(
        {"a Content-Length shorter than the body",
         where::raw,
         {},
         raw_reply(
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n" +
             token_json("")),
         fails(error_kind::bad_response, 200)});
    // TLS.
    b.push_back({"a TLS handshake with a plain HTTP server",
                 where::tls_to_plain,
                 {},
                 {},
                 fails(error_kind::tls)});
    b.push_back({"an expired certificate", where::tls_expired, {}, {}, fails(error_kind::tls)});
    b.push_back(
        {"a self-signed certificate", where::tls_self_signed, {}, {}, fails(error_kind::tls)});
    b.push_back(
        {"a certificate for another host", where::tls_wrong_host, {}, {}, fails(error_kind::tls)});
    return b;
}

std::string path_of(const std::string& name) {
    std::string path = "/b/";
    for (const char c : name) {
        const bool plain =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        path += plain ? c : '-';
    }
    return path;
}

// What must never appear in any text the library produces.
std::vector<std::string> forbidden_texts() {
    const std::string basic = oauth2cc::detail::base64_encode(
        std::string(client_id) + ":" + oauth2cc::detail::form_encode(hostile_secret));
    return {hostile_secret, oauth2cc::detail::form_encode(hostile_secret), basic, hostile_token,
            "Tk-Hostile"};
}

// One behaviour: a token manager asks the server that plays it, and gets the outcome
// that the behaviour is due, in time, with no secret in any text it gives.
void check_behaviour(const behaviour& b, local_server& http, raw_server& raw,
                     local_server& expired_tls, local_server& self_signed_tls,
                     local_server& wrong_host_tls, const std::vector<std::string>& forbidden) {
    const auto& certs = oauth2cc_test::test_certificates();
    local_server* expired = &expired_tls;
    local_server* self_signed = &self_signed_tls;
    local_server* wrong_host = &wrong_host_tls;

    const std::string path = path_of(b.name);
    oauth2cc::client_config cfg;
    switch (b.at) {
        case where::http:
            cfg.token_endpoint = http.url() + path;
            break;
        case where::raw:
            cfg.token_endpoint = raw.url() + path;
            break;
        case where::tls_to_plain:
            cfg.token_endpoint = "https://127.0.0.1:" + std::to_string(raw.port()) + path;
            break;
        case where::tls_expired:
            cfg.token_endpoint = expired->url(true) + path;
            break;
        case where::tls_self_signed:
            cfg.token_endpoint = self_signed->url(true) + path;
            break;
        case where::tls_wrong_host:
            cfg.token_endpoint = wrong_host->url(true) + path;
            break;
    }
    cfg.client_id = client_id;
    cfg.client_secret = oauth2cc::secret{hostile_secret};
    cfg.connect_timeout = connect_timeout;
    cfg.read_timeout = read_timeout;
    cfg.tls.ca_file = certs.ca_cert;
    // Before the manager: its worker may log until it is destroyed.
    std::mutex log_mutex;
    std::condition_variable logged;
    std::vector<std::string> log;
    oauth2cc::token_manager manager(cfg);
    manager.set_logger([&](oauth2cc::log_level, std::string_view line) {
        std::lock_guard<std::mutex> lock(log_mutex);
        log.emplace_back(line);
        logged.notify_all();
    });

    const auto started = std::chrono::steady_clock::now();
    std::optional<oauth2cc::error> failure;
    std::shared_ptr<const oauth2cc::token> got;
    try {
        got = manager.get();
    } catch (const oauth2cc::error& e) {
        failure = e;
    }
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took < time_bound);

    const auto& want = b.expected;
    if (want.kind) {
        REQUIRE_MESSAGE(failure.has_value(), "a token came back where an error was due");
        const std::string what = failure->what();
        CAPTURE(what);
        CHECK(failure->kind() == *want.kind);
        CHECK(failure->oauth_error() == want.oauth_error);
        if (want.http_status != 0) CHECK(failure->http_status() == want.http_status);
        if (want.retry_after_at_least) {
            REQUIRE(failure->retry_after().has_value());
            CHECK(*failure->retry_after() >= *want.retry_after_at_least);
            CHECK(*failure->retry_after() <= 120s);
        }
    } else {
        if (failure) FAIL_CHECK("unexpected error: " << std::string(failure->what()));
        if (got && want.check_token) want.check_token(*got);
        if (got) CHECK(got->access_token.reveal() == hostile_token);
    }

    // The log line follows the outcome; wait for it, then search everything said.
    std::unique_lock<std::mutex> lock(log_mutex);
    REQUIRE(logged.wait_for(lock, 10s, [&] { return !log.empty(); }));
    std::string said = log.front();
    if (failure) {
        said += failure->what();
        said += failure->error_description();
        said += failure->error_uri();
    }
    for (const auto& secret_text : forbidden) {
        CAPTURE(secret_text);
        CHECK(said.find(secret_text) == std::string::npos);
    }
}

}  // namespace

TEST_SUITE("hostile") {

TEST_CASE(
    "hostile token endpoints: every behaviour ends in its typed outcome, quickly, leaking "
    "nothing") {
    const auto table = behaviours();
    std::map<std::string, const behaviour*> by_path;
    for (const auto& b : table) by_path[path_of(b.name)] = &b;
    REQUIRE(by_path.size() == table.size());  // no two behaviours share a path

    std::mutex m;
    std::map<std::string, int> hits;
    local_server http;
    http.server().Post(R"(/b/.*)", [&](const httplib::Request& req, httplib::Response& res) {
        {
            std::lock_guard<std::mutex> lock(m);
            ++hits[req.path];
        }
        by_path.at(req.path)->http(req, res);
    });
    const auto redirect_target = [&](const httplib::Request&, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(m);
        ++hits["/redirect-target"];
        reply(res, 200, token_json(""));
    };
    http.server().Get("/redirect-target", redirect_target);
    http.server().Post("/redirect-target", redirect_target);
    http.start();

    raw_server raw([&](int fd, const raw_server& self) {
        // The script is picked by the request line, which the scripts read themselves:
        // peek at it here.
        char line[512];
        const ssize_t n = ::recv(fd, line, sizeof line - 1, MSG_PEEK);
        if (n <= 0) return;
        const std::string request_line(line, static_cast<std::size_t>(n));
        const auto start = request_line.find(' ');
        const auto end = request_line.find(' ', start + 1);
        if (start == std::string::npos || end == std::string::npos) {
            // A TLS ClientHello: answer it with plain HTTP.
            raw_server::write_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        const auto it = by_path.find(request_line.substr(start + 1, end - start - 1));
        if (it != by_path.end() && it->second->raw) it->second->raw(fd, self);
    });

    const auto& certs = oauth2cc_test::test_certificates();
    const auto tls_server = [&](const std::string& cert, const std::string& key) {
        auto server = std::make_unique<local_server>(
            std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str()));
        server->server().Post(R"(/b/.*)", [](const httplib::Request&, httplib::Response& res) {
            reply(res, 200, token_json(""));  // a token, were the certificate believed
        });
        server->start();
        return server;
    };
    auto expired = tls_server(certs.expired_cert, certs.expired_key);
    auto self_signed = tls_server(certs.self_signed_cert, certs.self_signed_key);
    auto wrong_host = tls_server(certs.other_host_cert, certs.other_host_key);

    const auto forbidden = forbidden_texts();
    // Each behaviour is a subcase of its own, named after it: doctest runs the case once
    // per behaviour (the servers above are made anew each time) and names the one that
    // fails.
    for (const auto& b : table) {
        SUBCASE(b.name.c_str()) {
            check_behaviour(b, http, raw, *expired, *self_signed, *wrong_host, forbidden);
        }
    }
    // Redirects were never followed.
    CHECK(hits["/redirect-target"] == 0);
    CHECK(table.size() >= 40);
}

}  // TEST_SUITE("hostile")
