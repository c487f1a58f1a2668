// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_token_response.cpp: every shape of token response becomes a token or a typed error.
// SPDX-License-Identifier: MIT

#include "../support/fake_transport.hpp"
#include "../support/test_helpers.hpp"
#include <oauth2cc/detail/text/redact.hpp>
#include <oauth2cc/detail/http/retry_after.hpp>
#include <oauth2cc/detail/oauth/token_request.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using oauth2cc::error_kind;
using oauth2cc_test::fake_transport;

namespace {

using headers = std::vector<std::pair<std::string, std::string>>;
const headers json_type{{"Content-Type", "application/json"}};

oauth2cc::client_config config() {
    return oauth2cc_test::secret_client("client", "TOPSECRET-42", {"read_date"});
}

oauth2cc::token fetch(int status, const std::string& body, const headers& h = json_type) {
    auto fake = fake_transport::answering(status, body, h);
    return oauth2cc::request_token(config(), fake);
}

oauth2cc::error failure(int status, const std::string& body, const headers& h = json_type) {
    try {
        fetch(status, body, h);
    } catch (const oauth2cc::error& e) {
        const std::string what = e.what();
        CHECK(what.find("TOPSECRET-42") == std::string::npos);
        return e;
    }
    FAIL("no error for status " << status << " body " << body);
    throw;
}

}  // namespace

TEST_CASE("token_response: a full §5.1 response") {
    const auto before = std::chrono::steady_clock::now();
    const auto t = fetch(200, R"({"access_token":"abc","token_type":"Bearer","expires_in":3600,
                                  "scope":"read_date","issued_token_type":"x","n":1})");
    CHECK(t.access_token.reveal() == "abc");
    CHECK(t.token_type == "Bearer");
    CHECK(t.expires_in == 3600s);
    CHECK(t.scope == "read_date");
    CHECK(t.obtained_at >= before);
    REQUIRE(t.expires_at());
    CHECK(*t.expires_at() == t.obtained_at + 3600s);
    CHECK(t.issued_token_type == "x");  // a member of its own, for every grant
    CHECK_FALSE(t.extra.contains("issued_token_type"));
    CHECK(t.extra.at("n") == 1);
    CHECK_FALSE(t.extra.contains("access_token"));
}

TEST_CASE("token_response: a refresh_token or id_token is never kept in extra") {
    const auto t = fetch(200, R"({"access_token":"abc","refresh_token":"rt-secret",
                                  "id_token":"eyJ.id.tok","n":1})");
    CHECK_FALSE(t.extra.contains("refresh_token"));
    CHECK_FALSE(t.extra.contains("id_token"));
    CHECK(t.extra.at("n") == 1);
    CHECK(t.extra.dump().find("rt-secret") == std::string::npos);
}

TEST_CASE("token_response: token_type in any case, or absent, is Bearer; others are refused") {
    CHECK(fetch(200, R"({"access_token":"a","token_type":"bearer"})").token_type == "Bearer");
    CHECK(fetch(200, R"({"access_token":"a","token_type":"BEARER"})").token_type == "Bearer");
    CHECK(fetch(200, R"({"access_token":"a"})").token_type == "Bearer");
    CHECK(failure(200, R"({"access_token":"a","token_type":"mac"})").kind() ==
          error_kind::bad_response);
    CHECK(failure(200, R"({"access_token":"a","token_type":1})").kind() ==
          error_kind::bad_response);
}

TEST_CASE("token_response: a token_type that could be the token is not named") {
    const std::string named = failure(200, R"({"access_token":"a","token_type":"mac"})").what();
    CHECK(named.find("\"mac\"") != std::string::npos);
    const std::string jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig";
    const std::string hidden =
        failure(200, R"({"access_token":")" + jwt_like + R"(","token_type":")" + jwt_like + "\"}")
            .what();
    CHECK(hidden.find("eyJ") == std::string::npos);
    CHECK(hidden.find("token_type of 40 bytes") != std::string::npos);
    const std::string part =
        failure(200, R"({"access_token":"abcdefTOKEN","token_type":"TOKEN"})").what();
    CHECK(part.find("TOKEN\"") == std::string::npos);
}

