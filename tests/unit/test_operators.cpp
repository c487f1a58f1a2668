// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_operators.cpp: what operators need. A client configuration from the environment, a
// JSON file and settings by name (one parser, errors that name the setting and never a
// secret); the client secret file: read when first needed, taken up again when replaced,
// read again after `invalid_client` with exactly one retry, counted and logged, never
// shown; revocation (RFC 7009) of one token and of a manager's; traceparent and spans.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"
#include "../support/jwt_check.hpp"
#include "../support/recording_observer.hpp"
#include "../support/store_fakes.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/detail/crypto/jose.hpp>
#include <oauth2cc/detail/oauth/cache_key.hpp>
#include <oauth2cc/file_token_store.hpp>
#include <oauth2cc/prometheus.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc::grant_type;
using oauth2cc_test::fake_transport;
using oauth2cc_test::temp_dir;
using oauth2cc_test::thrown_by;

namespace {

const char* prefix = "OAUTH2CC_TEST_CFG_";

// Sets variables of the test prefix for one scope, and unsets every setting's variable
// before and after, so that no test sees another's.
class scoped_environment {
public:
    explicit scoped_environment(const std::map<std::string, std::string>& values) {
        clear();
        for (const auto& [name, value] : values)
            ::setenv((prefix + name).c_str(), value.c_str(), 1);
    }
    ~scoped_environment() { clear(); }
    scoped_environment(const scoped_environment&) = delete;
    scoped_environment& operator=(const scoped_environment&) = delete;

private:
    static void clear() {
        for (const char* name : {"TOKEN_URL",
                                 "ISSUER",
                                 "CLIENT_ID",
                                 "CLIENT_SECRET",
                                 "CLIENT_SECRET_FILE",
                                 "AUTH_METHOD",
                                 "SCOPE",
                                 "CLIENT_KEY_FILE",
                                 "CLIENT_KEY_ID",
                                 "CLIENT_KEY_ALG",
                                 "CLIENT_ASSERTION_FILE",
                                 "ASSERTION_AUDIENCE",
                                 "CLIENT_CERT_FILE",
                                 "CLIENT_CERT_KEY_FILE",
                                 "DPOP",
                                 "DPOP_KEY_FILE",
                                 "AUDIENCE",
                                 "RESOURCE",
                                 "CA_FILE",
                                 "REVOCATION_URL",
                                 "GRANT",
                                 "SUBJECT_TOKEN_FILE",
                                 "SUBJECT_TOKEN_TYPE",
                                 "ACTOR_TOKEN_FILE",
                                 "ACTOR_TOKEN_TYPE",
                                 "REQUESTED_TOKEN_TYPE",
                                 "ASSERTION_FILE",
                                 "GRANT_KEY_FILE",
                                 "GRANT_KEY_ID",
                                 "ASSERTION_SUBJECT",
                                 "UNRELATED"}) {
            ::unsetenv((std::string(prefix) + name).c_str());
        }
    }
};

client_config from_environment(const std::map<std::string, std::string>& values) {
    const scoped_environment env(values);
    return oauth2cc::config_from_environment(prefix);
}

// The config_error config_from_environment() throws for values.
oauth2cc::error environment_error(const std::map<std::string, std::string>& values) {
    const scoped_environment env(values);
    return thrown_by([] { oauth2cc::config_from_environment(prefix); });
}

void write(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    REQUIRE(out.good());
}

// Writes text to a new file and renames it over path, as secret rotation tools do.
void replace(const std::string& path, const std::string& text) {
    write(path + ".new", text);
    REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
}

// A new P-256 key, written to path as PEM.
void write_key(const std::string& path) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
    REQUIRE(key != nullptr);
    std::unique_ptr<FILE, decltype(&std::fclose)> out(std::fopen(path.c_str(), "w"), std::fclose);
    REQUIRE(out != nullptr);
    REQUIRE(PEM_write_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
}

const char* token_body = R"({"access_token":"tok-1","token_type":"Bearer","expires_in":3600})";

// A client of id "c" whose secret is in dir's file "secret", which holds text.
client_config secret_file_client(const temp_dir& dir, const std::string& text) {
    write(dir / "secret", text);
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.client_secret_file = dir / "secret";
    return cfg;
}

// The secret of a request's Basic header (the form-encoded id and secret).
std::string basic_secret(const oauth2cc::http_request& req) {
    const std::string header = oauth2cc_test::header_of(req, "Authorization");
    REQUIRE(header.rfind("Basic ", 0) == 0);
    std::string decoded(header.size(), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                  reinterpret_cast<const unsigned char*>(header.data() + 6),
                                  static_cast<int>(header.size() - 6));
    REQUIRE(n > 0);
    decoded.resize(static_cast<std::size_t>(n));
    while (!decoded.empty() && decoded.back() == '\0') decoded.pop_back();
    return decoded.substr(decoded.find(':') + 1);
}

// A token endpoint that takes one secret at a time (Basic), and answers any other with
// 401 invalid_client; before answering, it may run what the test wants done meanwhile.
class secret_checking_endpoint : public oauth2cc::transport {
public:
    explicit secret_checking_endpoint(std::string accepted) : accepted_(std::move(accepted)) {}

    oauth2cc::http_response send(const oauth2cc::http_request& req) override {
        std::function<void()> meanwhile;
        std::string accepted;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            sent_.push_back(basic_secret(req));
            meanwhile = std::move(meanwhile_);
            meanwhile_ = nullptr;
            accepted = accepted_;
        }
        if (meanwhile) meanwhile();
        if (sent_.back() != accepted) {
            return {401,
                    {{"Content-Type", "application/json"}, {"WWW-Authenticate", "Basic"}},
                    R"({"error":"invalid_client"})"};
        }
        return {200, {{"Content-Type", "application/json"}}, token_body};
    }

    void accept(std::string secret) {
        const std::lock_guard<std::mutex> lock(mutex_);
        accepted_ = std::move(secret);
    }
    // Runs f within the next request, after it was sent and before it is answered.
    void during_next(std::function<void()> f) {
        const std::lock_guard<std::mutex> lock(mutex_);
        meanwhile_ = std::move(f);
    }
    std::vector<std::string> sent() {
        const std::lock_guard<std::mutex> lock(mutex_);
        return sent_;
    }

private:
    std::mutex mutex_;
    std::string accepted_;
    std::vector<std::string> sent_;
    std::function<void()> meanwhile_;
};

}  // namespace

TEST_SUITE("config_sources") {
TEST_CASE("config_from_environment reads every setting under its prefix") {
    temp_dir dir;
    write(dir / "ca.pem", "not checked here");
    const client_config cfg = from_environment({{"TOKEN_URL", "https://as.example/token"},
                                                {"CLIENT_ID", "reports"},
                                                {"CLIENT_SECRET", "s3cr3t"},
                                                {"SCOPE", " read  write "},
                                                {"AUDIENCE", "https://api.example"},
                                                {"RESOURCE", "https://a.example https://b.example"},
                                                {"CA_FILE", dir / "ca.pem"},
                                                {"REVOCATION_URL", "https://as.example/revoke"},
                                                {"UNRELATED", "ignored"}});
    CHECK(cfg.token_endpoint == "https://as.example/token");
    CHECK(cfg.client_id == "reports");
    CHECK(cfg.client_secret.reveal() == "s3cr3t");
    CHECK(cfg.auth == auth_method::client_secret_basic);
    CHECK(cfg.scopes == std::vector<std::string>{"read", "write"});
    CHECK(cfg.audience == "https://api.example");
    CHECK(cfg.resources == std::vector<std::string>{"https://a.example", "https://b.example"});
    CHECK(cfg.tls.ca_file == dir / "ca.pem");
    CHECK(cfg.revocation_endpoint == "https://as.example/revoke");
    CHECK(cfg.grant == grant_type::client_credentials);
    // The default prefix is OAUTH2_: a variable of another prefix means nothing to it.
    ::setenv("OAUTH2CC_TEST_CFG_TOKEN_URL", "https://as.example/token", 1);
    const auto e = thrown_by([] { oauth2cc::config_from_environment("OAUTH2CC_NONE_"); });
    ::unsetenv("OAUTH2CC_TEST_CFG_TOKEN_URL");
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("OAUTH2CC_NONE_TOKEN_URL") != std::string::npos);
}

