// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_client_assertion.cpp: signing keys, their JWKs and thumbprints, and the JWTs that
// client_secret_jwt, private_key_jwt and client_assertion send, each signature checked
// by OpenSSL against the public JWK alone.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"
#include "../support/jwt_check.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/detail/oauth/cache_key.hpp>
#include <oauth2cc/detail/crypto/jose.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

using oauth2cc::auth_method;
using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc::jws_alg;
using oauth2cc::signing_key;
using oauth2cc_test::fake_transport;
using oauth2cc_test::thrown_by;
using oauth2cc_test::refused_before_sending;
using oauth2cc_test::base64url_decode;
using oauth2cc_test::split_jwt;
using oauth2cc_test::verifies;
using oauth2cc_test::pkey_ptr;
using oauth2cc_test::jwt_parts;

namespace {

const char* ok_body = R"({"access_token":"tok-123","token_type":"Bearer","expires_in":3600})";

std::string pem_of(EVP_PKEY* key, bool traditional) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (traditional) {
        REQUIRE(PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr,
                                                     nullptr) == 1);
    } else {
        REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

client_config jwt_config(auth_method method) {
    client_config cfg;
    cfg.token_endpoint = "https://auth.example.com/oauth2/token";
    cfg.client_id = "svc-\"quoted\"";
    cfg.auth = method;
    return cfg;
}

std::string field_of(const std::string& body, const std::string& name) {
    auto fields = oauth2cc::detail::parse_form(body);
    REQUIRE(fields);
    for (auto& [k, v] : *fields) {
        if (k == name) return v;
    }
    return {};
}

const jws_alg every_key_alg[] = {jws_alg::rs256, jws_alg::ps256, jws_alg::es256, jws_alg::es384,
                                 jws_alg::eddsa};

}  // namespace

TEST_CASE("signing_key: the RFC 7638 §3.1 thumbprint example") {
    const nlohmann::json jwk = {
        {"kty", "RSA"},
        {"n",
         "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSo"
         "c_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YG"
         "jQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
         "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnq"
         "DKgw"},
        {"e", "AQAB"},
        {"alg", "RS256"},
        {"kid", "2011-04-29"}};
    CHECK(oauth2cc::detail::jwk_thumbprint_of(jwk) ==
          "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    // Members other than the required ones, and their order, do not count.
    nlohmann::json bare = {{"e", "AQAB"}, {"kty", "RSA"}, {"n", jwk.at("n")}};
    CHECK(oauth2cc::detail::jwk_thumbprint_of(bare) == oauth2cc::detail::jwk_thumbprint_of(jwk));
}

TEST_CASE("signing_key: every algorithm signs what OpenSSL verifies from the public JWK alone") {
    for (const jws_alg alg : every_key_alg) {
        const std::string name = std::string(oauth2cc::to_string(alg));
        CAPTURE(name);
        const signing_key key = signing_key::generate(alg);
        CHECK(key.alg() == alg);
        const nlohmann::json jwk = key.public_jwk();
        for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}) {
            CHECK_FALSE(jwk.contains(priv));
        }
        CHECK(jwk.at("alg") == name);
        CHECK(jwk.at("use") == "sig");
        CHECK(key.kid() == key.jwk_thumbprint());
        CHECK(jwk.at("kid") == key.kid());
        CHECK(key.jwk_thumbprint().size() == 43);
        CHECK(key.jwk_thumbprint() == oauth2cc::detail::jwk_thumbprint_of(jwk));
        const std::string input = "eyJhbGciOiJ0ZXN0In0.eyJzdWIiOiJ4In0";
        const std::string sig = key.sign(input);
        if (alg == jws_alg::es256) CHECK(sig.size() == 64);
        if (alg == jws_alg::es384) CHECK(sig.size() == 96);
        if (alg == jws_alg::eddsa) CHECK(sig.size() == 64);
        CHECK(verifies(jwk, name, input, sig));
        CHECK_FALSE(verifies(jwk, name, input + "x", sig));
        // Copies share the key.
        const signing_key copy = key;  // NOLINT(performance-unnecessary-copy-initialization)
        CHECK(verifies(jwk, name, input, copy.sign(input)));
    }
    // EC coordinates are fixed-size, leading zeros kept.
    for (int i = 0; i < 16; ++i) {
        const auto jwk = signing_key::generate(jws_alg::es256).public_jwk();
        CHECK(base64url_decode(jwk.at("x")).size() == 32);
        CHECK(base64url_decode(jwk.at("y")).size() == 32);
    }
    CHECK(thrown_by([] { signing_key::generate(jws_alg::hs256); }).kind() ==
          oauth2cc::error_kind::config);
}

