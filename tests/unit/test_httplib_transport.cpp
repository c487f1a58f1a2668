// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_httplib_transport.cpp: the default transport against servers on 127.0.0.1:
// exchange, keep-alive, no redirects, the size cap, the deadline, TLS and sharing.
// SPDX-License-Identifier: MIT

#include "../support/test_helpers.hpp"
#include "../support/local_server.hpp"
#include "../support/peer_process.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using oauth2cc::error;
using oauth2cc::error_kind;
using oauth2cc::http_request;
using oauth2cc::connection_options;
using oauth2cc::httplib_transport;
using oauth2cc_test::local_server;
using oauth2cc_test::raw_server;
using oauth2cc_test::closed_port;
using oauth2cc_test::thrown_by;

namespace {

connection_options quick_options() {
    connection_options o;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.read_timeout = std::chrono::milliseconds(3000);
    return o;
}

http_request get(const std::string& url) { return http_request{"GET", url, {}, ""}; }

// An HTTPS server with this certificate that answers GET / with body.
std::unique_ptr<httplib::SSLServer> secure_server(const std::string& cert, const std::string& key,
                                                  const std::string& body = "secure") {
    auto s = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    REQUIRE(s->is_valid());
    s->Get("/", [body](const httplib::Request&, httplib::Response& res) {
        res.set_content(body, "text/plain");
    });
    return s;
}

// Keeps a raw connection open, reading and discarding, until the client leaves or the
// server stops.
void hold_open(int fd, const raw_server& self) {
    char buf[512];
    while (!self.stopping()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) > 0 && ::recv(fd, buf, sizeof buf, 0) <= 0) return;
    }
}

// A TLS server that reads the ClientHello, then sends a handshake record announcing
// 16 KiB one byte at a time, each well inside every timeout of cpp-httplib's, for 10 s.
// Only the exchange's deadline ends the handshake sooner.
struct handshake_trickle {
    std::promise<bool> hung_up;  ///< true: the client left before the trickle was over
    std::atomic<bool> told{false};

    // The first connection's outcome; a later one (there should be none) is ignored.
    void tell(bool left) {
        if (!told.exchange(true)) hung_up.set_value(left);
    }
    void run(int fd, const raw_server& self) {
        char hello[4096];
        if (::recv(fd, hello, sizeof hello, 0) <= 0) return tell(true);
        const std::string record("\x16\x03\x03\x40\x00\x02", 6);
        for (int i = 0; i < 500 && !self.stopping(); ++i) {
            const std::string next = i < 6 ? record.substr(i, 1) : std::string(1, '\0');
            if (!raw_server::write_all(fd, next)) return tell(true);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        tell(false);
    }
    /// Waits for the server's side of the story.
    bool client_hung_up() { return hung_up.get_future().get(); }
    static std::string https_url(const raw_server& srv) {
        return "https://127.0.0.1:" + srv.url().substr(srv.url().rfind(':') + 1);
    }
};

}  // namespace

TEST_CASE("httplib_transport: sends method, headers and body, and returns the whole response") {
    local_server srv;
    std::string seen_method, seen_body, seen_type, seen_custom, seen_path;
    srv.server().Post("/echo", [&](const httplib::Request& req, httplib::Response& res) {
        seen_method = req.method;
        seen_path = req.path + "?" + req.get_param_value("q");
        seen_body = req.body;
        seen_type = req.get_header_value("Content-Type");
        seen_custom = req.get_header_value("X-Custom");
        res.status = 201;
        res.set_header("X-Reply", "yes");
        res.set_content(R"({"ok":true})", "application/json");
    });
    srv.start();

    httplib_transport t(quick_options());
    const auto res = t.send(
        http_request{"POST",
                     srv.url() + "/echo?q=1",
                     {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Custom", "a b"}},
                     "grant_type=client_credentials"});
    CHECK(res.status == 201);
    CHECK(res.body == R"({"ok":true})");
    CHECK(res.header("x-reply") == "yes");
    CHECK(res.header("content-type") == "application/json");
    CHECK(seen_method == "POST");
    CHECK(seen_path == "/echo?1");
    CHECK(seen_body == "grant_type=client_credentials");
    CHECK(seen_type == "application/x-www-form-urlencoded");
    CHECK(seen_custom == "a b");
}

TEST_CASE("httplib_transport: keeps one connection alive across requests") {
    local_server srv;
    std::mutex m;
    std::set<int> client_ports;
    srv.server().Get("/", [&](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(m);
        client_ports.insert(req.remote_port);
        res.set_content("ok", "text/plain");
    });
    srv.start();

    httplib_transport t(quick_options());
    for (int i = 0; i < 5; ++i) CHECK(t.send(get(srv.url() + "/")).status == 200);
    CHECK(client_ports.size() == 1);
}

TEST_CASE("httplib_transport: never follows a redirect") {
    local_server srv;
    std::atomic<int> target_hits{0};
    srv.server().Get(R"(/moved/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
        res.set_redirect("/target", std::stoi(req.matches[1]));
    });
    srv.server().Get("/target", [&](const httplib::Request&, httplib::Response& res) {
        ++target_hits;
        res.set_content("followed", "text/plain");
    });
    srv.start();

    httplib_transport t(quick_options());
    for (int status : {301, 302, 307}) {
        CAPTURE(status);
        const auto res = t.send(get(srv.url() + "/moved/" + std::to_string(status)));
        CHECK(res.status == status);
        CHECK(res.header("Location") == "/target");
    }
    CHECK(target_hits == 0);
}