TEST_CASE("a file and the environment give the same configuration") {
    temp_dir dir;
    write(dir / "secret", "s3cr3t\n");
    write(dir / "settings.json", R"({"token_url": "https://as.example/token",
            "client_id": "reports", "client_secret_file": ")" +
                                     (dir / "secret") + R"(",
            "auth_method": "post", "scope": "read write", "audience": ""})");
    const client_config from_file = oauth2cc::config_from_file(dir / "settings.json");
    const client_config from_env = from_environment({{"TOKEN_URL", "https://as.example/token"},
                                                     {"CLIENT_ID", "reports"},
                                                     {"CLIENT_SECRET_FILE", dir / "secret"},
                                                     {"AUTH_METHOD", "client_secret_post"},
                                                     {"SCOPE", "read write"}});
    const client_config from_settings =
        oauth2cc::config_from_settings({{"token_url", "https://as.example/token"},
                                        {"client_id", "reports"},
                                        {"client_secret_file", dir / "secret"},
                                        {"auth_method", "post"},
                                        {"scope", "read write"}});
    for (const client_config* cfg : {&from_file, &from_env, &from_settings}) {
        CHECK(cfg->auth == auth_method::client_secret_post);
        // Named, not read: the secret is read when first needed.
        CHECK(cfg->client_secret_file == dir / "secret");
        CHECK(cfg->client_secret.empty());
        CHECK(oauth2cc::detail::cache_key(*cfg) == oauth2cc::detail::cache_key(from_file));
    }
}

TEST_CASE("a bad file is a config error naming the file and the member") {
    temp_dir dir;
    const auto file_error = [&dir](const std::string& text) {
        write(dir / "c.json", text);
        ::chmod((dir / "c.json").c_str(), 0600);
        return thrown_by([&dir] { oauth2cc::config_from_file(dir / "c.json"); });
    };
    const std::string base = R"("token_url": "https://as.example/token", "client_id": "c",
            "client_secret": "TOP-SECRET-VALUE")";
    const auto unknown = file_error("{" + base + R"(, "scopes": "read"})");
    CHECK(unknown.kind() == error_kind::config);
    CHECK(std::string(unknown.what()).find("\"scopes\" in the configuration file") !=
          std::string::npos);
    CHECK(std::string(unknown.what()).find("no such setting") != std::string::npos);
    const auto number = file_error("{" + base + R"(, "dpop": 1})");
    CHECK(std::string(number.what()).find("\"dpop\"") != std::string::npos);
    CHECK(std::string(number.what()).find("not a string") != std::string::npos);
    const auto twice = file_error("{" + base + R"(, "client_id": "d"})");
    CHECK(std::string(twice.what()).find("given twice") != std::string::npos);
    CHECK(std::string(file_error("[1, 2]").what()).find("not a JSON object") != std::string::npos);
    // Text that is not JSON: where it stops being JSON, never the text there.
    const auto broken =
        file_error("{\n  \"client_id\": \"c\",\n  \"client_secret\": TOP-SECRET-VALUE\n}");
    CHECK_MESSAGE(std::string(broken.what()).find("is not JSON") != std::string::npos,
                  broken.what());
    CHECK_MESSAGE(std::string(broken.what()).find("line 3, column 20") != std::string::npos,
                  broken.what());
    CHECK(std::string(file_error("{" + base).what()).find("line 2, column 48") !=
          std::string::npos);
    for (const auto& e : {unknown, number, twice, broken}) {
        CHECK(std::string(e.what()).find("TOP-SECRET-VALUE") == std::string::npos);
    }
    const auto missing = thrown_by([&dir] { oauth2cc::config_from_file(dir / "none.json"); });
    CHECK(missing.kind() == error_kind::config);
    CHECK(std::string(missing.what()).find("none.json") != std::string::npos);
}

TEST_CASE("a configuration file that holds the secret itself is its owner's alone") {
    temp_dir dir;
    write(dir / "c.json", R"({"token_url": "https://as.example/token", "client_id": "c",
            "client_secret": "TOP-SECRET-VALUE"})");
    ::chmod((dir / "c.json").c_str(), 0644);
    const auto shared = thrown_by([&dir] { oauth2cc::config_from_file(dir / "c.json"); });
    CHECK(shared.kind() == error_kind::config);
    const std::string what = shared.what();
    CHECK_MESSAGE(what.find("holds client_secret, and its mode 0644") != std::string::npos, what);
    CHECK(what.find("chmod 600") != std::string::npos);
    CHECK(what.find("TOP-SECRET-VALUE") == std::string::npos);
    ::chmod((dir / "c.json").c_str(), 0640);  // a group may not read it either
    CHECK(thrown_by([&dir] { oauth2cc::config_from_file(dir / "c.json"); }).kind() ==
          error_kind::config);
    ::chmod((dir / "c.json").c_str(), 0600);
    CHECK(oauth2cc::config_from_file(dir / "c.json").client_secret.reveal() == "TOP-SECRET-VALUE");
    // A file that names the secret's file holds no secret: any mode.
    write(dir / "secret", "s\n");
    write(dir / "named.json", R"({"token_url": "https://as.example/token", "client_id": "c",
            "client_secret_file": ")" +
                                  (dir / "secret") + R"("})");
    ::chmod((dir / "named.json").c_str(), 0644);
    CHECK(oauth2cc::config_from_file(dir / "named.json").client_secret_file == dir / "secret");
}

