// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// fuzz_retry_after.cpp: libFuzzer target for the Retry-After parser: any value gives
// nothing or a wait between 0 and one day.
// SPDX-License-Identifier: MIT

#include "fuzz_check.hpp"

#include <oauth2cc/detail/http/retry_after.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto now = std::chrono::system_clock::time_point{std::chrono::seconds(1764000000)};
    const auto wait = oauth2cc::detail::parse_retry_after(in, now);
    oauth2cc_fuzz::require(
        !wait || (wait->count() >= 0 && *wait <= oauth2cc::detail::max_retry_after),
        "a wait within [0, one day]");
    return 0;
}
