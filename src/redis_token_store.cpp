// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// src/redis_token_store.cpp: compiled mode's Redis store. The bodies of
// redis_token_store.hpp, compiled once into oauth2cc::redis, which links oauth2cc::compiled
// for the rest and hiredis for itself; its users see declarations only, and no hiredis.h.
// SPDX-License-Identifier: MIT

#ifndef OAUTH2CC_COMPILED_LIB
#error "src/redis_token_store.cpp builds oauth2cc::redis: define OAUTH2CC_COMPILED_LIB"
#endif

// The declarations (the core's bodies are oauth2cc::compiled's), then the store's bodies,
// once: not OAUTH2CC_IMPLEMENTATION, which would compile the core's bodies again.
#include <oauth2cc/redis_token_store.hpp>

#include <oauth2cc/impl/redis_token_store_inl.hpp>
