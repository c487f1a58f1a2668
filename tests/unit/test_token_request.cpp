// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_request.cpp: token requests byte for byte, and the configurations refused.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"

#include <oauth2cc/detail/oauth/token_request.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::credential_encoding;
using oauth2cc::error_kind;
using oauth2cc_test::fake_transport;
using oauth2cc_test::refused_before_sending;
using oauth2cc_test::header_of;

namespace {

nlohmann::json vectors() {
    std::ifstream in(std::string(OAUTH2CC_TEST_VECTORS_DIR) + "/client_auth.json");
    return nlohmann::json::parse(in).at("vectors");
}

client_config config_for(const std::string& id, const std::string& secret_value) {
    client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/oauth2/token";
    cfg.client_id = id;
    cfg.client_secret = oauth2cc::secret{secret_value};
    cfg.scopes = {"read_date", "post_echo"};
    return cfg;
}

const char* ok_body = R"({"access_token":"tok-123","token_type":"Bearer","expires_in":3600})";

// The request cfg makes. An empty secret (RFC 6749 §2.3.1 allows one) is refused before
// any request as a secret left unset, so its vector is checked on the request as built.
oauth2cc::http_request sent(const client_config& cfg) {
    if (cfg.client_secret.empty() && (cfg.auth == auth_method::client_secret_basic ||
                                      cfg.auth == auth_method::client_secret_post)) {
        const auto e = refused_before_sending(cfg);
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find("sends a client secret, and none is set") !=
              std::string::npos);
        return oauth2cc::detail::build_token_request(cfg);
    }
    auto fake = fake_transport::answering(200, ok_body);
    oauth2cc::request_token(cfg, fake);
    REQUIRE(fake.requests.size() == 1);
    return fake.requests.front();
}

}  // namespace

TEST_CASE("token_request: client_secret_basic matches every vector, form-encoded and raw") {
    for (const auto& v : vectors()) {
        const std::string id = v.at("client_id");
        CAPTURE(id);
        auto cfg = config_for(id, v.at("client_secret"));
        const auto req = sent(cfg);
        CHECK(req.method == "POST");
        CHECK(req.url == cfg.token_endpoint);
        CHECK(header_of(req, "Authorization") == v.at("basic_form_urlencoded"));
        CHECK(header_of(req, "Content-Type") == "application/x-www-form-urlencoded");
        CHECK(header_of(req, "Accept") == "application/json");
        CHECK(req.body == "grant_type=client_credentials&scope=read_date+post_echo");

        cfg.basic_encoding = credential_encoding::raw;
        CHECK(header_of(sent(cfg), "Authorization") == v.at("basic_raw"));
    }
}

TEST_CASE("token_request: client_secret_post matches every vector and sends no Authorization") {
    for (const auto& v : vectors()) {
        CAPTURE(v.at("client_id").get<std::string>());
        auto cfg = config_for(v.at("client_id"), v.at("client_secret"));
        cfg.auth = auth_method::client_secret_post;
        const auto req = sent(cfg);
        CHECK(req.body == v.at("post_body_fields_in_this_order"));
        CHECK(header_of(req, "Authorization").empty());
    }
}

TEST_CASE("token_request: a token endpoint that is no URL names the rule it breaks") {
    const auto refused = [](const std::string& url, const std::string& why) {
        auto cfg = config_for("id", "s3cret-Url-9");
        cfg.token_endpoint = url;
        const std::string what = refused_before_sending(cfg).what();
        CHECK_MESSAGE(what.find("token_endpoint " + why) != std::string::npos, what);
        CHECK(what.find("s3cret") == std::string::npos);
        // Only that rule, not a list of them all.
        CHECK(what.find("no user info, no fragment") == std::string::npos);
    };
    refused("https://auth.example.com/token#x", "has a fragment");
    refused("https://id:s3cret-Url-9@auth.example.com/token", "carries user info");
    refused("auth.example.com/token", "has no scheme");
    refused("https://auth.example.com:0/token", "has a port that is not a number");
    refused("", "is empty");
}

TEST_CASE("token_request: none sends the client id alone") {
    auto cfg = config_for("weird:id+1", "ignored-secret");
    cfg.auth = auth_method::none;
    const auto req = sent(cfg);
    CHECK(req.body ==
          "grant_type=client_credentials&scope=read_date+post_echo"
          "&client_id=weird%3Aid%2B1");
    CHECK(header_of(req, "Authorization").empty());
    CHECK(req.body.find("ignored") == std::string::npos);
}

TEST_CASE("token_request: audience, every resource and extra parameters are sent") {
    auto cfg = config_for("c", "s");
    cfg.scopes.clear();
    cfg.audience = "https://api.example.com";
    cfg.resources = {"https://a.example/", "urn:x:y"};
    cfg.extra_params = {{"tenant", "t 1"}};
    CHECK(sent(cfg).body ==
          "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com"
          "&resource=https%3A%2F%2Fa.example%2F&resource=urn%3Ax%3Ay&tenant=t+1");
}