TEST_CASE("httplib_transport: refuses a body over max_response_bytes") {
    local_server srv;
    srv.server().Get("/sized", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(1000, 'a'), "text/plain");
    });
    srv.server().Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
        // No Content-Length: the cap must hold while the body streams in.
        res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
            if (offset >= 100000) {
                sink.done();
                return true;
            }
            const std::string chunk(1000, 'b');
            return sink.write(chunk.data(), chunk.size());
        });
    });
    srv.start();

    auto options = quick_options();
    options.max_response_bytes = 1000;
    httplib_transport t(options);

    SUBCASE("a body of exactly the cap is accepted") {
        CHECK(t.send(get(srv.url() + "/sized")).body.size() == 1000);
    }
    SUBCASE("a Content-Length over the cap is refused before the body is read") {
        options.max_response_bytes = 999;
        httplib_transport small(options);
        const error e = thrown_by([&] { small.send(get(srv.url() + "/sized")); });
        CHECK(e.kind() == error_kind::bad_response);
        CHECK(e.http_status() == 200);
        CHECK(std::string(e.what()).find("max_response_bytes (999)") != std::string::npos);
    }
    SUBCASE("a chunked body is cut off at the cap") {
        const error e = thrown_by([&] { t.send(get(srv.url() + "/chunked")); });
        CHECK(e.kind() == error_kind::bad_response);
        CHECK(std::string(e.what()).find("max_response_bytes") != std::string::npos);
    }
    SUBCASE("the transport still works after a refused body") {
        CHECK(thrown_by([&] { t.send(get(srv.url() + "/chunked")); }).kind() ==
              error_kind::bad_response);
        CHECK(t.send(get(srv.url() + "/sized")).status == 200);
    }
}

TEST_CASE("httplib_transport: connect_timeout + read_timeout bound the whole exchange") {
    auto options = quick_options();
    options.connect_timeout = std::chrono::milliseconds(200);
    options.read_timeout = std::chrono::milliseconds(300);

    SUBCASE("headers that trickle and never end") {
        raw_server srv([](int fd, const raw_server& self) {
            raw_server::read_head(fd);
            if (!raw_server::write_all(fd, "HTTP/1.1 200 OK\r\n")) return;
            // One byte well inside every read timeout, forever: only the deadline ends it.
            while (!self.stopping() && raw_server::write_all(fd, "X")) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
        httplib_transport t(options);
        const error e = thrown_by([&] { t.send(get(srv.url() + "/")); });
        CHECK(e.kind() == error_kind::transport);
        CHECK(std::string(e.what()).find("within 500 ms") != std::string::npos);
    }
    SUBCASE("a body that trickles and never ends") {
        raw_server srv([](int fd, const raw_server& self) {
            raw_server::read_head(fd);
            if (!raw_server::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"))
                return;
            while (!self.stopping() && raw_server::write_all(fd, "{")) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
        httplib_transport t(options);
        const error e = thrown_by([&] { t.send(get(srv.url() + "/")); });
        CHECK(e.kind() == error_kind::transport);
        CHECK(std::string(e.what()).find("within 500 ms") != std::string::npos);
    }
    SUBCASE("a TLS handshake that trickles") {
        handshake_trickle trickle;
        raw_server srv([&](int fd, const raw_server& self) { trickle.run(fd, self); });
        httplib_transport t(options);
        const error e = thrown_by([&] { t.send(get(trickle.https_url(srv) + "/")); });
        CHECK(e.kind() == error_kind::transport);
        CHECK(std::string(e.what()).find("within 500 ms") != std::string::npos);
        // The client hung up at its deadline, long before the server's 10 s were over.
        CHECK(trickle.client_hung_up());
    }
    SUBCASE("an exchange stuck in its handshake delays no other on the same transport") {
        handshake_trickle trickle;
        raw_server stuck([&](int fd, const raw_server& self) { trickle.run(fd, self); });
        local_server healthy;
        healthy.server().Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("ok", "text/plain");
        });
        healthy.start();
        httplib_transport t(options);
        std::atomic<bool> stuck_done{false};
        std::string stuck_what;
        std::thread slow([&] {
            try {
                t.send(get(trickle.https_url(stuck) + "/"));
            } catch (const error& e) {
                stuck_what = e.what();
            }
            stuck_done = true;
        });
        // Calls to the healthy server for as long as the other is stuck, past its
        // deadline: each is answered.
        int answered = 0, failed = 0;
        for (int i = 0; i < 200000 && !stuck_done; ++i) {
            try {
                if (t.send(get(healthy.url() + "/")).body == "ok") ++answered;
            } catch (const error&) {
                ++failed;
            }
        }
        slow.join();
        CHECK(failed == 0);
        CHECK(answered > 0);
        CHECK(stuck_what.find("within 500 ms") != std::string::npos);
        CHECK(trickle.client_hung_up());
    }
    SUBCASE("a server that accepts and never answers") {
        raw_server srv([](int fd, const raw_server& self) { hold_open(fd, self); });
        httplib_transport t(options);
        const error e = thrown_by([&] { t.send(get(srv.url() + "/")); });
        CHECK(e.kind() == error_kind::transport);
    }
}

TEST_CASE("httplib_transport: a closed port fails with kind transport") {
    httplib_transport t(quick_options());
    const error e =
        thrown_by([&] { t.send(get("http://127.0.0.1:" + std::to_string(closed_port()) + "/")); });
    CHECK(e.kind() == error_kind::transport);
    CHECK(std::string(e.what()).find("could not connect") != std::string::npos);
}

TEST_CASE("httplib_transport: requests it cannot send safely are refused before sending") {
    raw_server srv([](int fd, const raw_server& self) { hold_open(fd, self); });
    httplib_transport t(quick_options());
    SUBCASE("CR or LF in a header value") {
        http_request r = get(srv.url() + "/");
        r.headers = {{"X-Injected", "a\r\nEvil: 1"}};
        const error e = thrown_by([&] { t.send(r); });
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("Evil") == std::string::npos);
    }
    SUBCASE("a malformed header name") {
        http_request r = get(srv.url() + "/");
        r.headers = {{"Bad Name", "v"}};
        CHECK(thrown_by([&] { t.send(r); }).kind() == error_kind::config);
    }
    SUBCASE("a URL with user info, which is not echoed") {
        const error e = thrown_by([&] { t.send(get("http://user:pw@127.0.0.1:1/")); });
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("pw") == std::string::npos);
    }
    SUBCASE("headers that frame the message are the transport's") {
        for (const char* name : {"Host", "Content-Length", "transfer-encoding", "Connection"}) {
            CAPTURE(name);
            http_request r = get(srv.url() + "/");
            r.headers = {{name, "5"}};
            CHECK(thrown_by([&] { t.send(r); }).kind() == error_kind::config);
        }
    }
    SUBCASE("a method with a space") {
        http_request r = get(srv.url() + "/");
        r.method = "GET /x";
        CHECK(thrown_by([&] { t.send(r); }).kind() == error_kind::config);
    }
    CHECK(srv.connections() == 0);
}

TEST_CASE("httplib_transport: is safe to share between threads") {
    local_server srv;
    srv.server().Get("/n", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content(req.get_param_value("i"), "text/plain");
    });
    srv.start();
    httplib_transport t(quick_options());
    constexpr int threads = 4, calls = 25;
    std::atomic<int> right{0};
    std::vector<std::thread> pool;
    for (int k = 0; k < threads; ++k) {
        pool.emplace_back([&, k] {
            for (int i = 0; i < calls; ++i) {
                const std::string n = std::to_string(k * 1000 + i);
                const auto res = t.send(get(srv.url() + "/n?i=" + n));
                if (res.status == 200 && res.body == n) ++right;
            }
        });
    }
    for (auto& th : pool) th.join();
    CHECK(right == threads * calls);
}