TEST_CASE("each bad setting is a config error naming its variable, never a secret") {
    const std::map<std::string, std::string> base{{"TOKEN_URL", "https://as.example/token"},
                                                  {"CLIENT_ID", "c"},
                                                  {"CLIENT_SECRET", "TOP-SECRET-VALUE"}};
    const auto refused = [&base](std::map<std::string, std::string> change,
                                 const std::string& variable, const std::string& why) {
        auto values = base;
        for (auto& [name, value] : change) {
            if (value == "<unset>") {
                values.erase(name);
            } else {
                values[name] = value;
            }
        }
        const auto e = environment_error(values);
        CHECK(e.kind() == error_kind::config);
        const std::string what = e.what();
        CHECK_MESSAGE(what.find(std::string(prefix) + variable + ":") != std::string::npos, what);
        CHECK_MESSAGE(what.find(why) != std::string::npos, what);
        CHECK(what.find("TOP-SECRET-VALUE") == std::string::npos);
    };
    refused({{"TOKEN_URL", "<unset>"}}, "TOKEN_URL", "no token endpoint");
    // A URL: the one rule it breaks, never the URL (it may carry a password).
    refused({{"TOKEN_URL", "https://as.example/token#top"}}, "TOKEN_URL",
            "has a fragment (#...): remove it");
    refused({{"TOKEN_URL", "https://user:TOP-SECRET-VALUE@as.example/token"}}, "TOKEN_URL",
            "carries user info (user:password@)");
    refused({{"TOKEN_URL", "as.example/token"}}, "TOKEN_URL", "has no scheme");
    refused({{"TOKEN_URL", "ftp://as.example/token"}}, "TOKEN_URL", "a scheme other than");
    refused({{"TOKEN_URL", "https://as.example:99999/token"}}, "TOKEN_URL", "has a port");
    refused({{"TOKEN_URL", "<unset>"}, {"ISSUER", "https:///tenant"}}, "ISSUER", "has no host");
    refused({{"REVOCATION_URL", "https://as.example/re voke"}}, "REVOCATION_URL",
            "a space or a control character");
    refused({{"CLIENT_ID", "<unset>"}}, "CLIENT_ID", "no client id");
    refused({{"CLIENT_SECRET", "<unset>"}}, "CLIENT_SECRET_FILE", "needs a client secret");
    refused({{"AUTH_METHOD", "kerberos"}}, "AUTH_METHOD", "unknown method \"kerberos\"");
    refused({{"CLIENT_SECRET_FILE", "/nonexistent/secret"}}, "CLIENT_SECRET", "not both");
    // The secret's file setting given the secret itself: never shown back.
    refused({{"CLIENT_SECRET", "<unset>"}, {"CLIENT_SECRET_FILE", "TOP-SECRET-VALUE"}},
            "CLIENT_SECRET_FILE", "cannot read the file it names: No such file or directory");
    refused({{"CLIENT_SECRET", "<unset>"}, {"CLIENT_SECRET_FILE", "/nonexistent/secret"}},
            "CLIENT_SECRET_FILE", "give the secret itself as client_secret");
    refused({{"CLIENT_SECRET", "TOP-SECRET-VALUE\x01"}}, "CLIENT_SECRET", "control characters");
    refused({{"CLIENT_KEY_ID", "k1"}}, "CLIENT_KEY_ID", "for the private_key_jwt method only");
    refused({{"AUTH_METHOD", "private_key_jwt"}, {"CLIENT_SECRET", "<unset>"}}, "CLIENT_KEY_FILE",
            "needs a client key file");
    refused({{"CLIENT_CERT_FILE", "/etc/hostname"}}, "CLIENT_CERT_KEY_FILE", "go together");
    refused({{"DPOP", "yes"}}, "DPOP", "takes 1");
    refused({{"CA_FILE", "/nonexistent/ca.pem"}}, "CA_FILE", "cannot read");
    refused({{"CA_FILE", "/"}}, "CA_FILE", "is a directory");
    refused({{"GRANT", "password"}}, "GRANT", "unknown grant \"password\"");
    refused({{"SUBJECT_TOKEN_TYPE", "jwt"}}, "SUBJECT_TOKEN_TYPE", "token_exchange grant");
    refused({{"GRANT", "token_exchange"}}, "SUBJECT_TOKEN_FILE", "needs a subject token file");
    refused({{"GRANT", "jwt_bearer"}}, "GRANT", "assertion file or a grant key");
    refused({{"ASSERTION_SUBJECT", "job-1"}}, "ASSERTION_SUBJECT", "jwt_bearer grant");
}

TEST_CASE("keys, assertions, DPoP and grants come from the files the settings name") {
    temp_dir dir;
    write_key(dir / "client.pem");
    write_key(dir / "dpop.pem");
    write(dir / "subject.jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyIn0.\n");
    const client_config keyed = from_environment({{"TOKEN_URL", "https://as.example/token"},
                                                  {"CLIENT_ID", "c"},
                                                  {"CLIENT_KEY_FILE", dir / "client.pem"},
                                                  {"CLIENT_KEY_ID", "key-1"},
                                                  {"DPOP_KEY_FILE", dir / "dpop.pem"}});
    CHECK(keyed.auth == auth_method::private_key_jwt);  // a key file names the method
    // A secret in the environment is for another program: not read, and no error.
    const client_config unused = from_environment({{"TOKEN_URL", "https://as.example/token"},
                                                   {"CLIENT_ID", "c"},
                                                   {"AUTH_METHOD", "none"},
                                                   {"CLIENT_SECRET", "unused"},
                                                   {"CLIENT_SECRET_FILE", "/nonexistent"}});
    CHECK(unused.client_secret.empty());
    CHECK(unused.client_secret_file.empty());
    REQUIRE(keyed.client_key);
    CHECK(keyed.client_key->kid() == "key-1");
    CHECK(keyed.client_key->alg() == oauth2cc::jws_alg::es256);
    REQUIRE(keyed.dpop_key);
    const client_config fresh = from_environment({{"TOKEN_URL", "https://as.example/token"},
                                                  {"CLIENT_ID", "c"},
                                                  {"CLIENT_SECRET", "s"},
                                                  {"DPOP", "1"}});
    CHECK(fresh.dpop_key.has_value());
    const auto wrong_alg = environment_error({{"TOKEN_URL", "https://as.example/token"},
                                              {"CLIENT_ID", "c"},
                                              {"CLIENT_KEY_FILE", dir / "client.pem"},
                                              {"CLIENT_KEY_ALG", "RS256"}});
    CHECK(std::string(wrong_alg.what()).find(std::string(prefix) + "CLIENT_KEY_FILE:") !=
          std::string::npos);
    const client_config exchange = from_environment({{"TOKEN_URL", "https://as.example/token"},
                                                     {"CLIENT_ID", "c"},
                                                     {"CLIENT_SECRET", "s"},
                                                     {"SUBJECT_TOKEN_FILE", dir / "subject.jwt"},
                                                     {"SUBJECT_TOKEN_TYPE", "jwt"},
                                                     {"REQUESTED_TOKEN_TYPE", "id_token"}});
    CHECK(exchange.grant == grant_type::token_exchange);
    CHECK(exchange.subject_token_type == "urn:ietf:params:oauth:token-type:jwt");
    CHECK(exchange.requested_token_type == "urn:ietf:params:oauth:token-type:id_token");
    REQUIRE(exchange.subject_token);
    CHECK(exchange.subject_token() == "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyIn0.");
    const client_config bearer = from_environment({{"TOKEN_URL", "https://as.example/token"},
                                                   {"CLIENT_ID", "c"},
                                                   {"AUTH_METHOD", "none"},
                                                   {"GRANT_KEY_FILE", dir / "client.pem"},
                                                   {"ASSERTION_SUBJECT", "job-1"}});
    CHECK(bearer.grant == grant_type::jwt_bearer);
    REQUIRE(bearer.grant_assertion);
    CHECK(!bearer.grant_assertion().empty());
}
}  // TEST_SUITE("config_sources")

