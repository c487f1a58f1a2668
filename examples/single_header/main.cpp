// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// single_header/main.cpp: a program built with only single_include/ on the include path.
// SPDX-License-Identifier: MIT

#include <oauth2cc/oauth2cc.hpp>

#include <cstdio>
#include <string>

int main() {
    std::printf("oauth2cc %s, from the single header\n",
                std::string(oauth2cc::version_string).c_str());
    return 0;
}
