// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_kafka.cpp: oauth2cc/kafka.hpp with librdkafka against a fake broker
// (tests/peers/kafka-broker) that speaks the SASL/OAUTHBEARER part of the Kafka protocol
// and checks each token by introspection at oidc-provider, its audience and extensions.
// SPDX-License-Identifier: MIT

#include "../support/peer_process.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/detail/adapters/kafka.hpp>
#include <oauth2cc/kafka.hpp>
#include <oauth2cc/oauth2cc.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using nlohmann::json;
using oauth2cc::token_manager;
using oauth2cc_test::peer_process;

namespace {

// The API resource of the test server (RFC 8707): its tokens are opaque, and introspection
// names it in `aud`.
const char* const audience = "urn:oauth2cc:test-api";

oauth2cc_test::temp_dir& key_dir() {
    static oauth2cc_test::temp_dir dir;
    return dir;
}

peer_process& authorization_server() {
    static const std::unique_ptr<peer_process> peer =
        oauth2cc_test::start_oidc_provider({"--ttl", "3600", "--key-dir", key_dir().path.string()});
    return *peer;
}

// The broker, checking tokens at `at` with a traceId extension, and for the audience
// unless told otherwise.
std::unique_ptr<peer_process> start_broker(const peer_process& at, bool want_audience = true,
                                           const std::vector<std::string>& more = {}) {
    static oauth2cc_test::temp_dir secrets;
    const std::string secret_file = (secrets.path / "rs-secret").string();
    std::ofstream(secret_file) << "resource-server-secret";
    std::vector<std::string> argv{"/usr/bin/python3",
                                  std::string(OAUTH2CC_TEST_PEERS_DIR) + "/kafka-broker/broker.py",
                                  "--introspection-endpoint",
                                  at.info().at("introspection_endpoint").get<std::string>(),
                                  "--client-id",
                                  "resource-server",
                                  "--client-secret-file",
                                  secret_file,
                                  "--require-extension",
                                  "traceId=run-42"};
    if (want_audience) argv.insert(argv.end(), {"--audience", audience});
    argv.insert(argv.end(), more.begin(), more.end());
    return peer_process::start_program(argv, {});
}

oauth2cc::client_config key_client(const peer_process& at) {
    oauth2cc::client_config cfg;
    cfg.token_endpoint = at.info().at("token_endpoint").get<std::string>();
    cfg.client_id = "key-p256-client";
    cfg.auth = oauth2cc::auth_method::private_key_jwt;
    cfg.client_key =
        oauth2cc::signing_key::from_pem_file(key_dir().path / "key-p256.pem", "key-p256");
    cfg.scopes = {"read_date"};
    cfg.resources = {audience};
    return cfg;
}

oauth2cc::kafka_options with_trace() {
    oauth2cc::kafka_options options;
    options.extensions = {{"traceId", "run-42"}};
    return options;
}

// A producer and what librdkafka told it: deliveries, errors and log lines.
struct producer {
    std::mutex mutex;
    int delivered = 0, failed = 0;
    std::vector<std::string> messages;  // error_cb and log_cb lines
    rd_kafka_t* rk = nullptr;