TEST_CASE("token_request: configurations that cannot be sent correctly are refused") {
    auto cfg = config_for("c", "s");
    SUBCASE("plain http to a host that is not loopback") {
        cfg.token_endpoint = "http://auth.example.com/token";
        CHECK(refused_before_sending(cfg).kind() == error_kind::config);
        cfg.allow_insecure_http = true;
        CHECK(sent(cfg).url == cfg.token_endpoint);
    }
    SUBCASE("plain http to loopback is allowed") {
        for (const char* url : {"http://localhost:8080/token", "http://127.0.0.1/token",
                                "http://127.3.4.5:1/t", "http://[::1]:9/token"}) {
            cfg.token_endpoint = url;
            CHECK(sent(cfg).url == url);
        }
        cfg.token_endpoint = "http://127.0.0.1.example.com/token";
        CHECK(refused_before_sending(cfg).kind() == error_kind::config);
    }
    SUBCASE("only canonical loopback spellings count as loopback") {
        // Octal (0127.0.0.1 is 87.0.0.1), leading zeros that send the name to DNS, short
        // and long forms, hex: a resolver may read each as an address off the machine.
        for (const char* url :
             {"http://0127.0.0.1/t", "http://127.0.0.08/t", "http://127.000.0.1/t",
              "http://127.1/t", "http://127.0.0.1.1/t", "http://0x7f.0.0.1/t",
              "http://2130706433/t", "http://127.0.0.256/t", "http://127.0.0./t",
              "http://localhost./t", "http://[0:0:0:0:0:0:0:1]/t", "http://[::ffff:127.0.0.1]/t"}) {
            CAPTURE(url);
            cfg.token_endpoint = url;
            CHECK(refused_before_sending(cfg).kind() == error_kind::config);
        }
        cfg.token_endpoint = "http://127.255.0.0/t";
        CHECK(sent(cfg).url == cfg.token_endpoint);
    }
    SUBCASE("malformed endpoints") {
        for (const char* url :
             {"", "auth.example.com/token", "ftp://a/b", "https://",
              "https://user:pw@auth.example.com/token", "https://a.example/token#frag",
              "https://a.example:99999/", "https://a.example/to ken"}) {
            CAPTURE(url);
            cfg.token_endpoint = url;
            CHECK(refused_before_sending(cfg).kind() == error_kind::config);
        }
    }
    SUBCASE("an empty client id") {
        cfg.client_id.clear();
        CHECK(refused_before_sending(cfg).kind() == error_kind::config);
    }
    SUBCASE("a scope outside the §3.3 character set") {
        for (const char* scope : {"", "two words", "q\"", "b\\s", "\xc3\xbc"}) {
            cfg.scopes = {scope};
            CHECK(refused_before_sending(cfg).kind() == error_kind::config);
        }
    }
    SUBCASE("reserved extra parameter names") {
        for (const char* name : {"grant_type", "client_id", "client_secret", "scope", ""}) {
            cfg.extra_params = {{name, "x"}};
            CHECK(refused_before_sending(cfg).kind() == error_kind::config);
        }
    }
    SUBCASE("a client certificate without its key") {
        cfg.tls.client_cert_file = "client.pem";
        CHECK(refused_before_sending(cfg).kind() == error_kind::config);
    }
    SUBCASE("non-positive timeouts") {
        cfg.read_timeout = std::chrono::milliseconds(0);
        CHECK(refused_before_sending(cfg).kind() == error_kind::config);
    }
    SUBCASE("credentials in a refused endpoint URL never appear in the refusal") {
        cfg.token_endpoint = "https://user:URLPASS-55@auth.example.com/token";
        const std::string what = refused_before_sending(cfg).what();
        CHECK(what.find("URLPASS-55") == std::string::npos);
    }
    SUBCASE("the secret never appears in the refusal") {
        cfg.client_secret = oauth2cc::secret{"SECRET-abc-987"};
        cfg.token_endpoint = "http://auth.example.com/token";
        CHECK(std::string(refused_before_sending(cfg).what()).find("SECRET-abc-987") ==
              std::string::npos);
    }
}

TEST_CASE("to_string(auth_method): the RFC 7591 names, as discovery lists them") {
    using oauth2cc::auth_method;
    CHECK(oauth2cc::to_string(auth_method::client_secret_basic) == "client_secret_basic");
    CHECK(oauth2cc::to_string(auth_method::client_secret_post) == "client_secret_post");
    CHECK(oauth2cc::to_string(auth_method::none) == "none");
    CHECK(oauth2cc::to_string(auth_method::client_secret_jwt) == "client_secret_jwt");
    CHECK(oauth2cc::to_string(auth_method::private_key_jwt) == "private_key_jwt");
    CHECK(oauth2cc::to_string(auth_method::client_assertion) == "client_assertion");
    CHECK(oauth2cc::to_string(auth_method::tls_client_auth) == "tls_client_auth");
    CHECK(oauth2cc::to_string(auth_method::self_signed_tls_client_auth) ==
          "self_signed_tls_client_auth");
}