TEST_CASE("httplib_transport: HTTPS verifies the certificate chain and the host name") {
    const auto& certs = oauth2cc_test::test_certificates();
    auto options = quick_options();

    SUBCASE("trusted through ca_file") {
        local_server srv(secure_server(certs.server_cert, certs.server_key));
        srv.start();
        options.tls.ca_file = certs.ca_cert;
        CHECK(httplib_transport(options).send(get(srv.url(true) + "/")).body == "secure");
    }
    SUBCASE("trusted through a hashed ca_dir") {
        local_server srv(secure_server(certs.server_cert, certs.server_key));
        srv.start();
        const std::string dir = certs.dir + "/hashed";
        std::filesystem::create_directories(dir);
        FILE* f = std::fopen(certs.ca_cert.c_str(), "r");
        REQUIRE(f != nullptr);
        X509* ca = PEM_read_X509(f, nullptr, nullptr, nullptr);
        std::fclose(f);
        REQUIRE(ca != nullptr);
        char name[32];
        std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(ca));
        X509_free(ca);
        std::filesystem::copy_file(certs.ca_cert, dir + "/" + name,
                                   std::filesystem::copy_options::overwrite_existing);
        options.tls.ca_dir = dir;
        CHECK(httplib_transport(options).send(get(srv.url(true) + "/")).body == "secure");
        SUBCASE("and with an unrelated ca_file beside it") {
            options.tls.ca_file = certs.other_host_cert;
            CHECK(httplib_transport(options).send(get(srv.url(true) + "/")).body == "secure");
        }
    }
    SUBCASE("an unknown CA fails with kind tls") {
        local_server srv(secure_server(certs.server_cert, certs.server_key));
        srv.start();
        const error e = thrown_by([&] { httplib_transport(options).send(get(srv.url(true))); });
        CHECK(e.kind() == error_kind::tls);
    }
    SUBCASE("a certificate for another host fails with kind tls") {
        local_server srv(secure_server(certs.other_host_cert, certs.other_host_key));
        srv.start();
        options.tls.ca_file = certs.ca_cert;
        const error e = thrown_by([&] { httplib_transport(options).send(get(srv.url(true))); });
        CHECK(e.kind() == error_kind::tls);
    }
    SUBCASE("verify = false accepts what the caller chose to trust blindly") {
        local_server srv(secure_server(certs.other_host_cert, certs.other_host_key));
        srv.start();
        options.tls.verify = false;
        CHECK(httplib_transport(options).send(get(srv.url(true) + "/")).status == 200);
    }
}

