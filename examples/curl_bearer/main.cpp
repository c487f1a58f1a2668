// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// curl_bearer/main.cpp: oauth2cc keeps the token, libcurl makes the call. For programs
// that already use another HTTP client: token_manager::headers_for() gives the headers of
// the token in hand (Bearer, or DPoP with a proof for this request; a token that is no
// access token is refused, never sent), and invalidate() is the one retry on 401.
//
// Usage: oauth2cc-curl-bearer URL
// Configured from the environment: OAUTH2_TOKEN_URL, OAUTH2_CLIENT_ID,
// OAUTH2_CLIENT_SECRET_FILE (or OAUTH2_CLIENT_SECRET), OAUTH2_SCOPE (space-separated).
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

namespace {

size_t append_body(char* data, size_t size, size_t count, void* into) {
    static_cast<std::string*>(into)->append(data, size * count);
    return size * count;
}

// One GET with the current token; returns the HTTP status, or 0 when curl failed.
long get_with_token(CURL* curl, const std::string& url, oauth2cc::token_manager& tokens,
                    std::shared_ptr<const oauth2cc::token>& used, std::string& body) {
    used = tokens.get();
    curl_slist* headers = nullptr;
    for (auto& [name, value] : tokens.headers_for(*used, "GET", url)) {
        std::string line = name + ": " + value;
        headers = curl_slist_append(headers, line.c_str());
        // curl keeps its own copy.
        std::fill(line.begin(), line.end(), '\0');
        std::fill(value.begin(), value.end(), '\0');
    }
    body.clear();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // never carry the token elsewhere
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        std::cerr << "oauth2cc-curl-bearer: " << curl_easy_strerror(rc) << "\n";
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
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
        std::shared_ptr<const oauth2cc::token> used;
        std::string body;
        long status = get_with_token(curl, argv[1], tokens, used, body);
        if (status == 401) {
            // The token is no longer good: drop exactly that one and try once more.
            tokens.invalidate(used.get());
            status = get_with_token(curl, argv[1], tokens, used, body);
        }
        std::cout << body;
        exit_code = status >= 200 && status < 300 ? 0 : (status == 0 ? 4 : 6);
    } catch (const oauth2cc::error& e) {
        std::cerr << e.what() << "\n";
        exit_code = e.kind() == oauth2cc::error_kind::config ? 2 : 3;
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return exit_code;
}