    // A produce that cannot complete fails after fail_after_ms (message.timeout.ms).
    producer(const std::string& bootstrap, std::shared_ptr<token_manager> tokens,
             oauth2cc::kafka_options options, int fail_after_ms = 30000) {
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        char why[512];
        for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
                 {"bootstrap.servers", bootstrap},
                 {"security.protocol", "SASL_PLAINTEXT"},
                 {"message.timeout.ms", std::to_string(fail_after_ms)},
                 {"reconnect.backoff.max.ms", "500"}}) {
            REQUIRE(rd_kafka_conf_set(conf, key.c_str(), value.c_str(), why, sizeof why) ==
                    RD_KAFKA_CONF_OK);
        }
        rd_kafka_conf_set_opaque(conf, this);
        rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* self) {
            auto& p = *static_cast<producer*>(self);
            const std::lock_guard<std::mutex> lock(p.mutex);
            (m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? p.delivered : p.failed)++;
        });
        rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int, const char* reason, void* self) {
            auto& p = *static_cast<producer*>(self);
            const std::lock_guard<std::mutex> lock(p.mutex);
            p.messages.emplace_back(reason);
        });
        rd_kafka_conf_set_log_cb(conf,
                                 [](const rd_kafka_t* client, int, const char*, const char* line) {
                                     auto& p = *static_cast<producer*>(rd_kafka_opaque(client));
                                     const std::lock_guard<std::mutex> lock(p.mutex);
                                     p.messages.emplace_back(line);
                                 });
        oauth2cc::kafka_oauthbearer(conf, std::move(tokens), std::move(options));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
        REQUIRE_MESSAGE(rk != nullptr, why);
    }
    ~producer() { rd_kafka_destroy(rk); }
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;

    // Produces one message and serves callbacks until it is delivered or has failed.
    bool produce_one() {
        static std::string value = "hello";
        rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, "dates", nullptr);
        REQUIRE(topic != nullptr);
        REQUIRE(rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(),
                                 value.size(), nullptr, 0, nullptr) == 0);
        rd_kafka_topic_destroy(topic);
        int before = 0;
        {
            const std::lock_guard<std::mutex> lock(mutex);
            before = delivered;
        }
        rd_kafka_flush(rk, 30000);  // returns once the delivery report is served
        const std::lock_guard<std::mutex> lock(mutex);
        return delivered > before;
    }

    bool said(const std::string& text) {
        const std::lock_guard<std::mutex> lock(mutex);
        for (const auto& m : messages) {
            if (m.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

}  // namespace

TEST_SUITE("adapters") {

TEST_CASE("kafka: a produce authenticates with a private_key_jwt token for an audience") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& at = authorization_server();
    const auto broker = start_broker(at);
    const auto cfg = key_client(at);
    auto tokens = std::make_shared<token_manager>(cfg);
    producer p(broker->info().at("bootstrap").get<std::string>(), tokens, with_trace());
    CHECK(p.produce_one());
    CHECK(p.produce_one());
    const json seen = broker->harness_stats();
    CHECK(seen.at("records") == 2);
    REQUIRE(seen.at("authentications").size() >= 1);
    for (const auto& a : seen.at("authentications")) {
        CHECK(a.at("ok") == true);
        CHECK(a.at("client_id") == "key-p256-client");
        CHECK(a.at("extensions").at("traceId") == "run-42");
        CHECK(a.at("aud").dump().find(audience) != std::string::npos);
    }
    CHECK(seen.at("refused_before_auth") == 0);
    CHECK(tokens->stats().fetches == 1);
}

TEST_CASE("kafka: a token for another audience is refused by the broker, and nothing is produced") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& at = authorization_server();
    const auto broker = start_broker(at);
    const auto cfg = key_client(at);
    auto tokens = std::make_shared<token_manager>(cfg);
    auto options = with_trace();
    options.params = oauth2cc::params_of(cfg);
    options.params->resources.clear();  // a token of this entry has no audience
    producer p(broker->info().at("bootstrap").get<std::string>(), tokens, options, 3000);
    CHECK_FALSE(p.produce_one());
    const json seen = broker->harness_stats();
    CHECK(seen.at("records") == 0);
    REQUIRE(seen.at("authentications").size() >= 1);
    CHECK(seen.at("authentications")[0].at("ok") == false);
    CHECK(seen.at("authentications")[0].at("reason") == "the token is not for this audience");
}

TEST_CASE("kafka: no token to be had fails with the library's message") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto at = oauth2cc_test::start_oidc_provider({"--ttl", "3600"});
    const auto broker = start_broker(*at);
    oauth2cc::client_config cfg;
    cfg.token_endpoint = at->info().at("token_endpoint").get<std::string>();
    cfg.client_id = "basic-client";
    cfg.client_secret = oauth2cc::secret{"basic-secret"};
    at->stop();
    auto tokens = std::make_shared<token_manager>(cfg);
    producer p(broker->info().at("bootstrap").get<std::string>(), tokens, {}, 3000);
    CHECK_FALSE(p.produce_one());
    CHECK(p.said("oauth2cc: transport error"));
    CHECK_FALSE(p.said("basic-secret"));
    CHECK(broker->harness_stats().at("authentications").empty());
}

