// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_dpop.cpp: DPoP (RFC 9449): each proof's header and claims, its signature verified
// by OpenSSL from the embedded JWK alone; proofs on token requests and resource calls,
// the nonces of both, and the token type rules.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"
#include "../support/jwt_check.hpp"
#include "../support/recording_observer.hpp"
#include "../support/local_server.hpp"
#include "../support/test_helpers.hpp"

#include <oauth2cc/detail/oauth/cache_key.hpp>
#include <oauth2cc/detail/oauth/dpop.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>

#include <ctime>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using oauth2cc::client_config;
using oauth2cc::error_kind;
using oauth2cc::http_request;
using oauth2cc::http_response;
using oauth2cc::jws_alg;
using oauth2cc::signing_key;
using oauth2cc_test::fake_transport;
using oauth2cc_test::header_of;
using oauth2cc_test::split_jwt;
using oauth2cc_test::thrown_by;
using oauth2cc_test::verifies;

namespace {

const char* token_url = "https://auth.example.com/oauth2/token";

// base64url(SHA-256(text)), computed here with OpenSSL's own encoder.
std::string ath_of(const std::string& text) {
    unsigned char digest[32];
    unsigned int n = 0;
    REQUIRE(EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr) == 1);
    unsigned char b64[64];
    const int len = EVP_EncodeBlock(b64, digest, static_cast<int>(n));
    std::string out(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(len));
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    return out;
}

// The key shared by the tests below: one EC key per test binary is cheap.
const signing_key& p256() {
    static const signing_key key = signing_key::generate(jws_alg::es256);
    return key;
}

client_config dpop_config() {
    client_config cfg;
    cfg.token_endpoint = token_url;
    cfg.client_id = "svc";
    cfg.client_secret = oauth2cc::secret{"s3cret"};
    cfg.dpop_key = p256();
    return cfg;
}

http_response json_answer(int status, const std::string& body,
                          oauth2cc::name_value_list headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    return {status, headers, body};
}

http_response dpop_token(const std::string& token) {
    return json_answer(
        200, R"({"access_token":")" + token + R"(","token_type":"DPoP","expires_in":3600})");
}

// The claims of the DPoP proof a request carried; fails when it has none.
nlohmann::json proof_claims(const http_request& req) {
    const std::string proof = header_of(req, "DPoP");
    REQUIRE_FALSE(proof.empty());
    const auto jwt = split_jwt(proof);
    CHECK(verifies(jwt.header.at("jwk"), jwt.header.at("alg"), jwt.signing_input, jwt.signature));
    return jwt.claims;
}

}  // namespace

