// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// common/stop_signals.hpp: SIGINT and SIGTERM for the example daemons, taken by sigwait.
// SPDX-License-Identifier: MIT
#pragma once

#include <pthread.h>
#include <signal.h>

namespace oauth2cc_examples {

/// @brief Blocks SIGINT and SIGTERM in this thread and in every thread it starts after,
/// so that sigwait() on the returned set receives them instead of whichever thread they
/// would hit. Call it before starting any thread.
inline sigset_t block_stop_signals() {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    return stop_signals;
}

}  // namespace oauth2cc_examples
