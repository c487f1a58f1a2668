// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// grpc_server/dates_service.hpp: the Dates service of dates.proto, checking each RPC's token
// as a resource server does (RFC 7662 introspection, RFC 9449 DPoP proofs), for the example
// server and the adapter tests.
// SPDX-License-Identifier: MIT
#pragma once

#include "../resource_server/proof_check.hpp"

#include "dates.grpc.pb.h"

#include <oauth2cc/oauth2cc.hpp>

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace oauth2cc_examples {

/// @brief The path of the Today RPC, which a DPoP proof's `htu` ends with.
inline constexpr const char* today_path = "/oauth2cc.example.Dates/Today";

/// @brief The last value of a request's metadata key (count: how many it had).
inline std::string metadata(const grpc::ServerContext& context, const std::string& key,
                            std::size_t* count = nullptr) {
    const auto range = context.client_metadata().equal_range(key);
    std::string value;
    std::size_t n = 0;
    for (auto it = range.first; it != range.second; ++it, ++n) {
        value.assign(it->second.data(), it->second.size());
    }
    if (count != nullptr) *count = n;
    return value;
}

/// @brief The Dates service, checking tokens as a resource server does: the token by
/// RFC 7662 introspection at the authorization server, with the service's own client
/// credentials (each distinct token once; its answer is kept until forget(), so that the
/// service goes on while the authorization server is down), and a DPoP proof on every RPC
/// (signature, `htm` POST, `htu` one of the expected origins and the method's path, `ath`,
/// and the key the token is bound to). Thread-safe.
class dates_service final : public oauth2cc::example::Dates::Service {
public:
    /// @param introspection_endpoint the authorization server's RFC 7662 endpoint
    /// @param self                   the service's own client configuration
    dates_service(std::string introspection_endpoint, oauth2cc::client_config self)
        : endpoint_(std::move(introspection_endpoint)), self_(std::move(self)) {}

    /// @brief An origin DPoP proofs may name: `https://host:port` of a TLS listener, and
    /// `https://localhost` for local credentials on a UNIX socket (gRPC's authority there).
    void expect_origin(std::string origin) { origins_.insert(std::move(origin)); }

    grpc::Status Today(grpc::ServerContext* context, const oauth2cc::example::TodayRequest*,
                       oauth2cc::example::TodayReply* reply) override {
        ++rpcs_;
        const auto refuse = [&](const std::string& why) {
            ++refused_;
            return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
        };
        const std::string authorization = metadata(*context, "authorization");
        const bool dpop = authorization.rfind("DPoP ", 0) == 0;
        if (!dpop && authorization.rfind("Bearer ", 0) != 0) return refuse("no token");
        const std::string token = authorization.substr(dpop ? 5 : 7);
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            tokens_seen_.insert(token);
        }
        oauth2cc_examples::proof_verdict proof;
        if (dpop) {
            std::size_t proofs = 0;
            const std::string header = metadata(*context, "dpop", &proofs);
            if (proofs != 1) return refuse("a DPoP RPC carries one proof");
            bool good = false;
            for (const auto& origin : origins_) {
                proof = checker_.check(header, "POST", origin + today_path, token);
                if (proof) {
                    good = true;
                    break;
                }
            }
            if (!good) return refuse("bad proof: " + proof.description);
            ++proofs_checked_;
        }
        const auto info = introspected(token);
        if (!info) return {grpc::StatusCode::UNAVAILABLE, "introspection failed"};
        if (!info->active) return refuse("inactive token");
        const auto cnf = info->raw.find("cnf");
        const std::string jkt = cnf != info->raw.end() && cnf->contains("jkt")
                                    ? cnf->at("jkt").get<std::string>()
                                    : std::string();
        if (dpop != !jkt.empty()) return refuse("the token's binding and scheme differ");
        if (dpop && proof.key_thumbprint != jkt) return refuse("the proof's key is another");
        if (!info->has_scope("read_date")) {
            return {grpc::StatusCode::PERMISSION_DENIED, "read_date is needed"};
        }
        reply->set_date("2026-12-07");
        reply->set_client_id(info->client_id);
        ++ok_;
        return grpc::Status::OK;
    }

    /// @brief Forgets every introspection answer: the next RPC of each token asks again.
    void forget() {
        const std::lock_guard<std::mutex> lock(mutex_);
        answers_.clear();
    }

    int rpcs() const { return rpcs_; }                      ///< RPCs taken
    int ok() const { return ok_; }                          ///< RPCs answered
    int refused() const { return refused_; }                ///< RPCs refused UNAUTHENTICATED
    int introspections() const { return introspections_; }  ///< questions asked
    int proofs_checked() const { return proofs_checked_; }  ///< good DPoP proofs
    /// @brief The distinct tokens RPCs carried.
    std::size_t tokens_seen() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return tokens_seen_.size();
    }

private:
    std::optional<oauth2cc::introspection_result> introspected(const std::string& token) {
        const std::lock_guard<std::mutex> one_at_a_time(introspecting_);
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            const auto it = answers_.find(token);
            if (it != answers_.end()) return it->second;
        }
        try {
            ++introspections_;
            auto info = oauth2cc::introspect(self_, endpoint_, token);
            const std::lock_guard<std::mutex> lock(mutex_);
            answers_[token] = info;
            return info;
        } catch (const oauth2cc::error&) {
            return std::nullopt;
        }
    }

    std::string endpoint_;
    oauth2cc::client_config self_;
    std::set<std::string> origins_;
    oauth2cc_examples::dpop_proof_checker checker_;
    std::mutex introspecting_;  // one introspection at a time: each token is asked once
    mutable std::mutex mutex_;
    std::map<std::string, oauth2cc::introspection_result> answers_;
    std::set<std::string> tokens_seen_;
    std::atomic<int> rpcs_{0}, ok_{0}, refused_{0}, introspections_{0}, proofs_checked_{0};
};

}  // namespace oauth2cc_examples