TEST_CASE("DPoP proof: header and claims as RFC 9449 §4.2 says, verified from its own JWK") {
    std::vector<signing_key> keys{p256(), signing_key::generate(jws_alg::es384),
                                  signing_key::generate(jws_alg::eddsa)};
    for (const signing_key& key : keys) {
        CAPTURE(std::string(oauth2cc::to_string(key.alg())));
        const oauth2cc::detail::dpop_prover prover(key);
        const std::string proof = prover.proof_at(
            "GET", "https://api.example.com/v1/items?limit=5#top", "n-1", "tok-abc", 1700000000);
        const auto jwt = split_jwt(proof);
        CHECK(jwt.header.size() == 3);
        CHECK(jwt.header.at("typ") == "dpop+jwt");
        CHECK(jwt.header.at("alg") == std::string(oauth2cc::to_string(key.alg())));
        const nlohmann::json& jwk = jwt.header.at("jwk");
        CHECK_FALSE(jwk.contains("d"));
        CHECK(oauth2cc::detail::jwk_thumbprint_of(jwk) == key.jwk_thumbprint());
        CHECK(prover.thumbprint() == key.jwk_thumbprint());
        CHECK(verifies(jwk, jwt.header.at("alg"), jwt.signing_input, jwt.signature));

        CHECK(jwt.claims.size() == 6);
        CHECK(jwt.claims.at("htm") == "GET");
        CHECK(jwt.claims.at("htu") == "https://api.example.com/v1/items");
        CHECK(jwt.claims.at("iat") == 1700000000);
        CHECK(jwt.claims.at("nonce") == "n-1");
        CHECK(jwt.claims.at("ath") == ath_of("tok-abc"));
        CHECK(jwt.claims.at("jti").get<std::string>().size() >= 22);
    }
    SUBCASE("no nonce and no token: neither claim") {
        const auto claims =
            split_jwt(oauth2cc::detail::dpop_prover(p256()).proof("POST", token_url)).claims;
        CHECK(claims.size() == 4);
        CHECK(claims.at("htu") == token_url);
    }
    SUBCASE(
        "the path escaped as the transport sends it: '\"', '\\', '|', '^', '{', '}', non-ASCII") {
        const auto claims =
            split_jwt(oauth2cc::detail::dpop_prover(p256()).proof(
                          "GET", "https://h.example/a\"b\\c|d^e{f}g/\xC3\xA9%41?q=\"#frag"))
                .claims;
        CHECK(claims.at("htu") == "https://h.example/a%22b%5Cc%7Cd%5Ee%7Bf%7Dg/%C3%A9%41");
    }
    SUBCASE("jti never repeats") {
        const oauth2cc::detail::dpop_prover prover(p256());
        std::set<std::string> ids;
        for (int i = 0; i < 500; ++i) {
            ids.insert(split_jwt(prover.proof("GET", "https://a.example/")).claims.at("jti"));
        }
        CHECK(ids.size() == 500);
    }
}

TEST_CASE("DPoP nonces: only RFC 9449 nonce text is kept, per origin, most recent kept") {
    using oauth2cc::detail::is_dpop_nonce;
    CHECK(is_dpop_nonce("eyJ7S_zG.9-~!#$"));
    CHECK_FALSE(is_dpop_nonce(""));
    CHECK_FALSE(is_dpop_nonce("a b"));
    CHECK_FALSE(is_dpop_nonce("a\"b"));
    CHECK_FALSE(is_dpop_nonce("a\\b"));
    CHECK_FALSE(is_dpop_nonce("caf\xC3\xA9"));
    CHECK_FALSE(is_dpop_nonce(std::string(oauth2cc::detail::max_dpop_nonce_bytes + 1, 'a')));
    oauth2cc::detail::dpop_nonces nonces;
    CHECK(nonces.put("https://a:443", "n1"));
    CHECK_FALSE(nonces.put("https://a:443", "n1"));
    CHECK_FALSE(nonces.put("https://a:443", "bad nonce"));
    CHECK(nonces.get("https://a:443") == "n1");
    CHECK(nonces.get("https://b:443").empty());
    for (std::size_t i = 0; i < oauth2cc::detail::dpop_nonces::max_origins; ++i) {
        nonces.put("https://o" + std::to_string(i) + ":443", "x");
    }
    CHECK(nonces.get("https://a:443").empty());  // the oldest gave way
    CHECK(nonces.get("https://o1:443") == "x");
}

TEST_CASE("DPoP token request: a proof on each request; the DPoP token type only with a key") {
    auto fake = fake_transport([](const http_request&) { return dpop_token("tok-1"); });
    const client_config cfg = dpop_config();
    const oauth2cc::token t = oauth2cc::request_token(cfg, fake);
    CHECK(t.token_type == "DPoP");
    oauth2cc::request_token(cfg, fake);
    REQUIRE(fake.requests.size() == 2);
    const auto first = proof_claims(fake.requests[0]);
    CHECK(first.at("htm") == "POST");
    CHECK(first.at("htu") == token_url);
    CHECK_FALSE(first.contains("ath"));
    CHECK_FALSE(first.contains("nonce"));
    CHECK(proof_claims(fake.requests[1]).at("jti") != first.at("jti"));
    // The client still authenticates as configured.
    CHECK(header_of(fake.requests[0], "Authorization").rfind("Basic ", 0) == 0);

    SUBCASE("the type's case does not matter; Bearer stays Bearer") {
        auto lower = fake_transport::answering(
            200, R"({"access_token":"t","token_type":"dpop","expires_in":60})");
        CHECK(oauth2cc::request_token(cfg, lower).token_type == "DPoP");
        auto bearer = fake_transport::answering(
            200, R"({"access_token":"t","token_type":"Bearer","expires_in":60})");
        CHECK(oauth2cc::request_token(cfg, bearer).token_type == "Bearer");
    }
    SUBCASE("without a key, a DPoP token is refused, and no proof was sent") {
        client_config plain = cfg;
        plain.dpop_key.reset();
        auto f = fake_transport([](const http_request&) { return dpop_token("tok-1"); });
        const auto e = thrown_by([&] { oauth2cc::request_token(plain, f); });
        CHECK(e.kind() == error_kind::bad_response);
        CHECK(std::string(e.what()).find("dpop_key") != std::string::npos);
        CHECK(header_of(f.requests.at(0), "DPoP").empty());
    }
}