TEST_SUITE("client_secret_file") {
TEST_CASE("the secret is read when first needed, without its trailing newline") {
    temp_dir dir;
    write(dir / "secret", "first-secret\r\n");
    ::chmod((dir / "secret").c_str(), 0644);  // a Kubernetes Secret's default mode: taken
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.client_secret_file = dir / "secret";
    auto endpoint = std::make_shared<secret_checking_endpoint>("first-secret");
    oauth2cc::token_client client(cfg, endpoint);
    CHECK(client.fetch().access_token.reveal() == "tok-1");
    CHECK(client.fetch().access_token.reveal() == "tok-1");
    CHECK(endpoint->sent() == std::vector<std::string>{"first-secret", "first-secret"});
    CHECK(client.credential_rotations() == 0);
    // request_token() reads it too.
    CHECK(oauth2cc::request_token(cfg, *endpoint).access_token.reveal() == "tok-1");
}

TEST_CASE("a secret file fixed during a backoff ends it: the next get() asks at once") {
    temp_dir dir;
    write(dir / "secret", "wrong-secret\n");
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.client_secret_file = dir / "secret";
    auto endpoint = std::make_shared<secret_checking_endpoint>("right-secret");
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    oauth2cc::token_manager tokens(cfg, {}, endpoint, clock);
    CHECK(thrown_by([&] { tokens.get(); }).oauth_error() == "invalid_client");
    const auto waiting = thrown_by([&] { tokens.get(); });  // backing off: no request
    CHECK(std::string(waiting.what()).find("no token request was made") != std::string::npos);
    CHECK(endpoint->sent().size() == 1);
    replace(dir / "secret", "right-secret\n");
    CHECK(tokens.get()->access_token.reveal() == "tok-1");  // at once, the clock unmoved
    CHECK(endpoint->sent() == std::vector<std::string>{"wrong-secret", "right-secret"});
}

TEST_CASE("a client assertion file fixed during a backoff ends it too") {
    temp_dir dir;
    write(dir / "assertion.jwt", "eyJ.stale.assertion\n");
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.auth = auth_method::client_assertion;
    cfg.client_assertion = oauth2cc::assertion_from_file(dir / "assertion.jwt");
    std::vector<std::string> sent;
    auto endpoint = std::make_shared<fake_transport>([&sent](const oauth2cc::http_request& req) {
        sent.push_back(oauth2cc_test::form_field(req.body, "client_assertion"));
        if (sent.back() != "eyJ.fresh.assertion") {
            return oauth2cc::http_response{
                401, {{"Content-Type", "application/json"}}, R"({"error":"invalid_client"})"};
        }
        return oauth2cc::http_response{200, {{"Content-Type", "application/json"}}, token_body};
    });
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    oauth2cc::token_manager tokens(cfg, {}, endpoint, clock);
    CHECK(thrown_by([&] { tokens.get(); }).oauth_error() == "invalid_client");
    CHECK(std::string(thrown_by([&] { tokens.get(); }).what()).find("no token request was made") !=
          std::string::npos);
    CHECK(sent.size() == 1);
    replace(dir / "assertion.jwt", "eyJ.fresh.assertion\n");
    CHECK(tokens.get()->access_token.reveal() == "tok-1");
    CHECK(sent == std::vector<std::string>{"eyJ.stale.assertion", "eyJ.fresh.assertion"});
}

TEST_CASE("a credential file that is a FIFO is read once, and never holds its reader") {
    temp_dir dir;
    const std::string fifo = dir / "secret.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.client_secret_file = fifo;
    auto endpoint = std::make_shared<secret_checking_endpoint>("piped-secret");
    // No writer: nothing to read, at once (a blocking open waited for a writer for ever).
    CHECK(thrown_by([&] { oauth2cc::token_client client(cfg, endpoint); }).kind() ==
          error_kind::config);
    // A writer that holds the pipe open and writes nothing: refused within the bound.
    const int idle_writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(idle_writer >= 0);
    const auto held = thrown_by([&] { oauth2cc::token_client client(cfg, endpoint); });
    CHECK(std::string(held.what()).find("nothing was written to it within") != std::string::npos);
    ::close(idle_writer);
    // A writer that wrote and left, as a shell's <(printf ...) does: read once, and the
    // secret in hand serves every request (a second read would find the pipe empty).
    const int keep = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(keep >= 0);
    REQUIRE(writer >= 0);
    REQUIRE(::write(writer, "piped-secret\n", 13) == 13);
    ::close(writer);
    oauth2cc::token_client client(cfg, endpoint);
    for (int i = 0; i < 3; ++i) CHECK(client.fetch().access_token.reveal() == "tok-1");
    CHECK(endpoint->sent() ==
          std::vector<std::string>{"piped-secret", "piped-secret", "piped-secret"});
    ::close(keep);
    // An assertion or subject token from a FIFO is read once as well.
    const int keep2 = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    const int writer2 = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(::write(writer2, "eyJ.piped.jwt", 13) == 13);
    ::close(writer2);
    const auto source = oauth2cc::assertion_from_file(fifo);
    CHECK(source() == "eyJ.piped.jwt");
    CHECK(source() == "eyJ.piped.jwt");
    ::close(keep2);
}

TEST_CASE("a missing, empty or unreadable file, or one beside a secret, is refused") {
    temp_dir dir;
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.client_secret_file = dir / "none";
    const auto missing = oauth2cc_test::refused_before_sending(cfg);
    CHECK(missing.kind() == error_kind::config);
    CHECK(std::string(missing.what()).find("client secret file") != std::string::npos);
    write(dir / "empty", "\n");
    cfg.client_secret_file = dir / "empty";
    CHECK(std::string(oauth2cc_test::refused_before_sending(cfg).what()).find("is empty") !=
          std::string::npos);
    write(dir / "secret", "s3cr3t");
    cfg.client_secret_file = dir / "secret";
    cfg.client_secret = oauth2cc::secret("other");
    CHECK(std::string(oauth2cc_test::refused_before_sending(cfg).what()).find("both set") !=
          std::string::npos);
    cfg.client_secret = oauth2cc::secret();
    cfg.auth = auth_method::none;
    CHECK(std::string(oauth2cc_test::refused_before_sending(cfg).what())
              .find("sends no client secret") != std::string::npos);
    if (::geteuid() != 0) {  // root reads any file
        cfg.auth = auth_method::client_secret_basic;
        ::chmod((dir / "secret").c_str(), 0);
        CHECK(std::string(oauth2cc_test::refused_before_sending(cfg).what()).find("cannot open") !=
              std::string::npos);
    }
}

TEST_CASE("a file replaced by rename is taken up by the next request, and counted") {
    temp_dir dir;
    client_config cfg = secret_file_client(dir, "first-secret\n");
    auto endpoint = std::make_shared<secret_checking_endpoint>("first-secret");
    oauth2cc::token_client client(cfg, endpoint);
    CHECK_NOTHROW(client.fetch());
    replace(dir / "secret", "second-secret\n");
    endpoint->accept("second-secret");
    CHECK_NOTHROW(client.fetch());
    CHECK(endpoint->sent() == std::vector<std::string>{"first-secret", "second-secret"});
    CHECK(client.credential_rotations() == 1);
    // A file touched but not changed is no rotation.
    replace(dir / "secret", "second-secret\n");
    CHECK_NOTHROW(client.fetch());
    CHECK(client.credential_rotations() == 1);
    // A client made after the rotation starts from the file as it is: none of its own.
    oauth2cc::token_client later(cfg, endpoint);
    CHECK_NOTHROW(later.fetch());
    CHECK(later.credential_rotations() == 0);
}

TEST_CASE("invalid_client reads the file again and retries once, never twice for one change") {
    temp_dir dir;
    client_config cfg = secret_file_client(dir, "first-secret");
    auto endpoint = std::make_shared<secret_checking_endpoint>("first-secret");
    oauth2cc::token_client client(cfg, endpoint);
    CHECK_NOTHROW(client.fetch());

    SUBCASE("the file changes while the request is refused: one retry with the new secret") {
        endpoint->accept("second-secret");
        endpoint->during_next([&dir] { replace(dir / "secret", "second-secret"); });
        CHECK(client.fetch().access_token.reveal() == "tok-1");
        CHECK(endpoint->sent() ==
              std::vector<std::string>{"first-secret", "first-secret", "second-secret"});
        CHECK(client.credential_rotations() == 1);
    }
    SUBCASE("the new secret is refused too: no second retry") {
        endpoint->accept("third-secret");
        endpoint->during_next([&dir] { replace(dir / "secret", "second-secret"); });
        const auto e = thrown_by([&client] { client.fetch(); });
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(endpoint->sent().size() == 3);
    }
    SUBCASE("the file has not changed: the refusal stands, with no retry") {
        endpoint->accept("second-secret");
        const auto e = thrown_by([&client] { client.fetch(); });
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(endpoint->sent().size() == 2);
        CHECK(client.credential_rotations() == 0);
    }
    for (const auto& s : endpoint->sent()) CHECK(s.find('\n') == std::string::npos);
}

TEST_CASE("a manager logs and counts a rotation, never the secret") {
    temp_dir dir;
    client_config cfg = secret_file_client(dir, "first-secret");
    auto endpoint = std::make_shared<secret_checking_endpoint>("first-secret");
    // The log outlives the manager, whose worker writes a fetch's line after the callers
    // it served have their token.
    std::mutex mutex;
    std::condition_variable logged;
    std::vector<std::string> lines;
    oauth2cc::token_manager manager(cfg, {}, endpoint);
    manager.set_logger([&](oauth2cc::log_level, std::string_view line) {
        const std::lock_guard<std::mutex> lock(mutex);
        lines.emplace_back(line);
        logged.notify_all();
    });
    auto observer = std::make_shared<oauth2cc_test::recording_observer>();
    auto exporter = std::make_shared<oauth2cc::prometheus_exporter>();
    // Each token is accepted by the API before it is invalidated: the rejection guard
    // is not what this test is about.
    const auto next_token = [&manager] {
        const auto tok = manager.get();
        manager.note_accepted(*tok);
        manager.invalidate(tok.get());
    };
    next_token();
    manager.set_observer(observer);
    replace(dir / "secret", "second-secret");
    endpoint->accept("second-secret");
    next_token();
    manager.set_observer(exporter);
    replace(dir / "secret", "third-secret");
    endpoint->accept("third-secret");
    next_token();
    CHECK(observer->count("request success rotated") == 1);
    const std::string scrape = exporter->text();
    CHECK(scrape.find("oauth2cc_credential_rotations_total{client_id=\"c\"} 1") !=
          std::string::npos);
    std::unique_lock<std::mutex> lock(mutex);
    std::vector<std::string> fetched;
    const auto all_logged = [&] {
        fetched.clear();
        for (const auto& line : lines) {
            if (line.rfind("token for client", 0) == 0) fetched.push_back(line);
        }
        return fetched.size() == 3;
    };
    // The third fetch's line may still be on its way: waited for, not slept on.
    REQUIRE(logged.wait_for(lock, std::chrono::seconds(30), all_logged));
    CHECK(fetched[0].find("rotated") == std::string::npos);
    CHECK(fetched[1].find("a rotated credential was taken up from client_secret_file (1 so far)") !=
          std::string::npos);
    CHECK(fetched[2].find("(2 so far)") != std::string::npos);
    for (const auto& line : lines) CHECK(line.find("secret\"") == std::string::npos);
    for (const auto& line : lines) CHECK(line.find("-secret") == std::string::npos);
}
// A keyed entry's request is made from the manager's client: the file's secret, read
// once for all of them, and its rotation taken up by whichever entry asks next.
TEST_CASE("keyed entries send the file's secret and take up its rotation") {
    temp_dir dir;
    client_config cfg = secret_file_client(dir, "first-secret");
    auto endpoint = std::make_shared<secret_checking_endpoint>("first-secret");
    oauth2cc::token_manager manager(cfg, {}, endpoint);
    auto a = oauth2cc::params_of(cfg);
    a.audience = "https://a.example.com";
    auto b = a;
    b.audience = "https://b.example.com";
    const auto tok = manager.get(a);
    CHECK(tok->access_token.reveal() == "tok-1");
    replace(dir / "secret", "second-secret");
    endpoint->accept("second-secret");
    manager.note_accepted(a, *tok);
    manager.invalidate(a, tok.get());
    CHECK(manager.get(a)->access_token.reveal() == "tok-1");
    CHECK(manager.get(b)->access_token.reveal() == "tok-1");
    CHECK(endpoint->sent() ==
          std::vector<std::string>{"first-secret", "second-secret", "second-secret"});
    CHECK(manager.stats().failures == 0);

    // A method that signs with the secret: an entry is checked with the file's secret.
    cfg.auth = oauth2cc::auth_method::client_secret_jwt;
    replace(dir / "secret", "a-secret-of-hs256-length-0123456789abcdef");
    auto fake = std::make_shared<oauth2cc_test::fake_transport>(
        oauth2cc_test::fake_transport::answering(200, token_body));
    oauth2cc::token_manager signing(cfg, {}, fake);
    CHECK(signing.get(a)->access_token.reveal() == "tok-1");
    REQUIRE(fake->requests.size() == 1);
    CHECK(oauth2cc_test::form_field(fake->requests[0].body, "client_assertion_type") ==
          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
}
}  // TEST_SUITE("client_secret_file")

namespace {

const char* issuer = "https://as.example";
const char* revocation_url = "https://as.example/revoke";

// A server that discovers, issues numbered tokens and revokes them: GETs are the
// metadata, POSTs to /token are token requests, POSTs to /revoke revocations, answered
// by revoke_answer (200 with no body when empty).
class revoking_server {
public:
    explicit revoking_server(bool metadata_names_revocation = true)
        : fake_([this, metadata_names_revocation](const oauth2cc::http_request& req) {
              return answer(req, metadata_names_revocation);
          }) {}

    oauth2cc::http_response answer(const oauth2cc::http_request& req, bool names_revocation) {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (req.method == "GET") {
            nlohmann::json meta{{"issuer", issuer},
                                {"token_endpoint", std::string(issuer) + "/token"},
                                {"token_endpoint_auth_methods_supported",
                                 {"client_secret_basic", "private_key_jwt"}}};
            if (names_revocation) meta["revocation_endpoint"] = revocation_url;
            return {200, {{"Content-Type", "application/json"}}, meta.dump()};
        }
        if (req.url == revocation_url) {
            revoked.push_back(oauth2cc_test::form_field(req.body, "token"));
            bodies.push_back(req.body);
            auth.push_back(oauth2cc_test::header_of(req, "Authorization"));
            if (!revoke_answer.empty() && revoked.size() == fail_at) {
                return {revoke_status, {{"Content-Type", "application/json"}}, revoke_answer};
            }
            return {200, {}, ""};
        }
        ++issued;
        const nlohmann::json body{{"access_token", "tok-" + std::to_string(issued)},
                                  {"token_type", "Bearer"},
                                  {"expires_in", 3600}};
        return {200, {{"Content-Type", "application/json"}}, body.dump()};
    }

    fake_transport& transport() { return fake_; }
    std::shared_ptr<oauth2cc::transport> shared() {
        return std::shared_ptr<oauth2cc::transport>(&fake_, [](oauth2cc::transport*) {});
    }

    std::mutex mutex_;
    int issued = 0;
    std::vector<std::string> revoked, bodies, auth;
    std::string revoke_answer;
    int revoke_status = 400;
    std::size_t fail_at = 1;

private:
    fake_transport fake_;
};

// The tokens a file store holds in dir.
std::size_t stored_tokens(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& name : oauth2cc_test::names_in(dir)) {
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) ++n;
    }
    return n;
}

