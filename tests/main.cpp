// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// main.cpp: the doctest main, built once and shared by every test executable.
// SPDX-License-Identifier: MIT

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
