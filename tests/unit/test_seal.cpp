// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// test_seal.cpp: tokens sealed at rest (AES-256-GCM under an HKDF-SHA256 key, the store
// key as associated data) in the file store, and a token_manager whose store cannot be
// reached: no caller fails, each failure is counted, the outage is logged once.
// SPDX-License-Identifier: MIT

#include "../support/test_helpers.hpp"
#include "../support/token_endpoint_fake.hpp"

#include <oauth2cc/detail/crypto/seal.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <sys/stat.h>

using namespace std::chrono_literals;
using oauth2cc::error_kind;
using oauth2cc::file_token_store;
using oauth2cc::file_token_store_options;
using oauth2cc::secret;
using oauth2cc::stored_token;
using oauth2cc::token_manager;
using oauth2cc::detail::sealer;
using oauth2cc_test::log_watch;
using oauth2cc_test::read_file;
using oauth2cc_test::temp_dir;
using oauth2cc_test::thrown_by;
using oauth2cc_test::token_endpoint_fake;
using wall = std::chrono::system_clock;

namespace {

const secret key_a{"0123456789abcdef0123456789abcdef"};
const secret key_b{"fedcba9876543210fedcba9876543210"};
const std::string store_key_1(64, 'a');
const std::string store_key_2(64, 'b');

stored_token entry(const std::string& value) {
    stored_token e;
    e.access_token = secret{value};
    e.token_type = "Bearer";
    e.scope = "read";
    e.issued_at = wall::now() - 10s;
    e.expires_at = e.issued_at + 3600s;
    return e;
}

std::unique_ptr<file_token_store> sealed_store(const temp_dir& tmp, const secret& key) {
    file_token_store_options o;
    o.directory = (tmp / "cache");
    o.sealing_key = key;
    return std::make_unique<file_token_store>(o);
}

oauth2cc::client_config config() {
    return oauth2cc_test::secret_client("fleet-job", "Fleet-S3cret");
}

/// A store that cannot be reached while `down` is set, as a Redis store throws.
struct flaky_store : oauth2cc::token_store {
    std::mutex m;
    std::optional<stored_token> held;
    bool down = false;
    int calls = 0;
    void check() {
        ++calls;
        if (down) throw oauth2cc::error(error_kind::transport, "redis at 127.0.0.1:1/0 is away");
    }
    std::optional<stored_token> load(const std::string&) override {
        std::lock_guard<std::mutex> lock(m);
        check();
        return held;
    }
    void save(const std::string&, const stored_token& e) override {
        std::lock_guard<std::mutex> lock(m);
        check();
        held = e;
    }
    void remove(const std::string&) override {
        std::lock_guard<std::mutex> lock(m);
        check();
        held.reset();
    }
    void set_down(bool d) {
        std::lock_guard<std::mutex> lock(m);
        down = d;
    }
};

using oauth2cc_test::count_of;

}  // namespace

TEST_CASE("sealer: seals with a fresh nonce, opens only under its key and store key") {
    const sealer a(key_a);
    const sealer b(key_b);
    const std::string plain = R"({"access_token":"tok-sealed-1"})";
    const std::string s1 = a.seal(plain, store_key_1);
    const std::string s2 = a.seal(plain, store_key_1);
    CHECK(s1.rfind("oauth2cc-sealed/1.", 0) == 0);
    CHECK(s1 != s2);  // a fresh nonce per write
    CHECK(s1.find("tok-sealed-1") == std::string::npos);
    REQUIRE(a.open(s1, store_key_1).has_value());
    CHECK(*a.open(s1, store_key_1) == plain);
    CHECK(*a.open(s2, store_key_1) == plain);
    CHECK_FALSE(b.open(s1, store_key_1).has_value());  // another key
    CHECK_FALSE(a.open(s1, store_key_2).has_value());  // moved to another store key
    // Any byte changed, the tag fails.
    for (std::size_t i = 18; i < s1.size(); i += 7) {
        std::string altered = s1;
        altered[i] = altered[i] == 'A' ? 'B' : 'A';
        CHECK_FALSE(a.open(altered, store_key_1).has_value());
    }
    CHECK_FALSE(a.open(s1.substr(0, s1.size() - 4), store_key_1).has_value());
    CHECK_FALSE(a.open(plain, store_key_1).has_value());
    CHECK_FALSE(a.open("oauth2cc-sealed/1.", store_key_1).has_value());
    CHECK_FALSE(a.open("oauth2cc-sealed/1.!!!!", store_key_1).has_value());
}