client_config revoking_client() {
    client_config cfg = oauth2cc_test::secret_client("c", "s3cr3t");
    cfg.token_endpoint = std::string(issuer) + "/token";
    cfg.revocation_endpoint = revocation_url;
    return cfg;
}

}  // namespace

TEST_SUITE("revocation") {
TEST_CASE("revoke() posts the token and its hint, authenticated as for tokens") {
    revoking_server server;
    oauth2cc::revoke(revoking_client(), oauth2cc::secret("tok-to-go"), "access_token",
                     server.transport());
    REQUIRE(server.revoked == std::vector<std::string>{"tok-to-go"});
    CHECK(oauth2cc_test::form_field(server.bodies[0], "token_type_hint") == "access_token");
    CHECK(server.auth[0].rfind("Basic ", 0) == 0);
    const auto& sent = server.transport().requests.back();
    CHECK(sent.method == "POST");
    CHECK(oauth2cc_test::header_of(sent, "Content-Type") == "application/x-www-form-urlencoded");
    // No hint: no token_type_hint field.
    oauth2cc::revoke(revoking_client(), oauth2cc::secret("tok-2"), "", server.transport());
    CHECK(server.bodies[1].find("token_type_hint") == std::string::npos);
}

TEST_CASE("the endpoint is the issuer's when the configuration names none") {
    revoking_server server;
    client_config cfg = revoking_client();
    cfg.revocation_endpoint.clear();
    cfg.token_endpoint.clear();
    cfg.issuer = issuer;
    oauth2cc::revoke(cfg, oauth2cc::secret("tok-x"), "access_token", server.transport());
    CHECK(server.revoked == std::vector<std::string>{"tok-x"});
    CHECK(server.transport().requests.back().url == revocation_url);

    revoking_server silent(false);
    const auto e = thrown_by([&] {
        oauth2cc::revoke(cfg, oauth2cc::secret("tok-x"), "access_token", silent.transport());
    });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("names no revocation_endpoint") != std::string::npos);
    CHECK(silent.revoked.empty());

    cfg.issuer.clear();
    cfg.token_endpoint = std::string(issuer) + "/token";
    fake_transport nothing = fake_transport::answering(200, "");
    const auto none = thrown_by(
        [&] { oauth2cc::revoke(cfg, oauth2cc::secret("tok-x"), "access_token", nothing); });
    CHECK(none.kind() == error_kind::config);
    CHECK(std::string(none.what()).find("no revocation endpoint") != std::string::npos);
    CHECK(nothing.requests.empty());
}