TEST_CASE("token_response: JSON deeper than 32 levels or with a repeated member is refused") {
    const auto nested = [](int depth) {
        return R"({"access_token":"a","x":)" +
               std::string(static_cast<std::size_t>(depth - 1), '[') +
               std::string(static_cast<std::size_t>(depth - 1), ']') + "}";
    };
    CHECK(fetch(200, nested(32)).access_token.reveal() == "a");  // 32 levels with the object
    const auto deep = failure(200, nested(33));
    CHECK(deep.kind() == error_kind::bad_response);
    CHECK(std::string(deep.what()).find("deeper than 32") != std::string::npos);
    CHECK(failure(200, nested(100000)).kind() == error_kind::bad_response);
    // An error response nested too deep is still its status.
    CHECK(failure(503, nested(100000)).kind() == error_kind::http_status);

    const auto twice =
        failure(200, R"({"access_token":"a","token_type":"Bearer","access_token":"b"})");
    CHECK(twice.kind() == error_kind::bad_response);
    CHECK(std::string(twice.what()).find("\"access_token\" twice") != std::string::npos);
    // Repeats inside a nested object are the server's business.
    CHECK(fetch(200, R"({"access_token":"a","x":{"k":1,"k":2}})").extra.at("x").at("k") == 2);
}

TEST_CASE("token_response: expires_in as number, numeric string, absent, negative, huge") {
    CHECK(fetch(200, R"({"access_token":"a","expires_in":60})").expires_in == 60s);
    CHECK(fetch(200, R"({"access_token":"a","expires_in":"60"})").expires_in == 60s);
    CHECK(fetch(200, R"({"access_token":"a","expires_in":"3600.5"})").expires_in == 3600s);
    CHECK(fetch(200, R"({"access_token":"a","expires_in":0})").expires_in == 0s);
    CHECK_FALSE(fetch(200, R"({"access_token":"a"})").expires_in);
    CHECK_FALSE(fetch(200, R"({"access_token":"a","expires_in":null})").expires_in);
    const auto year = std::chrono::seconds(365LL * 24 * 3600);
    CHECK(fetch(200, R"({"access_token":"a","expires_in":1e300})").expires_in == year);
    CHECK(fetch(200, R"({"access_token":"a","expires_in":18446744073709551615})").expires_in ==
          year);
    CHECK(fetch(200, R"({"access_token":"a","expires_in":"99999999999999999999"})").expires_in ==
          year);
    for (const char* bad :
         {"-1", "\"-1\"", "\"abc\"", "true", "\"\"", "\"1e3\"", "\" 60\"", "[60]", "{}"}) {
        CAPTURE(bad);
        CHECK(
            failure(200, std::string(R"({"access_token":"a","expires_in":)") + bad + "}").kind() ==
            error_kind::bad_response);
    }
}

TEST_CASE("token_response: scope as string, null or absent") {
    CHECK(fetch(200, R"({"access_token":"a","scope":"read_date post_echo"})").scope ==
          "read_date post_echo");
    CHECK(fetch(200, R"({"access_token":"a","scope":null})").scope == "read_date");
    CHECK(fetch(200, R"({"access_token":"a"})").scope == "read_date");
    CHECK(failure(200, R"({"access_token":"a","scope":["read_date"]})").kind() ==
          error_kind::bad_response);
    CHECK(failure(200, R"({"access_token":"a","scope":7})").kind() == error_kind::bad_response);
}

TEST_CASE("token_response: access_token must be a non-empty string of VSCHAR") {
    for (const char* body :
         {R"({"token_type":"Bearer"})", R"({"access_token":""})", R"({"access_token":42})",
          R"({"access_token":null})", R"({"access_token":"a\r\nX-Evil: 1"})",
          R"({"access_token":"a\u0000"})", R"({"access_token":"a\u007f"})",
          R"({"access_token":"caf\u00e9"})"}) {
        CAPTURE(body);
        CHECK(failure(200, body).kind() == error_kind::bad_response);
    }
    // A form body may carry any byte: one that is not UTF-8 would end a JSON output.
    const headers form = {{"Content-Type", "application/x-www-form-urlencoded"}};
    for (const char* body :
         {"access_token=a%FFb&token_type=bearer", "access_token=a%0D%0Ab", "access_token=%C3%A9"}) {
        CAPTURE(body);
        const auto e = failure(200, body, form);
        CHECK(e.kind() == error_kind::bad_response);
        CHECK(std::string(e.what()).find("VSCHAR") != std::string::npos);
        CHECK(std::string(e.what()).find("a\xff") == std::string::npos);
    }
    CHECK(fetch(200, "access_token=a%20~b&token_type=bearer", form).access_token.reveal() ==
          "a ~b");
}

TEST_CASE("token_response: bodies that are not a token response") {
    for (const char* body : {"", "not json", "[1,2]", "42", "\"str\"", "{\"access_token\":"}) {
        CAPTURE(body);
        CHECK(failure(200, body).kind() == error_kind::bad_response);
    }
    CHECK(failure(200, "<html>hi</html>", {{"Content-Type", "text/html"}}).kind() ==
          error_kind::bad_response);
}