TEST_CASE("signing_key: PEM in PKCS#8 and traditional form, and each refusal a config error") {
    pkey_ptr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}), EVP_PKEY_free);
    pkey_ptr p256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
    pkey_ptr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), EVP_PKEY_free);
    pkey_ptr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
    for (bool traditional : {false, true}) {
        CHECK(signing_key::from_pem(pem_of(rsa.get(), traditional)).alg() == jws_alg::rs256);
        CHECK(signing_key::from_pem(pem_of(p256.get(), traditional)).alg() == jws_alg::es256);
        CHECK(signing_key::from_pem(pem_of(p384.get(), traditional)).alg() == jws_alg::es384);
    }
    CHECK(signing_key::from_pem(pem_of(ed.get(), false)).alg() == jws_alg::eddsa);
    const auto ps = signing_key::from_pem(pem_of(rsa.get(), false), "k1", jws_alg::ps256);
    CHECK(ps.alg() == jws_alg::ps256);
    CHECK(ps.kid() == "k1");
    CHECK(verifies(ps.public_jwk(), "PS256", "abc", ps.sign("abc")));

    const auto refused = [](const std::string& pem, std::optional<jws_alg> alg,
                            const std::string& says) {
        try {
            signing_key::from_pem(pem, {}, alg);
            FAIL("accepted");
        } catch (const oauth2cc::error& e) {
            CHECK(e.kind() == error_kind::config);
            CHECK(std::string(e.what()).find(says) != std::string::npos);
            // The key's text is never quoted.
            CHECK(std::string(e.what()).find("MII") == std::string::npos);
            CHECK(std::string(e.what()).find("-----") == std::string::npos);
        }
    };
    refused(pem_of(p256.get(), false), jws_alg::rs256, "cannot sign RS256");
    refused(pem_of(rsa.get(), false), jws_alg::es256, "cannot sign ES256");
    refused(pem_of(rsa.get(), false), jws_alg::hs256, "client secret");
    refused("not a key at all", std::nullopt, "no private key");
    refused("", std::nullopt, "no private key");

    pkey_ptr small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}), EVP_PKEY_free);
    refused(pem_of(small.get(), false), std::nullopt, "1024 bits");
    pkey_ptr k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"), EVP_PKEY_free);
    refused(pem_of(k1.get(), false), std::nullopt, "curve other than");

    // A public key is not a private key.
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(bio, p256.get()) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    const std::string pub(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    refused(pub, std::nullopt, "no private key");

    // An encrypted key is refused as such, and no passphrase is asked for on a terminal.
    bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio, p256.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                          const_cast<char*>("pass")) == 1);
    data = nullptr;
    const long m = BIO_get_mem_data(bio, &data);
    const std::string encrypted(data, static_cast<std::size_t>(m));
    BIO_free(bio);
    refused(encrypted, std::nullopt, "encrypted");
}

