// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// redis_consumer.cpp: an outside program that takes the Redis store by oauth2cc::redis, in
// compiled mode: its unit sees the store's declarations only, and nothing of hiredis.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/redis_token_store.hpp>

#if !OAUTH2CC_HEADER_ONLY && defined(HIREDIS_MAJOR)
#error "in compiled mode, a unit that includes redis_token_store.hpp sees no hiredis.h"
#endif

#include <cstdio>
#include <string>
#include <utility>

// Exits 0 when the store links and is made (it connects only when first used).
int main() {
    oauth2cc::redis_options options = oauth2cc::redis_options_from_url("redis://127.0.0.1:1/2");
    const oauth2cc::redis_token_store store(std::move(options));
    if (store.where() != "redis at 127.0.0.1:1/2") {
        std::fprintf(stderr, "redis_consumer: the store is at %s\n", store.where().c_str());
        return 1;
    }
    return 0;
}