TEST_CASE("httplib_transport: a TLS failure says which, and what to do") {
    const auto& certs = oauth2cc_test::test_certificates();
    auto options = quick_options();
    options.tls.ca_file = certs.ca_cert;
    const auto failure = [&](const std::string& cert, const std::string& key) {
        local_server srv(secure_server(cert, key));
        srv.start();
        const error e = thrown_by([&] { httplib_transport(options).send(get(srv.url(true))); });
        CHECK(e.kind() == error_kind::tls);
        const std::string what = e.what();
        // No cpp-httplib name for its errors.
        CHECK(what.find("SSLConnection") == std::string::npos);
        CHECK(what.find("SSLServerVerification") == std::string::npos);
        return what;
    };
    SUBCASE("an untrusted CA") {
        options.tls.ca_file = certs.other_host_cert;  // trusts no CA that signed the server's
        const std::string what = failure(certs.server_cert, certs.server_key);
        CHECK_MESSAGE(what.find("issued by a CA that is not trusted here") != std::string::npos,
                      what);
        CHECK(what.find("tls.ca_file (OAUTH2_CA_FILE, oauth2cc-cli --ca-file)") !=
              std::string::npos);
    }
    SUBCASE("a self-signed certificate") {
        const std::string what = failure(certs.self_signed_cert, certs.self_signed_key);
        CHECK_MESSAGE(what.find("self-signed") != std::string::npos, what);
        CHECK(what.find("--ca-file") != std::string::npos);
    }
    SUBCASE("an expired certificate") {
        const std::string what = failure(certs.expired_cert, certs.expired_key);
        CHECK_MESSAGE(what.find("has expired") != std::string::npos, what);
    }
    SUBCASE("a certificate for another host") {
        const std::string what = failure(certs.other_host_cert, certs.other_host_key);
        CHECK_MESSAGE(what.find("is not for 127.0.0.1") != std::string::npos, what);
    }
    SUBCASE("https:// to a port that speaks plain HTTP") {
        local_server plain;
        plain.server().Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("plain", "text/plain");
        });
        plain.start();
        const std::string url = "https://" + plain.url().substr(plain.url().find("://") + 3);
        const error e = thrown_by([&] { httplib_transport(options).send(get(url + "/")); });
        CHECK(e.kind() == error_kind::tls);
        CHECK_MESSAGE(std::string(e.what()).find("plain HTTP") != std::string::npos, e.what());
        CHECK(std::string(e.what()).find("http://") != std::string::npos);
    }
    SUBCASE("http:// to a port that speaks TLS") {
        local_server srv(secure_server(certs.server_cert, certs.server_key));
        srv.start();
        const std::string url = "http://" + srv.url(true).substr(srv.url(true).find("://") + 3);
        const error e = thrown_by([&] { httplib_transport(options).send(get(url + "/")); });
        CHECK(e.kind() == error_kind::transport);
        const std::string what = e.what();
        CHECK_MESSAGE(what.find("https://") != std::string::npos, what);
        CHECK(what.find("timed out") == std::string::npos);
    }
}

TEST_CASE("httplib_transport: mutual TLS presents the client certificate") {
    const auto& certs = oauth2cc_test::test_certificates();
    auto server = std::make_unique<httplib::SSLServer>(
        certs.server_cert.c_str(), certs.server_key.c_str(), certs.ca_cert.c_str());
    REQUIRE(server->is_valid());
    server->Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("mutual", "text/plain");
    });
    local_server srv(std::move(server));
    srv.start();

    auto options = quick_options();
    options.tls.ca_file = certs.ca_cert;
    SUBCASE("with the certificate and key") {
        options.tls.client_cert_file = certs.client_cert;
        options.tls.client_key_file = certs.client_key;
        CHECK(httplib_transport(options).send(get(srv.url(true) + "/")).body == "mutual");
    }
    SUBCASE("with the certificate, an intermediate after it, and the key, from memory") {
        options.tls.client_cert_pem =
            oauth2cc_test::read_file(certs.client_cert) + oauth2cc_test::read_file(certs.ca_cert);
        options.tls.client_key_pem = oauth2cc::secret{oauth2cc_test::read_file(certs.client_key)};
        httplib_transport transport(options);
        CHECK(transport.send(get(srv.url(true) + "/")).body == "mutual");
        CHECK(transport.send(get(srv.url(true) + "/")).body == "mutual");
    }
    SUBCASE("without them the server refuses the handshake") {
        const error e = thrown_by([&] { httplib_transport(options).send(get(srv.url(true))); });
        CHECK((e.kind() == error_kind::tls || e.kind() == error_kind::transport));
    }
}

