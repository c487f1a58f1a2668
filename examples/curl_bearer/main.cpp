// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// curl_bearer/main.cpp: oauth2cc keeps the token, libcurl makes the call. For programs that
// already use libcurl: oauth2cc::perform() (oauth2cc/curl.hpp) puts the token on the easy
// handle (Bearer, or DPoP with a proof for this request; a token that is no access token
// is refused, never sent) and repeats the transfer once with a new token on a 401.
//
// Usage: oauth2cc-curl-bearer URL
// Configured from the environment: OAUTH2_TOKEN_URL, OAUTH2_CLIENT_ID,
// OAUTH2_CLIENT_SECRET_FILE (or OAUTH2_CLIENT_SECRET), OAUTH2_SCOPE (space-separated).
// SPDX-License-Identifier: MIT

#include <oauth2cc/curl.hpp>
#include <oauth2cc/oauth2cc.hpp>

#include <curl/curl.h>

#include <iostream>
#include <string>

namespace {

size_t append_body(char* data, size_t size, size_t count, void* into) {
    static_cast<std::string*>(into)->append(data, size * count);
    return size * count;
}

// A status line starts a response: the body kept so far was an earlier one's (a 401 that
// perform() repeated with a new token), so it goes.
size_t on_header(char* data, size_t size, size_t count, void* body) {
    if (std::string(data, size * count).rfind("HTTP/", 0) == 0) {
        static_cast<std::string*>(body)->clear();
    }
    return size * count;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: oauth2cc-curl-bearer URL  (configured by OAUTH2_* variables)\n";
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL* curl = curl_easy_init();
    int exit_code = 0;
    try {
        oauth2cc::token_manager tokens(oauth2cc::config_from_environment());
        std::string body;
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &body);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
        const CURLcode rc = oauth2cc::perform(curl, tokens, "GET", argv[1]);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK) {
            std::cerr << "oauth2cc-curl-bearer: " << curl_easy_strerror(rc) << "\n";
            exit_code = 4;
        } else {
            std::cout << body;
            exit_code = status >= 200 && status < 300 ? 0 : 6;
        }
    } catch (const oauth2cc::error& e) {
        std::cerr << e.what() << "\n";
        exit_code = e.kind() == oauth2cc::error_kind::config ? 2 : 3;
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return exit_code;
}