TEST_CASE("token_response: JSON whatever the Content-Type; form bodies for older servers") {
    CHECK(fetch(200, R"({"access_token":"j"})", {{"Content-Type", "text/plain"}})
              .access_token.reveal() == "j");
    CHECK(fetch(200, R"({"access_token":"j"})", {}).access_token.reveal() == "j");
    const auto form = fetch(200, "access_token=f%2B1&token_type=bearer&expires_in=60&scope=a+b",
                            {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}});
    CHECK(form.access_token.reveal() == "f+1");
    CHECK(form.expires_in == 60s);
    CHECK(form.scope == "a b");
    CHECK(fetch(200, "access_token=p", {{"Content-Type", "Text/Plain"}}).access_token.reveal() ==
          "p");
    CHECK(failure(200, "access_token=p", {{"Content-Type", "text/html"}}).kind() ==
          error_kind::bad_response);
}

TEST_CASE("token_response: an error member is an oauth error, whatever the status") {
    const auto e = failure(400, R"({"error":"invalid_scope","error_description":"no post_echo",
                                    "error_uri":"https://e.example/x"})");
    CHECK(e.kind() == error_kind::oauth);
    CHECK(e.oauth_error() == "invalid_scope");
    CHECK(e.error_description() == "no post_echo");
    CHECK(e.error_uri() == "https://e.example/x");
    CHECK(e.http_status() == 400);
    CHECK(std::string(e.what()).find("invalid_scope") != std::string::npos);

    const auto on_200 = failure(200, R"({"error":"invalid_client"})");
    CHECK(on_200.kind() == error_kind::oauth);
    CHECK(on_200.http_status() == 200);

    const auto form = failure(401, "error=invalid_client&error_description=bad+secret",
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
    CHECK(form.oauth_error() == "invalid_client");
    CHECK(form.error_description() == "bad secret");

    const auto controls = failure(400, R"({"error":"invalid_request","error_description":"a\nb"})");
    CHECK(controls.error_description() == "a?b");
}

TEST_CASE("token_response: Retry-After as delta-seconds and as HTTP-date") {
    const auto secs = failure(429, R"({"error":"slow_down"})",
                              {{"Content-Type", "application/json"}, {"retry-after", "120"}});
    CHECK(secs.retry_after() == 120s);
    const auto past = failure(503, "", {{"Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"}});
    CHECK(past.kind() == error_kind::http_status);
    CHECK(past.retry_after() == 0s);
    CHECK_FALSE(failure(503, "", {{"Retry-After", "soon"}}).retry_after());

    using oauth2cc::detail::parse_retry_after;
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 0s);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == 60s);
    CHECK(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", now) == 86400s);
    CHECK(parse_retry_after("Tue, 08 Nov 1994 08:49:37 GMT", now) == 86400s);  // clamped
    CHECK(parse_retry_after(" 5 ", now) == 5s);
    CHECK(parse_retry_after("99999999999999999999999", now) == 86400s);
    CHECK_FALSE(parse_retry_after("-5", now));
    CHECK_FALSE(parse_retry_after("5s", now));
    CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", now));
}

TEST_CASE("token_response: Retry-After in the obsolete HTTP-date forms (RFC 9110 §5.6.7)") {
    using oauth2cc::detail::parse_retry_after;
    // Sun, 06 Nov 1994 08:49:37 GMT.
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
    SUBCASE("RFC 850") {
        CHECK(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now) == 60s);
        CHECK(parse_retry_after("Wednesday, 06-Nov-94 08:49:47 GMT", now) == 10s);
        // A two-digit year over 50 years ahead is the century before: 2043 stays ahead
        // of 1994 by 49 years; 2045 would be 51, so "45" is 1945, in the past.
        CHECK(parse_retry_after("Sunday, 06-Nov-45 08:49:37 GMT", now) == 0s);
        CHECK(parse_retry_after("Sunday, 06-Nov-43 08:49:37 GMT", now) == 86400s);
        CHECK_FALSE(parse_retry_after("Sunday, 6-Nov-94 08:50:37 GMT", now));
        CHECK_FALSE(parse_retry_after("Sunday, 06-Nov-1994 08:50:37 GMT", now));
        CHECK_FALSE(parse_retry_after("Sun day, 06-Nov-94 08:50:37 GMT", now));
    }
    SUBCASE("asctime") {
        CHECK(parse_retry_after("Sun Nov  6 08:50:37 1994", now) == 60s);
        CHECK(parse_retry_after("Sun Nov 06 08:49:38 1994", now) == 1s);
        CHECK_FALSE(parse_retry_after("Sun Nov 6 08:50:37 1994", now));
        CHECK_FALSE(parse_retry_after("Sun Nov  6 08:50:37  994", now));
        CHECK_FALSE(parse_retry_after("Sun Nox  6 08:50:37 1994", now));
    }
    SUBCASE("through a response") {
        const auto e = failure(
            429, R"({"error":"slow_down"})",
            {{"Content-Type", "application/json"}, {"Retry-After", "Sun Nov  6 08:49:37 1994"}});
        CHECK(e.retry_after() == 0s);
    }
}