TEST_CASE("signing_key: from_pem_file names the file, never its content") {
    const std::string path = "oauth2cc-test-key.pem";
    std::remove(path.c_str());
    try {
        signing_key::from_pem_file(path);
        FAIL("a missing file was read");
    } catch (const oauth2cc::error& e) {
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
    {
        std::ofstream out(path);
        out << "-----BEGIN PRIVATE KEY-----\nU0VDUkVULUtFWS1CWVRFUw==\n-----END PRIVATE KEY-----\n";
    }
    try {
        signing_key::from_pem_file(path);
        FAIL("a broken key was read");
    } catch (const oauth2cc::error& e) {
        CHECK(std::string(e.what()).find(path) != std::string::npos);
        CHECK(std::string(e.what()).find("U0VDUkVU") == std::string::npos);
    }
    pkey_ptr p256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
    {
        std::ofstream out(path);
        out << pem_of(p256.get(), false);
    }
    CHECK(signing_key::from_pem_file(path, "kid-1").kid() == "kid-1");
    std::remove(path.c_str());
}

TEST_CASE("private_key_jwt: a signed assertion per request, claims as RFC 7523 §3 wants") {
    for (const jws_alg alg : every_key_alg) {
        const std::string name = std::string(oauth2cc::to_string(alg));
        CAPTURE(name);
        client_config cfg = jwt_config(auth_method::private_key_jwt);
        cfg.client_key = signing_key::generate(alg);
        const nlohmann::json jwk = cfg.client_key->public_jwk();
        auto fake = fake_transport::answering(200, ok_body);
        oauth2cc::token_client client(
            cfg, std::shared_ptr<oauth2cc::transport>(&fake, [](oauth2cc::transport*) {}));
        client.fetch();
        client.fetch();
        REQUIRE(fake.requests.size() == 2);
        std::set<std::string> jtis;
        for (const auto& req : fake.requests) {
            CHECK(oauth2cc_test::header_of(req, "Authorization").empty());
            CHECK(field_of(req.body, "client_id") == cfg.client_id);
            CHECK(field_of(req.body, "client_secret").empty());
            CHECK(field_of(req.body, "client_assertion_type") ==
                  "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
            CHECK(field_of(req.body, "grant_type") == "client_credentials");
            const jwt_parts jwt = split_jwt(field_of(req.body, "client_assertion"));
            CHECK(jwt.header.at("alg") == name);
            CHECK(jwt.header.at("typ") == "JWT");
            CHECK(jwt.header.at("kid") == cfg.client_key->kid());
            CHECK(jwt.claims.at("iss") == cfg.client_id);
            CHECK(jwt.claims.at("sub") == cfg.client_id);
            CHECK(jwt.claims.at("aud") == cfg.token_endpoint);
            const std::string jti = jwt.claims.at("jti");
            CHECK(base64url_decode(jti).size() >= 16);
            jtis.insert(jti);
            const std::int64_t iat = jwt.claims.at("iat");
            const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
            CHECK(iat <= now);
            CHECK(iat > now - 600);
            CHECK(jwt.claims.at("exp").get<std::int64_t>() == iat + 60);
            CHECK(verifies(jwk, name, jwt.signing_input, jwt.signature));
        }
        CHECK(jtis.size() == 2);
    }
}

TEST_CASE("private_key_jwt: assertion_audience, assertion_lifetime and a key without kid") {
    client_config cfg = jwt_config(auth_method::private_key_jwt);
    pkey_ptr p256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
    cfg.client_key = signing_key::from_pem(pem_of(p256.get(), false));
    cfg.assertion_audience = "https://auth.example.com/";
    cfg.assertion_lifetime = std::chrono::seconds(300);
    auto fake = fake_transport::answering(200, ok_body);
    oauth2cc::request_token(cfg, fake);
    const jwt_parts jwt = split_jwt(field_of(fake.requests.at(0).body, "client_assertion"));
    CHECK_FALSE(jwt.header.contains("kid"));
    CHECK(jwt.claims.at("aud") == "https://auth.example.com/");
    CHECK(jwt.claims.at("exp").get<std::int64_t>() - jwt.claims.at("iat").get<std::int64_t>() ==
          300);

    client_config no_key = jwt_config(auth_method::private_key_jwt);
    CHECK(refused_before_sending(no_key).kind() == error_kind::config);
    cfg.assertion_lifetime = std::chrono::seconds(0);
    CHECK(refused_before_sending(cfg).kind() == error_kind::config);
    cfg.assertion_lifetime = std::chrono::seconds(60);
    cfg.extra_params = {{"client_assertion", "x"}};
    CHECK(refused_before_sending(cfg).kind() == error_kind::config);
}

TEST_CASE("client_secret_jwt: HS256 under the secret, which never travels") {
    client_config cfg = jwt_config(auth_method::client_secret_jwt);
    const std::string secret_text = "0123456789abcdef0123456789abcdef-hs256";
    cfg.client_secret = oauth2cc::secret{secret_text};
    auto fake = fake_transport::answering(200, ok_body);
    oauth2cc::request_token(cfg, fake);
    const auto& req = fake.requests.at(0);
    CHECK(req.body.find(secret_text) == std::string::npos);
    CHECK(req.body.find(oauth2cc::detail::form_encode(secret_text)) == std::string::npos);
    CHECK(oauth2cc_test::header_of(req, "Authorization").empty());
    const jwt_parts jwt = split_jwt(field_of(req.body, "client_assertion"));
    CHECK(jwt.header.at("alg") == "HS256");
    CHECK_FALSE(jwt.header.contains("kid"));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret_text.data(), static_cast<int>(secret_text.size()),
         reinterpret_cast<const unsigned char*>(jwt.signing_input.data()), jwt.signing_input.size(),
         mac, &length);
    CHECK(jwt.signature == std::string(reinterpret_cast<const char*>(mac), length));

    cfg.client_secret = oauth2cc::secret{"short-secret"};
    const auto e = refused_before_sending(cfg);
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("32 bytes") != std::string::npos);
    CHECK(std::string(e.what()).find("short-secret") == std::string::npos);
}

