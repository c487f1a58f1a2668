// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// src/kafka.cpp: compiled mode's Kafka adapter. The bodies of kafka.hpp, compiled once into
// oauth2cc::kafka, which links oauth2cc::compiled for the rest and librdkafka for itself.
// SPDX-License-Identifier: MIT

#ifndef OAUTH2CC_COMPILED_LIB
#error "src/kafka.cpp builds oauth2cc::kafka: define OAUTH2CC_COMPILED_LIB"
#endif

#include <oauth2cc/kafka.hpp>

#include <oauth2cc/impl/kafka_inl.hpp>