TEST_CASE("httplib_transport: a client certificate replaced on disk is presented next") {
    const auto& certs = oauth2cc_test::test_certificates();
    auto server = std::make_unique<httplib::SSLServer>(
        certs.server_cert.c_str(), certs.server_key.c_str(), certs.ca_cert.c_str());
    REQUIRE(server->is_valid());
    // Answers with the subject of the certificate the connection presented.
    std::mutex m;
    std::set<int> client_ports;
    server->Get("/", [&](const httplib::Request& req, httplib::Response& res) {
        {
            std::lock_guard<std::mutex> lock(m);
            client_ports.insert(req.remote_port);
        }
        SSL* ssl = static_cast<SSL*>(const_cast<void*>(static_cast<const void*>(req.ssl)));
        X509* peer = ssl != nullptr ? SSL_get1_peer_certificate(ssl) : nullptr;
        char name[256] = {0};
        if (peer != nullptr) X509_NAME_oneline(X509_get_subject_name(peer), name, sizeof name);
        X509_free(peer);
        res.set_content(name, "text/plain");
    });
    local_server srv(std::move(server));
    srv.start();
    oauth2cc_test::temp_dir dir;
    const auto install = [&dir](const std::string& cert, const std::string& key) {
        // As a certificate manager does: new files renamed over the old ones.
        for (const auto& [from, to] : {std::pair<std::string, std::string>{cert, "cert.pem"},
                                       std::pair<std::string, std::string>{key, "key.pem"}}) {
            std::filesystem::copy_file(from, dir / (to + ".new"),
                                       std::filesystem::copy_options::overwrite_existing);
            std::filesystem::rename(dir / (to + ".new"), dir / to);
        }
    };
    install(certs.client_cert, certs.client_key);
    auto options = quick_options();
    options.tls.ca_file = certs.ca_cert;
    options.tls.client_cert_file = dir / "cert.pem";
    options.tls.client_key_file = dir / "key.pem";
    httplib_transport transport(options);
    CHECK(transport.send(get(srv.url(true) + "/")).body == "/CN=basic-client");
    CHECK(transport.send(get(srv.url(true) + "/")).body == "/CN=basic-client");
    CHECK(client_ports.size() == 1);  // kept alive
    install(certs.client_next_cert, certs.client_next_key);
    CHECK(transport.send(get(srv.url(true) + "/")).body == "/CN=basic-client-next");
    CHECK(transport.send(get(srv.url(true) + "/")).body == "/CN=basic-client-next");
    CHECK(client_ports.size() == 2);  // one new connection, kept alive in turn
}

namespace {

// Counts OpenSSL's prompts for a passphrase: its default PEM callback asks through the
// default UI method, which this replaces for as long as it lives.
class passphrase_prompts {
public:
    passphrase_prompts()
        : method_(UI_create_method("oauth2cc test: no terminal")),
          previous_(UI_get_default_method()) {
        UI_method_set_reader(method_, [](UI*, UI_STRING*) {
            ++asked();
            return 0;  // nothing to read: the prompt fails
        });
        UI_set_default_method(method_);
        asked() = 0;
    }
    ~passphrase_prompts() {
        UI_set_default_method(previous_);
        UI_destroy_method(method_);
    }
    passphrase_prompts(const passphrase_prompts&) = delete;
    passphrase_prompts& operator=(const passphrase_prompts&) = delete;
    static int& asked() {
        static int count = 0;
        return count;
    }

private:
    UI_METHOD* method_;
    const UI_METHOD* previous_;
};

std::string encrypted_pem(const std::string& key_text) {
    BIO* in = BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    REQUIRE(key != nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    static char passphrase[] = "passphrase";
    REQUIRE(PEM_write_bio_PrivateKey(out, key, EVP_aes_256_cbc(),
                                     reinterpret_cast<unsigned char*>(passphrase), 10, nullptr,
                                     nullptr) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    std::string encrypted(data, static_cast<std::size_t>(n));
    BIO_free(out);
    EVP_PKEY_free(key);
    return encrypted;
}

}  // namespace

TEST_CASE("httplib_transport: TLS files that cannot be loaded are config errors") {
    const auto& certs = oauth2cc_test::test_certificates();
    connection_options options;
    SUBCASE("ca_file") {
        options.tls.ca_file = certs.dir + "/missing.pem";
        const error e = thrown_by([&] { httplib_transport{options}; });
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("tls.ca_file") != std::string::npos);
    }
    SUBCASE("ca_dir") {
        options.tls.ca_dir = certs.dir + "/missing-dir";
        CHECK(thrown_by([&] { httplib_transport{options}; }).kind() == error_kind::config);
    }
    SUBCASE("a key that does not match the certificate") {
        options.tls.client_cert_file = certs.client_cert;
        options.tls.client_key_file = certs.server_key;
        const error e = thrown_by([&] { httplib_transport{options}; });
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("does not match") != std::string::npos);
    }
    SUBCASE("a certificate without its key") {
        options.tls.client_cert_file = certs.client_cert;
        CHECK(thrown_by([&] { httplib_transport{options}; }).kind() == error_kind::config);
    }
    SUBCASE("PEM text: each refusal names the field, and no key text appears") {
        const std::string key_text = oauth2cc_test::read_file(certs.client_key);
        const std::string key_body = key_text.substr(key_text.find('\n') + 1, 40);
        const auto refusal = [&](const std::string& cert, const std::string& key) {
            options.tls.client_cert_pem = cert;
            options.tls.client_key_pem = oauth2cc::secret{key};
            const error e = thrown_by([&] { httplib_transport{options}; });
            CHECK(e.kind() == error_kind::config);
            const std::string what = e.what();
            CHECK(what.find(key_body) == std::string::npos);
            CHECK(what.find("PRIVATE KEY") == std::string::npos);
            return what;
        };
        const std::string cert = oauth2cc_test::read_file(certs.client_cert);
        CHECK(refusal(cert, oauth2cc_test::read_file(certs.server_key)).find("does not match") !=
              std::string::npos);
        CHECK(refusal("not a certificate", key_text).find("tls.client_cert_pem") !=
              std::string::npos);
        CHECK(refusal(cert, key_text.substr(0, key_text.size() / 2)).find("tls.client_key_pem") !=
              std::string::npos);
        CHECK(refusal(cert, "").find("go together") != std::string::npos);

        // An encrypted key is refused, not prompted for (there is no terminal to ask on).
        const passphrase_prompts prompts;
        const std::string encrypted = encrypted_pem(key_text);
        REQUIRE(encrypted.find("ENCRYPTED") != std::string::npos);
        CHECK(refusal(cert, encrypted).find("unencrypted") != std::string::npos);
        CHECK(passphrase_prompts::asked() == 0);

        options.tls.client_cert_file = certs.client_cert;
        options.tls.client_key_file = certs.client_key;
        CHECK(refusal(cert, key_text).find("once") != std::string::npos);
    }
    SUBCASE("non-positive timeouts and a zero cap") {
        options.read_timeout = std::chrono::milliseconds(0);
        CHECK(thrown_by([&] { httplib_transport{options}; }).kind() == error_kind::config);
        options = connection_options{};
        options.max_response_bytes = 0;
        CHECK(thrown_by([&] { httplib_transport{options}; }).kind() == error_kind::config);
    }
}