TEST_CASE("sealer: a key of fewer than 16 bytes is a config error that shows no key") {
    const auto e = thrown_by([] { sealer s(secret{"short-key-15byt"}); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("16 bytes") != std::string::npos);
    CHECK(std::string(e.what()).find("short-key") == std::string::npos);
    temp_dir tmp;
    file_token_store_options o;
    o.directory = (tmp / "cache");
    o.sealing_key = secret{"too-short"};
    CHECK(thrown_by([&] { file_token_store s(o); }).kind() == error_kind::config);
}

TEST_CASE("sealer: HKDF-SHA256 as RFC 5869 appendix A gives it") {
    const auto hex = [](const std::string& bytes) {
        static constexpr char digits[] = "0123456789abcdef";
        std::string out;
        for (const char c : bytes) {
            out.push_back(digits[static_cast<unsigned char>(c) >> 4]);
            out.push_back(digits[static_cast<unsigned char>(c) & 0xF]);
        }
        return out;
    };
    const std::string ikm(22, '\x0b');
    SUBCASE("A.1: basic test case with SHA-256") {
        std::string salt, info;
        for (int i = 0x00; i <= 0x0c; ++i) salt.push_back(static_cast<char>(i));
        for (int i = 0xf0; i <= 0xf9; ++i) info.push_back(static_cast<char>(i));
        CHECK(hex(oauth2cc::detail::hkdf_sha256(ikm, salt, info, 42)) ==
              "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8871"
              "85865");
    }
    SUBCASE("A.3: zero-length salt and info") {
        CHECK(hex(oauth2cc::detail::hkdf_sha256(ikm, "", "", 42)) ==
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61"
              "a96c8");
    }
}

TEST_CASE("sealer_for: no key means no sealing; a key given empty is a config error") {
    CHECK(oauth2cc::detail::sealer_for(secret{}) == nullptr);
    CHECK(oauth2cc::detail::sealer_for(key_a) != nullptr);
    const secret given_empty{std::string()};
    CHECK(given_empty.has_value());
    CHECK_FALSE(secret{}.has_value());
    const auto e = thrown_by([&] { oauth2cc::detail::sealer_for(given_empty); });
    CHECK(e.kind() == error_kind::config);
    CHECK(std::string(e.what()).find("empty") != std::string::npos);
    // A copy keeps "given"; a moved-from secret has no value.
    secret moved = given_empty;
    CHECK(moved.has_value());
    const secret taker = std::move(moved);
    CHECK(taker.has_value());
    CHECK_FALSE(moved.has_value());  // NOLINT(bugprone-use-after-move): what is left
    temp_dir tmp;
    file_token_store_options o;
    o.directory = (tmp / "cache");
    o.sealing_key = given_empty;
    CHECK(thrown_by([&] { file_token_store store(o); }).kind() == error_kind::config);
}

TEST_CASE("sealer: HKDF-SHA256 derives the key: the same sealing key opens across objects") {
    const std::string sealed = sealer(key_a).seal("plain text", store_key_1);
    CHECK(sealer(secret{key_a.reveal()}).open(sealed, store_key_1) ==
          std::optional<std::string>("plain text"));
}

TEST_CASE("file_token_store with a sealing key: the file holds no token; other keys see none") {
    temp_dir tmp;
    auto store = sealed_store(tmp, key_a);
    store->save(store_key_1, entry("tok-at-rest-42"));
    const std::string text = read_file(tmp / ("cache/" + store_key_1 + ".json"));
    CHECK(text.rfind("oauth2cc-sealed/1.", 0) == 0);
    CHECK(text.find("tok-at-rest-42") == std::string::npos);
    CHECK(text.find("Bearer") == std::string::npos);
    const auto back = store->load(store_key_1);
    REQUIRE(back.has_value());
    CHECK(back->access_token.reveal() == "tok-at-rest-42");
    CHECK(back->scope == "read");

    // Another sealing key, or none, sees nothing there: ignored, not an error.
    CHECK_FALSE(sealed_store(tmp, key_b)->load(store_key_1).has_value());
    CHECK_FALSE(file_token_store((tmp / "cache")).load(store_key_1).has_value());
    // A sealed entry copied under another store key does not open there.
    const std::string copy = tmp / ("cache/" + store_key_2 + ".json");
    std::ofstream(copy) << text;
    REQUIRE(::chmod(copy.c_str(), 0600) == 0);
    CHECK_FALSE(store->load(store_key_2).has_value());
    // A file in clear is not taken by a sealing store: anyone who can write it could plant it.
    file_token_store((tmp / "cache")).save(store_key_1, entry("tok-planted"));
    CHECK_FALSE(store->load(store_key_1).has_value());
}

TEST_CASE("token_manager with a sealed store: a manager with another key requests its own") {
    temp_dir tmp;
    auto endpoint = std::make_shared<token_endpoint_fake>();
    token_manager a(config(), {}, endpoint);
    a.set_store(std::shared_ptr<file_token_store>(sealed_store(tmp, key_a)));
    token_manager b(config(), {}, endpoint);
    b.set_store(std::shared_ptr<file_token_store>(sealed_store(tmp, key_a)));
    token_manager c(config(), {}, endpoint);
    c.set_store(std::shared_ptr<file_token_store>(sealed_store(tmp, key_b)));
    CHECK(a.get()->access_token.reveal() == "tok-1");
    CHECK(b.get()->access_token.reveal() == "tok-1");  // opened and taken
    CHECK(b.stats().store_loads == 1);
    CHECK(c.get()->access_token.reveal() == "tok-2");  // could not open: its own
    CHECK(c.stats().store_loads == 0);
    CHECK(endpoint->requests() == 2);
}

TEST_CASE("token_manager: a store that cannot be reached fails no caller, logged once an outage") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    auto clock = std::make_shared<oauth2cc::manual_clock>();
    auto store = std::make_shared<flaky_store>();
    log_watch logs;
    token_manager m(config(), {}, endpoint, clock);
    m.set_logger(logs.sink());
    m.set_store(store);
    CHECK(m.get()->access_token.reveal() == "tok-1");
    REQUIRE(logs.wait_successes(1));
    CHECK(store->held.has_value());

    // Each hour the token has expired (on the manager's clock) and a new one is fetched.
    store->set_down(true);
    for (int i = 2; i <= 4; ++i) {
        clock->advance(2h);
        CHECK(m.get()->access_token.reveal() == "tok-" + std::to_string(i));
        REQUIRE(logs.wait_successes(i));
    }
    const auto st = m.stats();
    CHECK(st.failures == 0);
    CHECK(st.successes == 4);
    CHECK(st.store_failures == 3);  // one per fetch, however many operations failed
    std::string text = logs.text();
    CAPTURE(text);
    CHECK(count_of(text, "the token store is unavailable") == 1);
    CHECK(text.find("redis at 127.0.0.1:1/0 is away") != std::string::npos);
    CHECK(logs.lines().at(1).first == oauth2cc::log_level::warning);
    CHECK(logs.lines().at(2).first == oauth2cc::log_level::info);

    store->set_down(false);
    clock->advance(2h);
    CHECK(m.get()->access_token.reveal() == "tok-1");  // still in the store, by the wall clock
    REQUIRE(logs.wait_successes(5));
    text = logs.text();
    CHECK(count_of(text, "the token store answers again") == 1);
    store->held.reset();
    clock->advance(2h);
    CHECK(m.get()->access_token.reveal() == "tok-5");
    REQUIRE(logs.wait_successes(6));
    CHECK(store->held.has_value());
    CHECK(store->held->access_token.reveal() == "tok-5");
    CHECK(count_of(logs.text(), "the token store answers again") == 1);
    // Once more down: a new outage, logged again.
    store->set_down(true);
    clock->advance(2h);
    CHECK(m.get()->access_token.reveal() == "tok-6");
    REQUIRE(logs.wait_successes(7));
    CHECK(count_of(logs.text(), "the token store is unavailable") == 2);
}

TEST_CASE("token_manager: an unreachable store's save is counted and the token served") {
    auto endpoint = std::make_shared<token_endpoint_fake>();
    struct save_down : flaky_store {
        void save(const std::string&, const stored_token&) override {
            throw oauth2cc::error(error_kind::transport, "redis timed out (scripted)");
        }
    };
    auto store = std::make_shared<save_down>();
    log_watch logs;
    token_manager m(config(), {}, endpoint);
    m.set_logger(logs.sink());
    m.set_store(store);
    CHECK(m.get()->access_token.reveal() == "tok-1");
    REQUIRE(logs.wait_successes(1));
    CHECK(m.stats().store_failures == 1);
    CHECK(count_of(logs.text(), "the token store is unavailable") == 1);
    CHECK(count_of(logs.text(), "not stored") == 0);
}
