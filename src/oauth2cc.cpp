// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// src/oauth2cc.cpp: compiled mode. Every body of the library, compiled once; units that
// link oauth2cc::compiled (which defines OAUTH2CC_COMPILED_LIB) see declarations only.
// SPDX-License-Identifier: MIT

#ifndef OAUTH2CC_COMPILED_LIB
#error "src/oauth2cc.cpp builds the compiled library: define OAUTH2CC_COMPILED_LIB"
#endif

#define OAUTH2CC_IMPLEMENTATION
#include <oauth2cc/oauth2cc.hpp>
#include <oauth2cc/prometheus.hpp>