TEST_CASE(
    "httplib_transport: a client key file rotated to an encrypted key is refused, never "
    "prompted for") {
    const auto& certs = oauth2cc_test::test_certificates();
    oauth2cc_test::temp_dir tmp;
    const std::string key_file = tmp / "client.key";
    const std::string key_text = oauth2cc_test::read_file(certs.client_key);
    std::ofstream(key_file) << key_text;
    auto options = quick_options();
    options.tls.ca_file = certs.ca_cert;
    options.tls.client_cert_file = certs.client_cert;
    options.tls.client_key_file = key_file;
    httplib_transport transport(options);  // the files are good now

    // The key is rotated to an encrypted one; the next connection reads it.
    std::ofstream(key_file, std::ios::trunc) << encrypted_pem(key_text);
    const passphrase_prompts prompts;
    const error e = thrown_by([&] { transport.send(get("https://127.0.0.1:9/")); });
    CHECK(e.kind() == error_kind::tls);
    CHECK(std::string(e.what()).find("unencrypted") != std::string::npos);
    CHECK(passphrase_prompts::asked() == 0);
    // A token endpoint's up-front check, and the certificate thumbprint of the cache key,
    // read through the same callback.
    CHECK(thrown_by([&] { httplib_transport{options}; }).kind() == error_kind::config);
    CHECK(passphrase_prompts::asked() == 0);
}

TEST_CASE("httplib_transport: the request target arrives as it was written") {
    local_server srv;
    std::string q, p, path;
    srv.server().Get(R"(/t/.*)", [&](const httplib::Request& req, httplib::Response& res) {
        q = req.get_param_value("q");
        p = req.get_param_value("p");
        path = req.path;
        res.set_content("ok", "text/plain");
    });
    srv.start();
    httplib_transport t(quick_options());
    // %20 and + are spaces to a form decoder, %2B a plus sign: none is re-encoded.
    CHECK(t.send(get(srv.url() + "/t/x?q=a%20b%2Bc&p=x+y")).status == 200);
    CHECK(q == "a b+c");
    CHECK(p == "x y");
    const auto with_query = oauth2cc::with_query("/t/y", {{"q", "a b+c/d"}});
    CHECK(t.send(get(srv.url() + with_query)).status == 200);
    CHECK(q == "a b+c/d");
    // Bytes that may not stand in a target are escaped, nothing else.
    CHECK(t.send(get(srv.url() + "/t/caf\xc3\xa9")).status == 200);
    CHECK(path == "/t/caf\xc3\xa9");
}

TEST_CASE("httplib_transport: IPv6 literals of every spelling are reached") {
    local_server srv;
    std::string host;
    srv.server().Get("/", [&](const httplib::Request& req, httplib::Response& res) {
        host = req.get_header_value("Host");
        res.set_content("ok", "text/plain");
    });
    srv.start();
    const std::string port = srv.url().substr(srv.url().rfind(':') + 1);
    httplib_transport t(quick_options());
    // IPv4-mapped addresses of 127.0.0.1: hex letters, and dots.
    for (const char* literal : {"::ffff:7f00:1", "::ffff:127.0.0.1", "::FFFF:7F00:0001"}) {
        CAPTURE(literal);
        const auto res = t.send(get("http://[" + std::string(literal) + "]:" + port + "/"));
        CHECK(res.body == "ok");
        CHECK(host == "[" + std::string(literal) + "]:" + port);
    }
}

TEST_CASE("httplib_transport: HTTPS to an IP address needs a certificate that names it") {
    const auto& certs = oauth2cc_test::test_certificates();
    auto options = quick_options();
    options.tls.ca_file = certs.ca_cert;
    SUBCASE("an iPAddress SAN of exactly its bytes") {
        local_server srv(secure_server(certs.server_cert, certs.server_key));
        srv.start();
        CHECK(httplib_transport(options).send(get(srv.url(true) + "/")).body == "secure");
    }
    SUBCASE("only a CN, as openssl verify -verify_ip refuses") {
        local_server srv(secure_server(certs.cn_only_cert, certs.cn_only_key));
        srv.start();
        const error e = thrown_by([&] { httplib_transport(options).send(get(srv.url(true))); });
        CHECK(e.kind() == error_kind::tls);
    }
    SUBCASE("only an IPv6 SAN whose first bytes are the address") {
        local_server srv(secure_server(certs.ipv6_prefix_cert, certs.ipv6_prefix_key));
        srv.start();
        const error e = thrown_by([&] { httplib_transport(options).send(get(srv.url(true))); });
        CHECK(e.kind() == error_kind::tls);
    }
    SUBCASE("by name: localhost is in the server's SAN, other-host.invalid's is not") {
        local_server srv(secure_server(certs.server_cert, certs.server_key));
        srv.start();
        const std::string port = srv.url().substr(srv.url().rfind(':') + 1);
        CHECK(httplib_transport(options).send(get("https://localhost:" + port + "/")).status ==
              200);
    }
}