TEST_CASE("kafka: the token is renewed before its expiry, and librdkafka sends the new one") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto at = oauth2cc_test::start_oidc_provider({"--ttl", "10"});
    // This server's tokens carry no audience: the broker here wants none. It closes each
    // connection after a produce, so that every produce authenticates anew.
    const auto broker = start_broker(*at, false, {"--close-after-produce"});
    oauth2cc::client_config cfg;
    cfg.token_endpoint = at->info().at("token_endpoint").get<std::string>();
    cfg.client_id = "basic-client";
    cfg.client_secret = oauth2cc::secret{"basic-secret"};
    auto tokens = std::make_shared<token_manager>(cfg);
    producer p(broker->info().at("bootstrap").get<std::string>(), tokens, with_trace());
    REQUIRE(p.produce_one());
    const auto first = tokens->get();
    const auto expiry = *first->expires_at();
    // The manager renews at its refresh point (5 to 6 s); librdkafka asks again at 80% of
    // the lifetime (8 to 9 s) and is answered from the cache.
    for (int i = 0; i < 300 && tokens->stats().fetches < 2; ++i) rd_kafka_poll(p.rk, 100);
    REQUIRE(tokens->stats().fetches == 2);
    const auto hits = tokens->stats().cache_hits;
    for (int i = 0; i < 300 && tokens->stats().cache_hits == hits; ++i) rd_kafka_poll(p.rk, 100);
    CHECK(std::chrono::steady_clock::now() < expiry);
    // The produce closes its connection; librdkafka connects again at once, with the token
    // it holds now.
    const std::size_t before = broker->harness_stats().at("authentications").size();
    REQUIRE(p.produce_one());
    json seen = broker->harness_stats();
    for (int i = 0; i < 300 && seen.at("authentications").size() <= before; ++i) {
        rd_kafka_poll(p.rk, 100);
        seen = broker->harness_stats();
    }
    const auto& all = seen.at("authentications");
    REQUIRE(all.size() > before);
    CHECK(all.back().at("ok") == true);
    CHECK(all.front().at("token") != all.back().at("token"));
    CHECK(seen.at("records") == 2);
}

TEST_CASE("kafka: the principal is a JWT access token's claim, else the client id") {
    if (!oauth2cc_test::peers_available_or_skip()) return;
    auto& at = authorization_server();
    const auto cfg = key_client(at);
    token_manager tokens(cfg);
    auto jwt = oauth2cc::params_of(cfg);
    jwt.resources = {"https://api-3.example.com/"};  // this resource's tokens are JWTs
    const auto tok = tokens.get(jwt);
    CHECK(oauth2cc::detail::jwt_string_claim(tok->access_token.reveal(), "sub") ==
          "key-p256-client");
    CHECK(oauth2cc::detail::jwt_string_claim(tok->access_token.reveal(), "client_id") ==
          "key-p256-client");
    CHECK(oauth2cc::detail::jwt_string_claim(tok->access_token.reveal(), "nope").empty());
    CHECK(oauth2cc::detail::jwt_string_claim(tokens.get()->access_token.reveal(), "sub").empty());
    oauth2cc::kafka_options bad;
    bad.principal_claim.clear();
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    CHECK_THROWS_AS(oauth2cc::kafka_oauthbearer(conf, std::make_shared<token_manager>(cfg), bad),
                    oauth2cc::error);
    bad = {};
    bad.extensions = {{"auth", "x"}};
    CHECK_THROWS_AS(oauth2cc::kafka_oauthbearer(conf, std::make_shared<token_manager>(cfg), bad),
                    oauth2cc::error);
    bad.extensions = {{"trace-id", "x"}};
    CHECK_THROWS_AS(oauth2cc::kafka_oauthbearer(conf, std::make_shared<token_manager>(cfg), bad),
                    oauth2cc::error);
    rd_kafka_conf_destroy(conf);
}

}  // TEST_SUITE("adapters")