TEST_CASE("the server's refusal is an error that never shows the token") {
    revoking_server server;
    server.revoke_answer =
        R"({"error":"unsupported_token_type","error_description":"tok-secret-1 is odd"})";
    const auto e = thrown_by([&] {
        oauth2cc::revoke(revoking_client(), oauth2cc::secret("tok-secret-1"), "access_token",
                         server.transport());
    });
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "unsupported_token_type");
    CHECK(std::string(e.what()).find("tok-secret-1") == std::string::npos);
    server.revoke_answer = "busy";
    server.revoke_status = 503;
    server.fail_at = 2;
    const auto busy = thrown_by([&] {
        oauth2cc::revoke(revoking_client(), oauth2cc::secret("tok-secret-2"), "access_token",
                         server.transport());
    });
    CHECK(busy.kind() == error_kind::http_status);
    CHECK(busy.http_status() == 503);
    const auto empty = thrown_by([&] {
        oauth2cc::revoke(revoking_client(), oauth2cc::secret(""), "access_token",
                         server.transport());
    });
    CHECK(empty.kind() == error_kind::config);
    CHECK(server.revoked.size() == 2);
}

TEST_CASE("private_key_jwt signs an assertion for the revocation, aud the token endpoint") {
    revoking_server server;
    client_config cfg = revoking_client();
    cfg.client_secret = oauth2cc::secret();
    cfg.auth = auth_method::private_key_jwt;
    cfg.client_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
    oauth2cc::revoke(cfg, oauth2cc::secret("tok-k"), "access_token", server.transport());
    REQUIRE(server.bodies.size() == 1);
    const std::string assertion = oauth2cc_test::form_field(server.bodies[0], "client_assertion");
    REQUIRE(!assertion.empty());
    CHECK(oauth2cc_test::split_jwt(assertion).claims.at("aud") == std::string(issuer) + "/token");
    CHECK(server.auth[0].empty());
}

TEST_CASE("introspect() authenticates as revoke() does: a signed assertion for private_key_jwt") {
    client_config cfg = revoking_client();
    cfg.client_secret = oauth2cc::secret();
    cfg.auth = auth_method::private_key_jwt;
    cfg.client_key = oauth2cc::signing_key::generate(oauth2cc::jws_alg::es256);
    fake_transport server = fake_transport::answering(200, R"({"active":true,"scope":"read"})",
                                                      {{"Content-Type", "application/json"}});
    const auto result =
        oauth2cc::introspect(cfg, "https://as.example/introspect", "tok-looked-at", server);
    CHECK(result.active);
    REQUIRE(server.requests.size() == 1);
    const std::string body = server.requests[0].body;
    CHECK(oauth2cc_test::form_field(body, "token") == "tok-looked-at");
    CHECK(oauth2cc_test::form_field(body, "client_assertion_type") ==
          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    const std::string assertion = oauth2cc_test::form_field(body, "client_assertion");
    REQUIRE(!assertion.empty());
    CHECK(oauth2cc_test::split_jwt(assertion).claims.at("aud") == std::string(issuer) + "/token");
    CHECK(oauth2cc_test::header_of(server.requests[0], "Authorization").empty());
}

TEST_CASE("token_manager::revoke() revokes every token it holds and forgets them") {
    revoking_server server;
    temp_dir dir;
    oauth2cc::token_manager manager(revoking_client(), {}, server.shared());
    manager.set_store(std::make_shared<oauth2cc::file_token_store>(dir.path.string()));
    auto other = oauth2cc::params_of(revoking_client());
    other.audience = "https://other.example";
    const auto own = manager.get();
    const auto second = manager.get(other);
    CHECK(stored_tokens(dir.path) == 2);
    server.revoke_answer = R"({"error":"invalid_request"})";
    server.fail_at = 1;
    const auto e = thrown_by([&manager] { manager.revoke(); });
    CHECK(e.oauth_error() == "invalid_request");  // the first failure, after both tried
    std::vector<std::string> revoked = server.revoked;
    std::sort(revoked.begin(), revoked.end());
    CHECK(revoked == std::vector<std::string>{"tok-1", "tok-2"});
    // Both forgotten, here and in the store: the next get() asks for a new token.
    CHECK(stored_tokens(dir.path) == 0);
    CHECK(manager.get()->access_token.reveal() == "tok-3");
    CHECK(manager.get(other)->access_token.reveal() == "tok-4");
    // Nothing held: nothing to revoke.
    manager.revoke();
    CHECK(server.revoked.size() == 4);
}
}  // TEST_SUITE("revocation")

namespace {

// A tracer that keeps every span, with copies of what it was told.
class recording_tracer : public oauth2cc::tracer {
public:
    struct record {
        oauth2cc::span_kind kind;
        std::string client_id, server, grant, endpoint, method;
        unsigned attempt = 0;
        int id = 0, parent = 0;  // parent 0: none
        bool ended = false;
        oauth2cc::request_outcome outcome = oauth2cc::request_outcome::success;
        int http_status = 0;
        std::string oauth_error;
        oauth2cc::cache_outcome cache = oauth2cc::cache_outcome::miss;
    };

    class span : public oauth2cc::trace_span {
    public:
        span(recording_tracer& by, int id) : by_(by), id_(id) {}
        void end(const oauth2cc::span_end& how) noexcept override {
            const std::lock_guard<std::mutex> lock(by_.mutex_);
            record& r = by_.records_[static_cast<std::size_t>(id_ - 1)];
            r.ended = true;
            r.outcome = how.outcome;
            r.http_status = how.http_status;
            r.oauth_error = std::string(how.oauth_error);
            r.cache = how.cache;
        }
        int id() const { return id_; }

    private:
        recording_tracer& by_;
        int id_;
    };

