// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// src/grpc.cpp: compiled mode's gRPC adapter. The bodies of grpc.hpp, compiled once into
// oauth2cc::grpc, which links oauth2cc::compiled for the rest and gRPC++ for itself.
// SPDX-License-Identifier: MIT

#ifndef OAUTH2CC_COMPILED_LIB
#error "src/grpc.cpp builds oauth2cc::grpc: define OAUTH2CC_COMPILED_LIB"
#endif

#include <oauth2cc/grpc.hpp>

#include <oauth2cc/impl/grpc_inl.hpp>
