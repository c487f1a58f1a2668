// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// cron_job/main.cpp: a one-shot job for a crontab: get a token, call the API once, print
// the answer; on any failure, exit 1 with one clear line on stderr.
//
// Usage: oauth2cc-cron-job [URL]      (URL defaults to $OAUTH2CC_API_URL)
// Configured from the environment: OAUTH2_TOKEN_URL (or OAUTH2_ISSUER), OAUTH2_CLIENT_ID,
// OAUTH2_CLIENT_SECRET_FILE (or OAUTH2_CLIENT_SECRET), OAUTH2_SCOPE, OAUTH2_AUTH_METHOD,
// and for keys OAUTH2_CLIENT_KEY_FILE and OAUTH2_CLIENT_KEY_ID (see oauth2cc::config_from_environment()).
// The token is kept between runs in a file_token_store: OAUTH2_CACHE_DIR, else
// $XDG_CACHE_HOME/oauth2cc, else ~/.cache/oauth2cc. A job every minute then makes one
// token request per token lifetime instead of one per run. With OAUTH2_REVOKE_AT_EXIT=1 the
// job revokes its token when it is done (RFC 7009; OAUTH2_REVOCATION_URL, else the issuer's)
// and keeps none: for jobs that run seldom, whose token would otherwise outlive them.
// SPDX-License-Identifier: MIT

#include "../common/environment.hpp"

#include <oauth2cc/oauth2cc.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

namespace {

int fail(const std::string& why) {
    std::cerr << "oauth2cc-cron-job: " << why << "\n";
    return 1;
}

/// Revokes the job's tokens when it leaves, whatever its call did, when asked to.
struct revoke_at_exit {
    oauth2cc::token_manager& tokens;
    bool wanted;
    ~revoke_at_exit() {
        if (!wanted) return;
        try {
            tokens.revoke();
        } catch (const oauth2cc::error& e) {
            // The call's outcome is the job's; a failed revocation is said, not fatal.
            std::cerr << "oauth2cc-cron-job: warning: the token was not revoked: " << e.what()
                      << "\n";
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    const std::string url = argc > 1 ? argv[1] : oauth2cc_examples::env("OAUTH2CC_API_URL");
    if (url.empty() || argc > 2)
        return fail("usage: oauth2cc-cron-job [URL] (or OAUTH2CC_API_URL)");

    oauth2cc::client_config cfg;
    try {
        cfg = oauth2cc::config_from_environment();
    } catch (const oauth2cc::error& e) {
        return fail(e.what());
    }

    try {
        const std::size_t path_at = url.find_first_of("/?", url.find("://") + 3);
        const std::string base = url.substr(0, path_at);
        const std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
        oauth2cc::token_manager tokens(cfg);
        tokens.set_store(std::make_shared<oauth2cc::file_token_store>(
            oauth2cc_examples::env("OAUTH2_CACHE_DIR")));
        oauth2cc::authorized_client api(base, tokens);
        const revoke_at_exit revoker{tokens,
                                     oauth2cc_examples::env("OAUTH2_REVOKE_AT_EXIT") == "1"};
        const oauth2cc::http_response res = api.get(path);
        if (res.status < 200 || res.status > 299) {
            std::string why = "the API answered HTTP " + std::to_string(res.status);
            if (const auto c = oauth2cc::find_bearer_challenge(res); c && !c->error.empty()) {
                why += " (" + c->error + ")";
            }
            return fail(why);
        }
        std::cout << res.body;
        if (!res.body.empty() && res.body.back() != '\n') std::cout << "\n";
        return 0;
    } catch (const oauth2cc::error& e) {
        std::string why = e.what();
        if (!e.oauth_error().empty()) why += " [error=" + e.oauth_error() + "]";
        return fail(why);
    }
}