TEST_CASE("token_response: a server that echoes the client secret has it redacted") {
    auto cfg = config();
    cfg.client_secret = oauth2cc::secret{"s3cr\xc3\xa9t with space+plus"};
    const std::string form_encoded = "s3cr%C3%A9t+with+space%2Bplus";
    const auto check_clean = [&](const oauth2cc::error& e) {
        const std::string text = std::string(e.what()) + e.error_description() + e.error_uri();
        CAPTURE(text);
        CHECK(text.find("s3cr") == std::string::npos);
        CHECK(text.find(form_encoded) == std::string::npos);
        CHECK(text.find("with space") == std::string::npos);
        CHECK(text.find("***") != std::string::npos);
    };
    const auto fail_with = [&](int status, const std::string& body, oauth2cc::auth_method m) {
        cfg.auth = m;
        auto fake = fake_transport::answering(status, body);
        try {
            oauth2cc::request_token(cfg, fake);
        } catch (const oauth2cc::error& e) {
            return e;
        }
        FAIL("no error");
        throw;
    };
    using oauth2cc::auth_method;
    SUBCASE("raw, in error_description") {
        check_clean(fail_with(401,
                              R"({"error":"invalid_client","error_description":"bad secret )" +
                                  std::string("s3cr\u00e9t with space+plus") + R"("})",
                              auth_method::client_secret_post));
    }
    SUBCASE("form-encoded, in error_uri") {
        check_clean(fail_with(
            400,
            R"({"error":"invalid_request","error_uri":"https://x/?s=)" + form_encoded + R"("})",
            auth_method::client_secret_post));
    }
    SUBCASE("the Basic credentials, in a plain error body") {
        oauth2cc::client_config basic = cfg;
        basic.auth = auth_method::client_secret_basic;
        const std::string header = oauth2cc::detail::basic_authorization(basic);
        const std::string b64 = header.substr(6);
        auto fake = fake_transport::answering(500, "cannot decode " + b64, {});
        try {
            oauth2cc::request_token(basic, fake);
            FAIL("no error");
        } catch (const oauth2cc::error& e) {
            CHECK(std::string(e.what()).find(b64.substr(0, 12)) == std::string::npos);
            CHECK(std::string(e.what()).find("***") != std::string::npos);
        }
    }
}

TEST_CASE("token_response: a refused answer's token members stay out of the excerpt") {
    const auto e =
        failure(500, R"({"access_token":"LEAKED-access-1","refresh_token":"LEAKED-refresh-2",)"
                     R"("id_token":"LEAKED-id-3","note":"LEAKED-access-1 again"})");
    CHECK(e.kind() == error_kind::http_status);
    const std::string what = e.what();
    CHECK(what.find("LEAKED") == std::string::npos);
    CHECK(what.find("***") != std::string::npos);
    CHECK(what.find("again") != std::string::npos);  // the rest of the excerpt is kept
    const auto oauth =
        failure(400, R"({"error":"server_error","error_description":"issued LEAKED-access-9",)"
                     R"("access_token":"LEAKED-access-9"})");
    CHECK(oauth.kind() == error_kind::oauth);
    CHECK(std::string(oauth.what()).find("LEAKED") == std::string::npos);
}

TEST_CASE("token_response: a 404 or 405 names the URL and suggests the issuer") {
    for (const int status : {404, 405}) {
        CAPTURE(status);
        const auto e = failure(status, "Not Found", {{"Content-Type", "text/plain"}});
        CHECK(e.kind() == error_kind::http_status);
        CHECK(e.http_status() == status);
        const std::string what = e.what();
        CHECK_MESSAGE(
            what.find("the token endpoint " + config().token_endpoint) != std::string::npos, what);
        CHECK(what.find("it is not the token endpoint") != std::string::npos);
        CHECK(what.find("OAUTH2_TOKEN_URL, oauth2cc-cli --token-url") != std::string::npos);
        CHECK(what.find("--issuer") != std::string::npos);
    }
}

