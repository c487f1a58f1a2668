// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// src/curl.cpp: compiled mode's libcurl adapter. The bodies of curl.hpp, compiled once into
// oauth2cc::curl, which links oauth2cc::compiled for the rest and libcurl for itself.
// SPDX-License-Identifier: MIT

#ifndef OAUTH2CC_COMPILED_LIB
#error "src/curl.cpp builds oauth2cc::curl: define OAUTH2CC_COMPILED_LIB"
#endif

#include <oauth2cc/curl.hpp>

#include <oauth2cc/impl/curl_inl.hpp>