TEST_CASE(
    "client_assertion: the source is asked for every request; its failures are config "
    "errors that quote nothing") {
    client_config cfg = jwt_config(auth_method::client_assertion);
    CHECK(refused_before_sending(cfg).kind() == error_kind::config);  // no source

    int calls = 0;
    cfg.client_assertion = [&calls] { return "eyJ.assertion." + std::to_string(++calls); };
    auto fake = fake_transport::answering(200, ok_body);
    oauth2cc::token_client client(
        cfg, std::shared_ptr<oauth2cc::transport>(&fake, [](oauth2cc::transport*) {}));
    client.fetch();
    client.fetch();
    REQUIRE(fake.requests.size() == 2);
    CHECK(field_of(fake.requests[0].body, "client_assertion") == "eyJ.assertion.1");
    CHECK(field_of(fake.requests[1].body, "client_assertion") == "eyJ.assertion.2");
    CHECK(field_of(fake.requests[1].body, "client_id") == cfg.client_id);

    const auto fails = [&](std::function<std::string()> source, const std::string& says) {
        client_config bad = cfg;
        bad.client_assertion = std::move(source);
        auto never = fake_transport::answering(200, ok_body);
        try {
            oauth2cc::request_token(bad, never);
            FAIL("the request was made");
        } catch (const oauth2cc::error& e) {
            CHECK(e.kind() == error_kind::config);
            CHECK(std::string(e.what()).find(says) != std::string::npos);
            CHECK(std::string(e.what()).find("SECRET-IN-MESSAGE") == std::string::npos);
        }
        CHECK(never.requests.empty());
    };
    fails([]() -> std::string { throw std::runtime_error("SECRET-IN-MESSAGE"); }, "threw");
    fails([] { return std::string(); }, "returned nothing");
    fails([] { return std::string("SECRET-IN-MESSAGE with space"); }, "spaces");
}

TEST_CASE("client_assertion: an echoed assertion is hidden in the error") {
    client_config cfg = jwt_config(auth_method::client_assertion);
    cfg.client_assertion = [] { return std::string("eyJhbGciOi.ECHOED-ASSERTION.sig"); };
    auto fake = fake_transport::answering(
        400,
        R"({"error":"invalid_client","error_description":"bad eyJhbGciOi.ECHOED-ASSERTION.sig"})");
    try {
        oauth2cc::request_token(cfg, fake);
        FAIL("no error");
    } catch (const oauth2cc::error& e) {
        CHECK(e.oauth_error() == "invalid_client");
        CHECK(std::string(e.what()).find("ECHOED-ASSERTION") == std::string::npos);
        CHECK(e.error_description().find("ECHOED-ASSERTION") == std::string::npos);
    }
}

TEST_CASE("assertion_from_file: read afresh each time, trimmed; a missing file is named") {
    const std::string path = "oauth2cc-test-assertion.jwt";
    const auto source = oauth2cc::assertion_from_file(path);
    std::remove(path.c_str());
    try {
        source();
        FAIL("a missing file was read");
    } catch (const oauth2cc::error& e) {
        CHECK(e.kind() == error_kind::config);
        CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
    { std::ofstream(path) << "eyJ.first.sig\n"; }
    CHECK(source() == "eyJ.first.sig");
    { std::ofstream(path) << "  eyJ.second.sig\r\n"; }
    CHECK(source() == "eyJ.second.sig");
    { std::ofstream(path) << "\n"; }
    CHECK(thrown_by([&] { source(); }).kind() == oauth2cc::error_kind::config);
    std::remove(path.c_str());
}

TEST_CASE("cache_key: private_key_jwt keys by the key's thumbprint, never the key") {
    client_config a = jwt_config(auth_method::private_key_jwt);
    a.client_key = signing_key::generate(jws_alg::es256);
    client_config b = a;
    b.client_key = signing_key::generate(jws_alg::es256);
    const std::string key_a = oauth2cc::detail::cache_key(a);
    CHECK(key_a != oauth2cc::detail::cache_key(b));
    CHECK(key_a.find(a.client_key->jwk_thumbprint()) != std::string::npos);
    CHECK(key_a == oauth2cc::detail::cache_key(a));
    client_config c = a;
    c.assertion_audience = "https://issuer.example/";
    CHECK(key_a != oauth2cc::detail::cache_key(c));
}
