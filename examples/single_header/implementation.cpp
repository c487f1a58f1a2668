// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// implementation.cpp: the single header in compiled mode. This one unit compiles the
// library's bodies; every other unit, built with OAUTH2CC_COMPILED_LIB, sees declarations
// only and needs nothing of cpp-httplib.
// SPDX-License-Identifier: MIT

#define OAUTH2CC_IMPLEMENTATION
#include <oauth2cc/oauth2cc.hpp>