TEST_CASE("token_response: other statuses are http_status errors with a short excerpt") {
    const auto e = failure(500, std::string(1000, 'x') + "\x01");
    CHECK(e.kind() == error_kind::http_status);
    CHECK(e.http_status() == 500);
    CHECK(std::string(e.what()).size() < 300);
    const auto redirect = failure(302, "", {{"Location", "https://evil.example/"}});
    CHECK(redirect.kind() == error_kind::http_status);
    CHECK(std::string(redirect.what()).find("redirect") != std::string::npos);
}

TEST_CASE("token_response: a body over max_response_bytes is refused") {
    auto cfg = config();
    cfg.max_response_bytes = 64;
    auto fake =
        fake_transport::answering(200, R"({"access_token":")" + std::string(100, 'a') + R"("})");
    try {
        oauth2cc::request_token(cfg, fake);
        FAIL("an oversized body was accepted");
    } catch (const oauth2cc::error& e) {
        // A response arrived, and it is not what the protocol allows.
        CHECK(e.kind() == error_kind::bad_response);
        CHECK(e.http_status() == 200);
    }
}

TEST_CASE("token_response: every spelling of an echoed secret is redacted") {
    oauth2cc::detail::redactions hide;
    hide.add("a/b c+d%e\xc3\xa9\"f");
    const auto clean = [&](const std::string& text) {
        const std::string out = hide.apply(text);
        CAPTURE(text);
        CAPTURE(out);
        CHECK(out == "<***>");
    };
    SUBCASE("raw") { clean("<a/b c+d%e\xc3\xa9\"f>"); }
    SUBCASE("form-encoded, upper-case hex") { clean("<a%2Fb+c%2Bd%25e%C3%A9%22f>"); }
    SUBCASE("percent-encoded, lower-case hex") { clean("<a%2fb%20c%2bd%25e%c3%a9%22f>"); }
    SUBCASE("quote()-style: '/' kept, space as %20") { clean("<a/b%20c%2Bd%25e%C3%A9%22f>"); }
    SUBCASE("every byte escaped") {
        std::string all = "<";
        for (char c : std::string("a/b c+d%e\xc3\xa9\"f")) {
            static const char* hex = "0123456789abcdef";
            const auto u = static_cast<unsigned char>(c);
            all += std::string("%") + hex[u >> 4] + hex[u & 15];
        }
        clean(all + ">");
    }
    SUBCASE("JSON-escaped: \\/, \\\", \\u00e9") { clean(R"(<a\/b c+d%e\u00e9\"f>)"); }
    SUBCASE("JSON, every character as \\u") {
        clean(R"(<\u0061\u002F\u0062\u0020\u0063\u002b\u0064\u0025\u0065\u00E9\u0022\u0066>)");
    }
    SUBCASE("as an excerpt prints it") { clean("<a/b c+d%e??\"f>"); }
    SUBCASE("the longest of two overlapping secrets wins, and text around stays") {
        oauth2cc::detail::redactions two;
        two.add("abc");
        two.add("abcdef");
        CHECK(two.apply("xabcdefy abc") == "x***y ***");
    }
    SUBCASE("outside the BMP: a surrogate pair") {
        oauth2cc::detail::redactions emoji;
        emoji.add("k\xf0\x9f\x94\x91y");
        CHECK(emoji.apply(R"(<k\ud83d\udd11y>)") == "<***>");
    }
    SUBCASE("a body that repeats the secret is redacted whole") {
        std::string body;
        for (int i = 0; i < 20000; ++i) body += "a%2Fb+c%2Bd%25e%C3%A9%22f,";
        const std::string out = hide.apply(body);
        CHECK(out.size() == 20000 * 4);
        CHECK(out.find('a') == std::string::npos);
    }
}

TEST_CASE("token_response: introspect() hides the token it checks in its form-encoded spelling") {
    auto cfg = config();
    cfg.auth = oauth2cc::auth_method::client_secret_post;
    const std::string token_text = "tok+en/with=sig==";
    fake_transport echo([](const oauth2cc::http_request& req) {
        // A server that echoes the raw request body in its error.
        return oauth2cc::http_response{
            400, json_type,
            R"({"error":"invalid_request","error_description":"got )" + req.body + R"("})"};
    });
    try {
        oauth2cc::introspect(cfg, "https://auth.example.com/introspect", token_text, echo);
        FAIL("no error");
    } catch (const oauth2cc::error& e) {
        const std::string text = std::string(e.what()) + e.error_description();
        CAPTURE(text);
        CHECK(text.find("tok%2Ben") == std::string::npos);
        CHECK(text.find("sig%3D") == std::string::npos);
        CHECK(text.find("TOPSECRET") == std::string::npos);
        CHECK(text.find("token=***") != std::string::npos);
    }
}