namespace {

// A forward proxy on 127.0.0.1 for one connection at a time: it records each request head,
// tunnels a CONNECT to its target, and answers a plain request itself with `answer`.
struct test_proxy {
    std::mutex m;
    std::vector<std::string> heads;
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nproxy";

    void run(int fd, const raw_server& self) {
        const std::string head = raw_server::read_head(fd);
        {
            std::lock_guard<std::mutex> lock(m);
            heads.push_back(head.substr(0, head.find("\r\n\r\n")));
        }
        if (head.rfind("CONNECT ", 0) != 0) {
            raw_server::write_all(fd, answer);
            return;
        }
        const std::string target = head.substr(8, head.find(' ', 8) - 8);
        const int port = std::stoi(target.substr(target.rfind(':') + 1));
        const int out = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(out, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            !raw_server::write_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n")) {
            ::close(out);
            return;
        }
        char buf[16384];
        while (!self.stopping()) {
            pollfd p[2] = {{fd, POLLIN, 0}, {out, POLLIN, 0}};
            if (::poll(p, 2, 50) <= 0) continue;
            bool open = true;
            for (int i = 0; i < 2 && open; ++i) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
                open = n > 0 &&
                       raw_server::write_all(i == 0 ? out : fd,
                                             std::string_view(buf, static_cast<std::size_t>(n)));
            }
            if (!open) break;
        }
        ::close(out);
    }
    std::vector<std::string> seen() {
        std::lock_guard<std::mutex> lock(m);
        return heads;
    }
};

}  // namespace

TEST_CASE("httplib_transport: through an HTTP proxy") {
    test_proxy proxy;
    raw_server proxy_server([&](int fd, const raw_server& self) { proxy.run(fd, self); });
    auto options = quick_options();
    SUBCASE("https:// by CONNECT, the certificate still checked against the target") {
        const auto& certs = oauth2cc_test::test_certificates();
        local_server srv(secure_server(certs.server_cert, certs.server_key, "through"));
        srv.start();
        options.tls.ca_file = certs.ca_cert;
        options.proxy = "http://proxy-user:p%40ss@" + proxy_server.url().substr(7);
        CHECK(httplib_transport(options).send(get(srv.url(true) + "/")).body == "through");
        const auto heads = proxy.seen();
        REQUIRE(heads.size() == 1);
        const std::string port = srv.url().substr(srv.url().rfind(':') + 1);
        CHECK(heads[0].rfind("CONNECT 127.0.0.1:" + port + " HTTP/1.1", 0) == 0);
        // proxy-user:p@ss, percent-decoded from the URL, in Basic.
        CHECK(heads[0].find("Proxy-Authorization: Basic cHJveHktdXNlcjpwQHNz") !=
              std::string::npos);
    }
    SUBCASE("http:// in absolute form, answered by the proxy") {
        options.proxy = proxy_server.url();  // no credentials
        const auto res = httplib_transport(options).send(get("http://127.0.0.1:9/t?q=1"));
        CHECK(res.body == "proxy");
        const auto heads = proxy.seen();
        REQUIRE(heads.size() == 1);
        CHECK(heads[0].rfind("GET http://127.0.0.1:9/t?q=1 HTTP/1.1", 0) == 0);
        CHECK(heads[0].find("Proxy-Authorization") == std::string::npos);
    }
    SUBCASE("a proxy URL that cannot be used is a config error that does not echo it") {
        for (const char* bad : {"https://u:hunter2@proxy:3128", "socks5://u:hunter2@proxy:1080",
                                "http://u:hunter2@proxy:3128/path", "http://u:hunter2@:3128"}) {
            const std::string url = bad;
            CAPTURE(url);
            options.proxy = url;
            const error e = thrown_by([&] { httplib_transport t(options); });
            CHECK(e.kind() == error_kind::config);
            CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
        }
    }
}