TEST_CASE("DPoP nonce at the token endpoint: one retry with it, kept for later, never a loop") {
    const auto use_nonce = [](const std::string& nonce, const char* code = "use_dpop_nonce") {
        return json_answer(400, std::string(R"({"error":")") + code + R"("})",
                           {{"DPoP-Nonce", nonce}});
    };
    SUBCASE("asked once: the retry carries the nonce, and so does the next request") {
        int n = 0;
        fake_transport fake([&](const http_request&) {
            return ++n == 1 ? use_nonce("as-n1") : dpop_token("tok-" + std::to_string(n));
        });
        oauth2cc::token_client client(dpop_config(), std::shared_ptr<oauth2cc::transport>(
                                                         &fake, [](oauth2cc::transport*) {}));
        CHECK(client.fetch().access_token.reveal() == "tok-2");
        REQUIRE(fake.requests.size() == 2);
        CHECK_FALSE(proof_claims(fake.requests[0]).contains("nonce"));
        CHECK(proof_claims(fake.requests[1]).at("nonce") == "as-n1");
        client.fetch();
        CHECK(proof_claims(fake.requests.at(2)).at("nonce") == "as-n1");
    }
    SUBCASE("a server that always wants another nonce gets two requests, then an error") {
        int n = 0;
        fake_transport fake(
            [&](const http_request&) { return use_nonce("n" + std::to_string(++n)); });
        const auto e = thrown_by([&] { oauth2cc::request_token(dpop_config(), fake); });
        CHECK(e.kind() == error_kind::oauth);
        CHECK(e.oauth_error() == "use_dpop_nonce");
        CHECK(fake.requests.size() == 2);
    }
    SUBCASE("use_dpop_nonce without a nonce, or with a malformed one: no retry") {
        auto bare = fake_transport::answering(400, R"({"error":"use_dpop_nonce"})");
        CHECK(thrown_by([&] { oauth2cc::request_token(dpop_config(), bare); }).oauth_error() ==
              "use_dpop_nonce");
        CHECK(bare.requests.size() == 1);
        fake_transport bad([&](const http_request&) { return use_nonce("has space"); });
        thrown_by([&] { oauth2cc::request_token(dpop_config(), bad); });
        CHECK(bad.requests.size() == 1);
    }
    SUBCASE("a proof refused for its clock, with a nonce to use instead: one retry") {
        int n = 0;
        fake_transport fake([&](const http_request&) {
            return ++n == 1 ? use_nonce("skew-n", "invalid_dpop_proof") : dpop_token("tok");
        });
        CHECK(oauth2cc::request_token(dpop_config(), fake).token_type == "DPoP");
        CHECK(proof_claims(fake.requests.at(1)).at("nonce") == "skew-n");
    }
    SUBCASE("a nonce given with a token is used next time") {
        int n = 0;
        fake_transport fake([&](const http_request&) {
            auto res = dpop_token("tok");
            if (++n == 1) res.headers.emplace_back("DPoP-Nonce", "rotated");
            return res;
        });
        oauth2cc::token_client client(dpop_config(), std::shared_ptr<oauth2cc::transport>(
                                                         &fake, [](oauth2cc::transport*) {}));
        client.fetch();
        client.fetch();
        CHECK(proof_claims(fake.requests.at(1)).at("nonce") == "rotated");
    }
    SUBCASE("a token_manager tells its observer of the retry") {
        int n = 0;
        auto fake = std::make_shared<fake_transport>([&](const http_request&) {
            return ++n == 1 ? use_nonce("as-n1") : dpop_token("tok-" + std::to_string(n));
        });
        auto observer = std::make_shared<oauth2cc_test::recording_observer>();
        oauth2cc::token_manager tokens(dpop_config(), {}, fake);
        tokens.set_observer(observer);
        CHECK(tokens.get()->access_token.reveal() == "tok-2");
        CHECK(observer->count("request success nonce") == 1);
        CHECK(observer->count_prefix("request") == 1);
    }
    SUBCASE("without a DPoP key, use_dpop_nonce is an error like any other") {
        client_config plain = dpop_config();
        plain.dpop_key.reset();
        fake_transport fake([&](const http_request&) { return use_nonce("n"); });
        thrown_by([&] { oauth2cc::request_token(plain, fake); });
        CHECK(fake.requests.size() == 1);
    }
}

TEST_CASE(
    "request_headers: Bearer, or DPoP with a proof for that call; authorization_header "
    "refuses a DPoP token") {
    auto fake = std::make_shared<fake_transport>(
        [](const http_request&) { return dpop_token("tok-dpop"); });
    oauth2cc::token_manager tokens(dpop_config(), {}, fake);
    const auto headers = tokens.request_headers("PATCH", "https://api.example.com/v1/x?y=1");
    REQUIRE(headers.size() == 2);
    CHECK(headers[0] == std::make_pair(std::string("Authorization"), std::string("DPoP tok-dpop")));
    CHECK(headers[1].first == "DPoP");
    http_request as_sent;
    as_sent.headers = headers;
    const auto claims = proof_claims(as_sent);
    CHECK(claims.at("htm") == "PATCH");
    CHECK(claims.at("htu") == "https://api.example.com/v1/x");
    CHECK(claims.at("ath") == ath_of("tok-dpop"));
    CHECK_FALSE(claims.contains("nonce"));

    const auto e = thrown_by([&] { tokens.authorization_header(); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("request_headers") != std::string::npos);
    CHECK(thrown_by([&] { tokens.request_headers("GET", "/relative"); }).kind() ==
          error_kind::config);

    SUBCASE("a resource server's nonce goes to that origin only") {
        CHECK(tokens.set_dpop_nonce("https://api.example.com/other", "rs-1"));
        CHECK_FALSE(tokens.set_dpop_nonce("https://api.example.com:443/", "rs-1"));
        CHECK_FALSE(tokens.set_dpop_nonce("https://api.example.com/", "not a nonce"));
        http_request r;
        r.headers = tokens.request_headers("GET", "https://api.example.com/v1");
        CHECK(proof_claims(r).at("nonce") == "rs-1");
        r.headers = tokens.request_headers("GET", "https://other.example.com/v1");
        CHECK_FALSE(proof_claims(r).contains("nonce"));
    }
    SUBCASE("a Bearer token gets the Bearer header alone") {
        auto bearer = std::make_shared<fake_transport>(fake_transport::answering(
            200, R"({"access_token":"tok-b","token_type":"Bearer","expires_in":3600})"));
        client_config cfg = dpop_config();
        cfg.dpop_key.reset();
        oauth2cc::token_manager plain(cfg, {}, bearer);
        CHECK(plain.request_headers("GET", "https://api.example.com/") ==
              oauth2cc::name_value_list{{"Authorization", "Bearer tok-b"}});
        CHECK(plain.authorization_header() == "Bearer tok-b");
    }
}

TEST_CASE(
    "authorized_client with DPoP: a proof per call, a nonce answered once, "
    "invalid_token once") {
    int tokens_issued = 0;
    std::vector<http_request> api_calls;
    std::function<http_response(const http_request&)> api;
    auto fake = std::make_shared<fake_transport>([&](const http_request& req) {
        if (req.url == token_url) return dpop_token("tok-" + std::to_string(++tokens_issued));
        api_calls.push_back(req);
        return api(req);
    });
    oauth2cc::token_manager tokens(dpop_config(), {}, fake);
    auto observer = std::make_shared<oauth2cc_test::recording_observer>();
    tokens.set_observer(observer);
    oauth2cc::authorized_client client("https://api.example.com/v1", tokens, {}, fake);
    const auto ok = [](oauth2cc::name_value_list headers = {}) {
        return http_response{200, std::move(headers), "ok"};
    };
    const auto challenge = [](const std::string& error, oauth2cc::name_value_list headers = {}) {
        headers.emplace_back("WWW-Authenticate", "DPoP error=\"" + error + "\", algs=\"ES256\"");
        return http_response{401, std::move(headers), ""};
    };

    SUBCASE("each call carries a new proof for its method and URL") {
        api = [&](const http_request&) { return ok(); };
        client.post("/items?draft=1", "{}");
        client.get("/items");
        REQUIRE(api_calls.size() == 2);
        CHECK(header_of(api_calls[0], "Authorization") == "DPoP tok-1");
        const auto a = proof_claims(api_calls[0]);
        const auto b = proof_claims(api_calls[1]);
        CHECK(a.at("htm") == "POST");
        CHECK(a.at("htu") == "https://api.example.com/v1/items");
        CHECK(a.at("ath") == ath_of("tok-1"));
        CHECK(b.at("htm") == "GET");
        CHECK(a.at("jti") != b.at("jti"));
    }
    SUBCASE("use_dpop_nonce: one retry with the nonce and the same token; kept after") {
        int n = 0;
        api = [&](const http_request&) {
            ++n;
            if (n == 1) return challenge("use_dpop_nonce", {{"DPoP-Nonce", "rs-1"}});
            if (n == 2) return ok({{"DPoP-Nonce", "rs-2"}});
            return ok();
        };
        CHECK(client.get("/items").status == 200);
        REQUIRE(api_calls.size() == 2);
        CHECK_FALSE(proof_claims(api_calls[0]).contains("nonce"));
        CHECK(proof_claims(api_calls[1]).at("nonce") == "rs-1");
        CHECK(header_of(api_calls[1], "Authorization") == "DPoP tok-1");
        client.get("/items");
        CHECK(proof_claims(api_calls.at(2)).at("nonce") == "rs-2");
        CHECK(tokens_issued == 1);
        CHECK(observer->count("nonce resource_server") == 1);
        CHECK(observer->count("unauthorized") == 0);
    }
    SUBCASE("a server that always wants another nonce: two tries, then its 401") {
        int n = 0;
        api = [&](const http_request&) {
            return challenge("use_dpop_nonce", {{"DPoP-Nonce", "n" + std::to_string(++n)}});
        };
        CHECK(client.get("/items").status == 401);
        CHECK(api_calls.size() == 2);
        CHECK(tokens_issued == 1);
    }
    SUBCASE("invalid_token in the DPoP challenge: a new token, once") {
        api = [&](const http_request& req) {
            return header_of(req, "Authorization") == "DPoP tok-1" ? challenge("invalid_token")
                                                                   : ok();
        };
        CHECK(client.get("/items").status == 200);
        CHECK(tokens_issued == 2);
        CHECK(observer->count("unauthorized") == 1);
        CHECK(header_of(api_calls.at(1), "Authorization") == "DPoP tok-2");
        CHECK(proof_claims(api_calls.at(1)).at("ath") == ath_of("tok-2"));
    }
    SUBCASE("invalid_dpop_proof is not answered by a new token") {
        api = [&](const http_request&) { return challenge("invalid_dpop_proof"); };
        CHECK(client.get("/items").status == 401);
        CHECK(api_calls.size() == 1);
        CHECK(tokens_issued == 1);
    }
}

TEST_CASE("cache_key: a DPoP key's thumbprint, never the key") {
    client_config a = dpop_config();
    client_config b = a;
    b.dpop_key = signing_key::generate(jws_alg::es256);
    client_config none = a;
    none.dpop_key.reset();
    const std::string key = oauth2cc::detail::cache_key(a);
    CHECK(key != oauth2cc::detail::cache_key(b));
    CHECK(key != oauth2cc::detail::cache_key(none));
    CHECK(key.find(p256().jwk_thumbprint()) != std::string::npos);
}

TEST_CASE("the example resource server's proof check: each rule of RFC 9449 §4.3 refuses") {
    using oauth2cc_examples::dpop_proof_checker;
    const oauth2cc::detail::dpop_prover prover(p256());
    const std::string url = "https://api.example.com/v1/items";
    const std::string jkt = p256().jwk_thumbprint();
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    dpop_proof_checker rs;
    const auto error_of = [&](const std::string& proof, const std::string& token = "tok",
                              const std::string& method = "GET") {
        return rs.check(proof, method, url, token, jkt).description;
    };

    CHECK(error_of(prover.proof("GET", url + "?page=2", "", "tok")).empty());
    CHECK(rs.check(prover.proof("GET", "HTTPS://API.example.com:443/v1/items", "", "tok"), "GET",
                   url, "tok", jkt));
    const std::string once = prover.proof("GET", url, "", "tok");
    CHECK(error_of(once).empty());
    CHECK(error_of(once) == "the DPoP proof was used before");
    CHECK(error_of(prover.proof("POST", url, "", "tok")) == "the DPoP proof is for another method");
    CHECK(error_of(prover.proof("GET", url + "/x", "", "tok")) ==
          "the DPoP proof is for another URI");
    CHECK(error_of(prover.proof("GET", "https://api.example.com:8443/v1/items", "", "tok")) ==
          "the DPoP proof is for another URI");
    CHECK(error_of(prover.proof("GET", url, "", "other")) ==
          "the DPoP proof's ath is not the hash of the access token");
    CHECK(error_of(prover.proof("GET", url)) ==
          "the DPoP proof's ath is not the hash of the access token");
    CHECK(error_of(prover.proof_at("GET", url, "", "tok", now - 600)) ==
          "the DPoP proof's iat is outside the accepted window");
    CHECK(error_of(prover.proof_at("GET", url, "", "tok", now + 600)) ==
          "the DPoP proof's iat is outside the accepted window");

    // Another key: a stolen token with the thief's own proof.
    const oauth2cc::detail::dpop_prover thief(signing_key::generate(jws_alg::es256));
    CHECK(error_of(thief.proof("GET", url, "", "tok")) ==
          "the DPoP proof's key is not the one the token is bound to");

    // Tampering: a changed claim, a header that is not dpop+jwt, no JWS at all.
    const std::string good = prover.proof("GET", url, "", "tok");
    const auto dot = good.find('.');
    const auto dot2 = good.find('.', dot + 1);
    auto claims = split_jwt(good).claims;
    claims["htm"] = "GET ";
    const std::string forged =
        good.substr(0, dot + 1) + oauth2cc::detail::base64url(claims.dump()) + good.substr(dot2);
    CHECK(error_of(forged) == "the DPoP proof's signature does not verify");
    auto header = split_jwt(good).header;
    header["typ"] = "JWT";
    CHECK(error_of(oauth2cc::detail::base64url(header.dump()) + good.substr(dot)) ==
          "the DPoP proof's typ is not dpop+jwt");
    header["typ"] = "dpop+jwt";
    header["alg"] = "none";
    CHECK(error_of(oauth2cc::detail::base64url(header.dump()) + good.substr(dot)) ==
          "the DPoP proof's signature does not verify");
    header["alg"] = "ES256";
    header["jwk"]["d"] = "AAAA";
    CHECK(error_of(oauth2cc::detail::base64url(header.dump()) + good.substr(dot)) ==
          "the DPoP proof's jwk is not a public key");
    CHECK(error_of("a.b") == "the DPoP proof is not a compact JWS");
    CHECK(error_of(good + "=") == "the DPoP proof is not a compact JWS");

    SUBCASE("a server that wants its nonce says use_dpop_nonce until the proof has it") {
        dpop_proof_checker strict(true);
        REQUIRE_FALSE(strict.nonce().empty());
        CHECK(rs.nonce().empty());
        const auto v = strict.check(prover.proof("GET", url, "", "tok"), "GET", url, "tok", jkt);
        CHECK(v.error == "use_dpop_nonce");
        CHECK(
            strict.check(prover.proof("GET", url, "stale", "tok"), "GET", url, "tok", jkt).error ==
            "use_dpop_nonce");
        CHECK(
            strict.check(prover.proof("GET", url, strict.nonce(), "tok"), "GET", url, "tok", jkt));
    }
}

TEST_CASE("the example resource server's JWK handling: thumbprints as RFC 7638, keys refused") {
    // RFC 7638 §3.1's RSA example key and its thumbprint.
    const auto rsa =
        nlohmann::json::parse(R"({"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29",
      "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"})");
    CHECK(oauth2cc_examples::jwk_thumbprint(rsa) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    CHECK(oauth2cc_examples::jwk_thumbprint(p256().public_jwk()) == p256().jwk_thumbprint());
    const signing_key ed = signing_key::generate(jws_alg::eddsa);
    CHECK(oauth2cc_examples::jwk_thumbprint(ed.public_jwk()) == ed.jwk_thumbprint());
    CHECK(oauth2cc_examples::jwk_thumbprint(nlohmann::json{{"kty", "oct"}, {"k", "AAAA"}}).empty());
    CHECK(oauth2cc_examples::public_key_from_jwk(rsa) != nullptr);
    auto short_x = p256().public_jwk();
    short_x["x"] = "AAAA";
    CHECK(oauth2cc_examples::public_key_from_jwk(short_x) == nullptr);
    // A JWS alg that does not fit the key is refused, whatever the signature.
    CHECK_FALSE(oauth2cc_examples::verify_jws(p256().public_jwk(), "EdDSA", "abc", ed.sign("abc")));
    CHECK(oauth2cc_examples::verify_jws(ed.public_jwk(), "EdDSA", "abc", ed.sign("abc")));
}

TEST_CASE("DPoP: htu names the request target the server receives, without the fragment") {
    oauth2cc_test::local_server api;
    std::mutex m;
    std::string target, proof;
    api.server().Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
        const std::lock_guard<std::mutex> lock(m);
        target = req.target;
        proof = req.get_header_value("DPoP");
        res.set_content("{}", "application/json");
    });
    api.start();
    auto fake = std::make_shared<fake_transport>(
        [](const http_request&) { return dpop_token("tok-dpop"); });
    oauth2cc::token_manager tokens(dpop_config(), {}, fake);
    oauth2cc::authorized_client client(api.url(), tokens);
    const std::string path = "/a|b^c{d}e\"f/\xC3\xA9%7e";
    REQUIRE(client.get(path + "?q=1").status == 200);
    std::string htu;
    {
        const std::lock_guard<std::mutex> lock(m);
        CHECK(target == "/a%7Cb%5Ec%7Bd%7De%22f/%C3%A9%7e?q=1");
        htu = split_jwt(proof).claims.at("htu").get<std::string>();
    }
    CHECK(htu == api.url() + "/a%7Cb%5Ec%7Bd%7De%22f/%C3%A9%7e");
    // A strict server builds htu from its own origin and the target as it came.
    oauth2cc_examples::dpop_proof_checker rs;
    CHECK(rs.check(proof, "GET", api.url() + target.substr(0, target.find('?')), "tok-dpop",
                   p256().jwk_thumbprint()));

    // request_headers() takes a URL with a fragment, and signs it without.
    const auto headers = tokens.request_headers("GET", api.url() + "/x?y=1#section");
    REQUIRE(headers.size() == 2);
    CHECK(split_jwt(headers[1].second).claims.at("htu") == api.url() + "/x");
}