    std::unique_ptr<oauth2cc::trace_span> start_span(const oauth2cc::span_start& what,
                                                     oauth2cc::trace_span* parent) override {
        const std::lock_guard<std::mutex> lock(mutex_);
        record r;
        r.kind = what.kind;
        r.client_id = std::string(what.client_id);
        r.server = std::string(what.server);
        r.grant = std::string(what.grant);
        r.endpoint = std::string(what.endpoint);
        r.method = std::string(what.method);
        r.attempt = what.attempt;
        r.id = static_cast<int>(records_.size()) + 1;
        r.parent = parent != nullptr ? static_cast<span*>(parent)->id() : 0;
        records_.push_back(r);
        return std::make_unique<span>(*this, r.id);
    }

    std::vector<record> records() {
        const std::lock_guard<std::mutex> lock(mutex_);
        return records_;
    }

private:
    std::mutex mutex_;
    std::vector<record> records_;
};

const char* trace_id = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST_SUITE("tracing") {
TEST_CASE("a token request is a span, its attempts its children, and none holds a secret") {
    temp_dir dir;
    client_config cfg = secret_file_client(dir, "first-secret");
    auto recorder = std::make_shared<recording_tracer>();
    cfg.tracer = recorder;
    auto endpoint = std::make_shared<secret_checking_endpoint>("second-secret");
    oauth2cc::token_client client(cfg, endpoint);
    // Refused, the file is replaced meanwhile, and the repeat is taken: two attempts.
    endpoint->during_next([&dir] { replace(dir / "secret", "second-secret"); });
    CHECK_NOTHROW(client.fetch());
    const auto spans = recorder->records();
    REQUIRE(spans.size() == 3);
    const auto& acquisition = spans[0];
    CHECK(acquisition.kind == oauth2cc::span_kind::token_acquisition);
    CHECK(acquisition.parent == 0);
    CHECK(acquisition.client_id == "c");
    CHECK(acquisition.server == "auth.example.com:443");
    CHECK(acquisition.grant == "client_credentials");
    CHECK(acquisition.outcome == oauth2cc::request_outcome::success);
    CHECK(acquisition.cache == oauth2cc::cache_outcome::miss);
    for (unsigned i = 1; i <= 2; ++i) {
        CHECK(spans[i].kind == oauth2cc::span_kind::http_attempt);
        CHECK(spans[i].parent == acquisition.id);
        CHECK(spans[i].attempt == i - 1);
        CHECK(spans[i].endpoint == "token");
        CHECK(spans[i].method == "POST");
    }
    CHECK(spans[1].outcome == oauth2cc::request_outcome::oauth);
    CHECK(spans[1].http_status == 401);
    CHECK(spans[1].oauth_error == "invalid_client");
    CHECK(spans[2].outcome == oauth2cc::request_outcome::success);
    CHECK(spans[2].http_status == 200);
    for (const auto& s : spans) {
        CHECK(s.ended);
        for (const std::string* text : {&s.client_id, &s.server, &s.grant, &s.oauth_error}) {
            CHECK(text->find("secret") == std::string::npos);
            CHECK(text->find("tok-") == std::string::npos);
        }
    }
    CHECK(oauth2cc::to_string(oauth2cc::span_kind::token_acquisition) == "oauth2cc.token");
    CHECK(oauth2cc::to_string(oauth2cc::cache_outcome::wait) == "wait");
}

TEST_CASE("a manager's get() is a span: a wait for the request, then a hit per thread") {
    auto recorder = std::make_shared<recording_tracer>();
    client_config cfg = revoking_client();
    cfg.tracer = recorder;
    revoking_server server;
    oauth2cc::token_manager manager(cfg, {}, server.shared());
    CHECK_NOTHROW(manager.get());
    CHECK_NOTHROW(manager.get());  // this thread's copy: no span
    std::thread([&manager] { CHECK_NOTHROW(manager.get()); }).join();
    const auto spans = recorder->records();
    std::vector<oauth2cc::cache_outcome> served;
    int attempts = 0;
    for (const auto& s : spans) {
        CHECK(s.ended);
        if (s.kind == oauth2cc::span_kind::http_attempt) {
            ++attempts;
        } else if (s.parent == 0 && s.cache != oauth2cc::cache_outcome::miss) {
            served.push_back(s.cache);
        }
    }
    CHECK(attempts == 1);
    CHECK(served == std::vector<oauth2cc::cache_outcome>{oauth2cc::cache_outcome::wait,
                                                         oauth2cc::cache_outcome::hit});
}

TEST_CASE("traceparent goes on token, introspection, revocation and API requests") {
    auto recorder = std::make_shared<recording_tracer>();
    client_config cfg = revoking_client();
    std::atomic<int> asked{0};
    cfg.traceparent = [&asked] {
        ++asked;
        return std::string(trace_id);
    };
    cfg.tracer = recorder;
    revoking_server server;
    const auto tok = oauth2cc::request_token(cfg, server.transport());
    CHECK(oauth2cc_test::header_of(server.transport().requests.back(), "traceparent") == trace_id);
    oauth2cc::revoke(cfg, tok.access_token, "access_token", server.transport());
    CHECK(oauth2cc_test::header_of(server.transport().requests.back(), "traceparent") == trace_id);
    fake_transport introspection = fake_transport::answering(200, R"({"active":false})");
    CHECK_FALSE(
        oauth2cc::introspect(cfg, "https://as.example/introspect", "tok-x", introspection).active);
    CHECK(oauth2cc_test::header_of(introspection.requests.back(), "traceparent") == trace_id);

    // An API call, refused once for its token: one traceparent for the call's tries.
    oauth2cc::token_manager manager(cfg, {}, server.shared());
    int calls = 0;
    auto api = std::make_shared<fake_transport>([&calls](const oauth2cc::http_request&) {
        ++calls;
        if (calls == 1) {
            return oauth2cc::http_response{
                401, {{"WWW-Authenticate", R"(Bearer error="invalid_token")"}}, ""};
        }
        return oauth2cc::http_response{200, {}, "ok"};
    });
    oauth2cc::authorized_client client("https://api.example", manager, {}, api);
    CHECK(client.get("/v1/x").status == 200);
    REQUIRE(api->requests.size() == 2);
    for (const auto& req : api->requests) {
        CHECK(oauth2cc_test::header_of(req, "traceparent") == trace_id);
    }
    std::vector<recording_tracer::record> calls_seen;
    for (const auto& s : recorder->records()) {
        if (s.endpoint == "resource") calls_seen.push_back(s);
    }
    // Asked once per call, whatever its tries (the token is cached now).
    const int before = asked.load();
    CHECK(client.get("/v1/x").status == 200);
    CHECK(asked.load() - before == 1);
    REQUIRE(calls_seen.size() == 2);
    CHECK(calls_seen[0].attempt == 0);
    CHECK(calls_seen[0].http_status == 401);
    CHECK(calls_seen[0].oauth_error == "invalid_token");
    CHECK(calls_seen[0].server == "api.example:443");
    CHECK(calls_seen[1].attempt == 1);
    CHECK(calls_seen[1].http_status == 200);
    for (const auto& s : recorder->records()) {
        if (s.endpoint == "revocation" || s.endpoint == "introspection") {
            CHECK(s.method == "POST");
            CHECK(s.http_status == 200);
        }
    }
}

TEST_CASE("a malformed or throwing traceparent sends none, and a caller's own stays") {
    revoking_server server;
    client_config cfg = revoking_client();
    for (const std::string& bad :
         std::vector<std::string>{"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                                  "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                  "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
                                  "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                  std::string(trace_id) + "\r\nX-Injected: 1"}) {
        cfg.traceparent = [bad] { return bad; };
        CHECK_NOTHROW(oauth2cc::request_token(cfg, server.transport()));
        CHECK(oauth2cc_test::header_of(server.transport().requests.back(), "traceparent").empty());
    }
    cfg.traceparent = []() -> std::string { throw std::runtime_error("no context"); };
    CHECK_NOTHROW(oauth2cc::request_token(cfg, server.transport()));
    CHECK(oauth2cc_test::header_of(server.transport().requests.back(), "traceparent").empty());

    cfg.traceparent = [] { return std::string(trace_id); };
    oauth2cc::token_manager manager(cfg, {}, server.shared());
    auto api = std::make_shared<fake_transport>(fake_transport::answering(200, "ok"));
    oauth2cc::authorized_client client("https://api.example", manager, {}, api);
    const std::string own = "00-11111111111111111111111111111111-2222222222222222-00";
    CHECK(client.get("/v1/x", {{"traceparent", own}}).status == 200);
    int seen = 0;
    for (const auto& [name, value] : api->requests.back().headers) {
        if (name == "traceparent") {
            ++seen;
            CHECK(value == own);
        }
    }
    CHECK(seen == 1);
}
}  // TEST_SUITE("tracing")

TEST_SUITE("client_key_file") {
// A token endpoint that takes only assertions signed by the key whose JWK it holds,
// and answers others with invalid_client; before answering, it may run what the test
// wants done meanwhile.
struct key_checking_endpoint : oauth2cc::transport {
    nlohmann::json accepted;
    std::vector<bool> signed_by_accepted;
    std::function<void()> during_next;
    oauth2cc::http_response send(const oauth2cc::http_request& req) override {
        const auto jws =
            oauth2cc_test::split_jwt(oauth2cc_test::form_field(req.body, "client_assertion"));
        const bool ok = oauth2cc_test::verifies(accepted, jws.header.at("alg"), jws.signing_input,
                                                jws.signature);
        signed_by_accepted.push_back(ok);
        if (during_next) {
            const auto f = std::move(during_next);
            during_next = nullptr;
            f();
        }
        if (!ok)
            return {401, {{"Content-Type", "application/json"}}, R"({"error":"invalid_client"})"};
        return {200, {{"Content-Type", "application/json"}}, token_body};
    }
};

TEST_CASE("a key file replaced by rename signs the next request, and after invalid_client") {
    temp_dir dir;
    write_key(dir / "key.pem");
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.auth = auth_method::private_key_jwt;
    cfg.client_key = oauth2cc::signing_key::from_pem_file(dir / "key.pem", "k1");
    CHECK(cfg.client_key->file() == dir / "key.pem");
    auto endpoint = std::make_shared<key_checking_endpoint>();
    endpoint->accepted = cfg.client_key->public_jwk();
    oauth2cc::token_client client(cfg, endpoint);
    CHECK_NOTHROW(client.fetch());
    const auto next_key = [&dir] {
        write_key(dir / "key.pem.new");
        REQUIRE(std::rename((dir / "key.pem.new").c_str(), (dir / "key.pem").c_str()) == 0);
        return oauth2cc::signing_key::from_pem_file(dir / "key.pem", "k1").public_jwk();
    };

    SUBCASE("replaced between requests: the next one is signed by the new key") {
        endpoint->accepted = next_key();
        CHECK_NOTHROW(client.fetch());
        CHECK(endpoint->signed_by_accepted == std::vector<bool>{true, true});
        CHECK(client.credential_rotations() == 1);
        // Revocation and introspection sign with the key of now as well.
        client_config revoking = cfg;
        revoking.revocation_endpoint = "https://as.example/revoke";
        CHECK_NOTHROW(oauth2cc::revoke(revoking, oauth2cc::secret("t"), "access_token", *endpoint));
        CHECK(endpoint->signed_by_accepted == std::vector<bool>{true, true, true});
    }
    SUBCASE("replaced while a request is refused: read again, one retry") {
        endpoint->signed_by_accepted.clear();
        // The server refuses the old key; meanwhile the file gets the key it will take.
        endpoint->accepted = oauth2cc::signing_key::generate().public_jwk();
        endpoint->during_next = [&] { endpoint->accepted = next_key(); };
        CHECK_NOTHROW(client.fetch());
        CHECK(endpoint->signed_by_accepted == std::vector<bool>{false, true});
        CHECK(client.credential_rotations() == 1);
    }
    SUBCASE("the key file has not changed: the refusal stands, with no retry") {
        endpoint->accepted = oauth2cc::signing_key::generate().public_jwk();
        endpoint->signed_by_accepted.clear();
        const auto e = thrown_by([&client] { client.fetch(); });
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(endpoint->signed_by_accepted == std::vector<bool>{false});
        CHECK(client.credential_rotations() == 0);
    }
    SUBCASE("a key file removed: the key last read goes on signing, here and in new clients") {
        REQUIRE(std::remove((dir / "key.pem").c_str()) == 0);
        CHECK_NOTHROW(client.fetch());
        oauth2cc::token_client later(cfg, endpoint);
        CHECK_NOTHROW(later.fetch());
        CHECK(endpoint->signed_by_accepted == std::vector<bool>{true, true, true});
        CHECK(client.credential_rotations() == 0);
    }
    SUBCASE("a half-written key fails one request, and the next reads it whole") {
        write(dir / "key.pem", "-----BEGIN PRIVATE KEY-----\n");
        const auto e = thrown_by([&client] { client.fetch(); });
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("key.pem") != std::string::npos);
        endpoint->accepted = next_key();
        CHECK_NOTHROW(client.fetch());
        CHECK(endpoint->signed_by_accepted.back());
    }
}

TEST_CASE("client certificate files replaced: counted, and invalid_client retried once") {
    temp_dir dir;
    write(dir / "cert.pem", "first");
    write(dir / "key.pem", "first");
    client_config cfg = oauth2cc_test::secret_client("c", "");
    cfg.auth = auth_method::tls_client_auth;
    cfg.tls.client_cert_file = dir / "cert.pem";
    cfg.tls.client_key_file = dir / "key.pem";
    // The transport presents the files (here: reads them); the endpoint takes "second".
    struct cert_endpoint : oauth2cc::transport {
        std::string cert_file;
        std::vector<std::string> presented;
        std::function<void()> during_next;
        oauth2cc::http_response send(const oauth2cc::http_request&) override {
            std::ifstream in(cert_file);
            presented.emplace_back(std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>());
            if (during_next) std::exchange(during_next, nullptr)();
            if (presented.back() != "second")
                return {
                    401, {{"Content-Type", "application/json"}}, R"({"error":"invalid_client"})"};
            return {200, {{"Content-Type", "application/json"}}, token_body};
        }
    };
    auto endpoint = std::make_shared<cert_endpoint>();
    endpoint->cert_file = cfg.tls.client_cert_file;
    oauth2cc::token_client client(cfg, endpoint);
    const auto install = [&dir] { replace(dir / "cert.pem", "second"); };
    SUBCASE("replaced while a request is refused: one retry") {
        endpoint->during_next = install;
        CHECK_NOTHROW(client.fetch());
        CHECK(endpoint->presented == std::vector<std::string>{"first", "second"});
        CHECK(client.credential_rotations() == 1);
    }
    SUBCASE("not replaced: the refusal stands") {
        CHECK(thrown_by([&client] { client.fetch(); }).oauth_error() == "invalid_client");
        CHECK(endpoint->presented.size() == 1);
        install();
        CHECK_NOTHROW(client.fetch());
        CHECK(client.credential_rotations() == 1);
    }
}
}  // TEST_SUITE("client_key_file")