TEST_CASE("proxy_from_environment: the proxy curl would use") {
    struct saved_env {
        std::vector<std::pair<std::string, std::optional<std::string>>> saved;
        explicit saved_env(std::initializer_list<const char*> names) {
            for (const char* n : names) {
                const char* v = std::getenv(n);
                saved.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
                ::unsetenv(n);
            }
        }
        ~saved_env() {
            for (const auto& [n, v] : saved) {
                if (v) {
                    ::setenv(n.c_str(), v->c_str(), 1);
                } else {
                    ::unsetenv(n.c_str());
                }
            }
        }
    } guard{"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
            "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
    using oauth2cc::proxy_from_environment;
    CHECK(proxy_from_environment("https://auth.example.com/t").empty());
    ::setenv("HTTPS_PROXY", "http://upper:3128", 1);
    CHECK(proxy_from_environment("https://auth.example.com/t") == "http://upper:3128");
    ::setenv("https_proxy", "http://lower:3128", 1);
    CHECK(proxy_from_environment("https://auth.example.com/t") == "http://lower:3128");
    // HTTP_PROXY in upper case is not read, as curl does not (httpoxy).
    ::setenv("HTTP_PROXY", "http://from-a-cgi-header:1", 1);
    CHECK(proxy_from_environment("http://api.example.com/").empty());
    ::setenv("http_proxy", "http://plain:8080", 1);
    CHECK(proxy_from_environment("http://api.example.com/") == "http://plain:8080");
    ::setenv("ALL_PROXY", "http://all:1", 1);
    ::unsetenv("https_proxy");
    ::unsetenv("HTTPS_PROXY");
    CHECK(proxy_from_environment("https://auth.example.com/t") == "http://all:1");
    ::setenv("https_proxy", "http://lower:3128", 1);
    SUBCASE("NO_PROXY") {
        ::setenv("NO_PROXY", "localhost, .internal.example ,example.org,10.0.0.0/8,::1,[fd00::]/8",
                 1);
        for (const char* direct :
             {"https://localhost/", "https://a.internal.example/", "https://internal.example/",
              "https://example.org/", "https://x.EXAMPLE.org/", "https://10.1.2.3/",
              "https://[::1]:8443/", "https://[fd12::1]/"}) {
            const std::string url = direct;
            CAPTURE(url);
            CHECK(proxy_from_environment(url).empty());
        }
        for (const char* proxied :
             {"https://auth.example.com/", "https://notexample.org/", "https://11.0.0.1/",
              "https://example.org.evil.com/", "https://[fe80::1]/"}) {
            const std::string url = proxied;
            CAPTURE(url);
            CHECK(proxy_from_environment(url) == "http://lower:3128");
        }
        ::setenv("no_proxy", "*", 1);  // lower case first, as curl reads it
        CHECK(proxy_from_environment("https://auth.example.com/").empty());
    }
}

TEST_CASE(
    "connection_options: one check, the same for the token request, the transport and the API "
    "client") {
    using oauth2cc::connection_options;
    struct bad_case {
        const char* name;
        std::function<void(connection_options&)> spoil;
        const char* says;
    };
    const std::vector<bad_case> cases = {
        {"zero connect timeout", [](connection_options& o) { o.connect_timeout = {}; },
         "connect_timeout"},
        {"read timeout over a day",
         [](connection_options& o) { o.read_timeout = std::chrono::hours(25); }, "read_timeout"},
        {"no room for a response", [](connection_options& o) { o.max_response_bytes = 0; },
         "max_response_bytes"},
        {"a user agent that splits headers",
         [](connection_options& o) { o.user_agent = "a\r\nX-Evil: 1"; }, "user_agent"},
        {"a certificate without its key",
         [](connection_options& o) { o.tls.client_cert_file = "cert.pem"; }, "client_key_file"},
        {"a PEM certificate without its key",
         [](connection_options& o) { o.tls.client_cert_pem = "x"; }, "client_key_pem"},
        {"a certificate twice",
         [](connection_options& o) {
             o.tls.client_cert_file = "cert.pem";
             o.tls.client_key_file = "key.pem";
             o.tls.client_cert_pem = "x";
             o.tls.client_key_pem = oauth2cc::secret{"y"};
         },
         "once"},
        {"a proxy that is not http://",
         [](connection_options& o) { o.proxy = "socks5://user:pw@127.0.0.1:1"; }, "proxy"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        oauth2cc::client_config cfg;
        cfg.token_endpoint = "https://auth.example.com/token";
        cfg.client_id = "id";
        cfg.client_secret = oauth2cc::secret{"s"};
        c.spoil(cfg);
        int sent = 0;
        struct counting : oauth2cc::transport {
            int* sent;
            explicit counting(int* n) : sent(n) {}
            oauth2cc::http_response send(const http_request&) override {
                ++*sent;
                return {500, {}, ""};
            }
        } via{&sent};
        const error by_request = thrown_by([&] { oauth2cc::request_token(cfg, via); });
        CHECK(by_request.kind() == error_kind::config);
        CHECK(std::string(by_request.what()).find(c.says) != std::string::npos);
        CHECK(sent == 0);

        connection_options t;
        c.spoil(t);
        const error by_transport = thrown_by([&] { httplib_transport{t}; });
        CHECK(by_transport.kind() == error_kind::config);
        CHECK(std::string(by_transport.what()).find(c.says) != std::string::npos);

        oauth2cc::client_config good = cfg;
        static_cast<connection_options&>(good) = connection_options{};
        oauth2cc::token_manager tokens(good, {}, std::make_shared<counting>(&sent));
        oauth2cc::client_options api;
        c.spoil(api);
        const error by_client = thrown_by([&] {
            oauth2cc::authorized_client{"https://api.example.com", tokens, api,
                                        std::make_shared<counting>(&sent)};
        });
        CHECK(by_client.kind() == error_kind::config);
        CHECK(std::string(by_client.what()).find(c.says) != std::string::npos);
        // The proxy URL may hold a password: it is never echoed.
        CHECK(std::string(by_request.what()).find("pw@") == std::string::npos);
        CHECK(std::string(by_client.what()).find("pw@") == std::string::npos);
    }
    // The API client's own defaults: room for larger responses, more idle connections.
    const oauth2cc::client_options api;
    CHECK(api.max_response_bytes == 16u * 1024 * 1024);
    CHECK(api.max_idle_connections == 8u);
    CHECK(connection_options{}.max_response_bytes == OAUTH2CC_DEFAULT_MAX_RESPONSE_BYTES);
}
