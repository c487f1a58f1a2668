// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
// detail/http/httplib_support.hpp: what httplib_sender builds on: cpp-httplib's errors in words,
// TLS files checked up front, the request target as sent, switches named differently
// by cpp-httplib releases, OpenSSL's identity check, and the socket a deadline shuts.
// SPDX-License-Identifier: MIT
#pragma once

#include "../../connection_options.hpp"
#include "../../error.hpp"
#include "../../http.hpp"
#include "deadline_watchdog.hpp"
#include "../text/form.hpp"
#include "../crypto/pem.hpp"
#include "headers.hpp"
#include "../text/limits.hpp"
#include "proxy.hpp"
#include "../text/text.hpp"
#include "url.hpp"
#include "../text/wipe.hpp"

#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace oauth2cc::detail {

/// @brief Says in words what a cpp-httplib error that is not TLS's means for the caller,
/// with the timeout that may have passed and its value; never cpp-httplib's own name.
/// @param quick the exchange ended before read_timeout could have passed
inline std::string describe(httplib::Error failure, const connection_options& options, bool https,
                            bool quick) {
    const auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
    switch (failure) {
        case httplib::Error::Connection:
            return "could not connect (refused, unreachable, or connect_timeout (" +
                   ms(options.connect_timeout) + ") passed)";
        case httplib::Error::Read:
            if (!quick) {
                return "read_timeout (" + ms(options.read_timeout) +
                       ") passed before the whole response came";
            }
            return std::string("the server closed the connection without an HTTP response") +
                   (https ? "" : " (if that port speaks TLS, the URL wants https://)");
        case httplib::Error::Write:
            return "the connection closed, or read_timeout (" + ms(options.read_timeout) +
                   ") passed, while the request was sent";
        default:
            return "the HTTP exchange failed (cpp-httplib error " +
                   std::to_string(static_cast<int>(failure)) + ")";
    }
}

/// @brief OpenSSL's verdict on the server's certificate in the last handshake of a
/// connection, which the connection's SSL_CTX writes (see record_verification()).
struct verify_outcome {
    std::atomic<bool> checked{false};
    std::atomic<long> result{X509_V_OK};
};

/// @brief The SSL_CTX's certificate check: OpenSSL's own, with its verdict kept.
inline int record_verification(X509_STORE_CTX* store, void* arg) {
    const int ok = X509_verify_cert(store);
    auto* out = static_cast<verify_outcome*>(arg);
    out->result = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(store);
    out->checked = true;
    return ok;
}

/// @brief Why a TLS handshake with origin (host) failed, and what to do, from OpenSSL's
/// verdict on the certificate (or, when none was checked, its last error).
inline std::string tls_failure(const std::string& origin, const std::string& host,
                               const verify_outcome& verify) {
    const std::string trust =
        "give that certificate's CA (or the certificate itself) in tls.ca_file "
        "(OAUTH2_CA_FILE, oauth2cc-cli --ca-file)";
    std::string why;
    const long result = verify.checked ? verify.result.load() : X509_V_OK;
    switch (result) {
        case X509_V_OK: {
            const unsigned long last = ERR_peek_last_error();
            const bool plain = ERR_GET_REASON(last) == SSL_R_WRONG_VERSION_NUMBER ||
                               ERR_GET_REASON(last) == SSL_R_PACKET_LENGTH_TOO_LONG ||
                               ERR_GET_REASON(last) == SSL_R_HTTP_REQUEST;
            ERR_clear_error();
            why = plain ? "the server answered in plain HTTP, not TLS: the URL wants http:// "
                          "(or the port that speaks TLS)"
                        : "the handshake failed before a certificate was checked (does the "
                          "port speak plain HTTP? then the URL wants http://; else the server "
                          "refused this client's TLS version or certificate)";
            break;
        }
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            why = "the server's certificate is self-signed, and not trusted here: " + trust;
            break;
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            why = "the server's certificate is issued by a CA that is not trusted here: " + trust;
            break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
            why =
                "the server's certificate has expired: the server must renew it (or this "
                "machine's clock is wrong)";
            break;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            why = "the server's certificate is not valid yet: check this machine's clock";
            break;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            why = "the server's certificate is not for " + excerpt(host, 100) +
                  ": use a URL with a host name the certificate names";
            break;
        default:
            why = std::string("the server's certificate was refused: ") +
                  X509_verify_cert_error_string(result);
    }
    return "TLS with " + origin + " failed: " + why;
}

/// @brief Refuses trust anchors or a client certificate that OpenSSL cannot load, so that
/// the mistake shows as a clear `config` error and not as a failed handshake later.

/// @brief Puts a client certificate, the intermediates after it, and its key, all PEM
/// text, into ctx. @returns what could not be used, naming the field and never its
/// content; empty when all is in place
inline std::string use_client_pem(SSL_CTX* ctx, std::string_view cert_pem,
                                  std::string_view key_pem) {
    const auto buffer = [](std::string_view text) {
        return BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    };
    BIO* certs = buffer(cert_pem);
    X509* leaf =
        certs != nullptr ? PEM_read_bio_X509(certs, nullptr, refuse_passphrase, nullptr) : nullptr;
    bool cert_ok = ctx != nullptr && leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    while (cert_ok) {
        X509* intermediate = PEM_read_bio_X509(certs, nullptr, refuse_passphrase, nullptr);
        if (intermediate == nullptr) break;
        if (SSL_CTX_add0_chain_cert(ctx, intermediate) != 1) {
            X509_free(intermediate);
            cert_ok = false;
        }
    }
    BIO_free(certs);
    std::string problem;
    if (!cert_ok) {
        problem = "tls.client_cert_pem could not be read as a PEM certificate";
    } else {
        BIO* in = buffer(key_pem);  // reads the caller's buffer in place: no copy to wipe
        EVP_PKEY* key = in != nullptr
                            ? PEM_read_bio_PrivateKey(in, nullptr, refuse_passphrase, nullptr)
                            : nullptr;
        BIO_free(in);
        if (key == nullptr) {
            problem = "tls.client_key_pem could not be read as an unencrypted PEM private key";
        } else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
            problem = "tls.client_key_pem does not match tls.client_cert_pem";
        }
        EVP_PKEY_free(key);
    }
    ERR_clear_error();
    return problem;
}

/// @brief Whether path holds a private key in unencrypted PEM.
inline bool readable_private_key(const std::string& path) {
    BIO* in = BIO_new_file(path.c_str(), "r");
    if (in == nullptr) return false;
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, refuse_passphrase, nullptr);
    BIO_free(in);
    const bool readable = key != nullptr;
    EVP_PKEY_free(key);
    return readable;
}

/// @brief Puts a client certificate file (the certificate, then its intermediates) and
/// its key file into ctx, every PEM read through refuse_passphrase, so that a key file
/// replaced by an encrypted one is refused and never prompted for. Read afresh for each
/// new connection. @returns what could not be used, naming the file and never its
/// content; empty when all is in place
inline std::string use_client_files(SSL_CTX* ctx, const std::string& cert_file,
                                    const std::string& key_file) {
    SSL_CTX_set_default_passwd_cb(ctx, refuse_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
    std::string problem;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
        problem = "tls.client_cert_file \"" + excerpt(cert_file, 200) +
                  "\" could not be read as a PEM certificate";
    } else if (!readable_private_key(key_file)) {
        problem = "tls.client_key_file \"" + excerpt(key_file, 200) +
                  "\" could not be read as an unencrypted PEM private key";
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
               SSL_CTX_check_private_key(ctx) != 1) {
        problem = "tls.client_key_file does not match tls.client_cert_file";
    }
    ERR_clear_error();
    return problem;
}

inline void check_tls_files(const tls_options& tls) {
    const auto fail = [](const std::string& why) {
        ERR_clear_error();
        throw error(error_kind::config, why);
    };
    std::error_code ec;
    if (!tls.ca_dir.empty() && !std::filesystem::is_directory(tls.ca_dir, ec)) {
        fail("tls.ca_dir \"" + excerpt(tls.ca_dir, 200) + "\" is not a directory");
    }
    if (!tls.ca_file.empty()) {
        X509_STORE* store = X509_STORE_new();
        if (store == nullptr) fail("OpenSSL could not allocate a certificate store");
        const int loaded = X509_STORE_load_locations(store, tls.ca_file.c_str(), nullptr);
        X509_STORE_free(store);
        if (loaded != 1) {
            fail("tls.ca_file \"" + excerpt(tls.ca_file, 200) +
                 "\" could not be read as PEM certificates");
        }
    }
    if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
        fail("tls.client_cert_file and tls.client_key_file go together");
    }
    if (!tls.client_cert_file.empty()) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == nullptr) fail("OpenSSL could not create a TLS context");
        const std::string problem =
            use_client_files(ctx, tls.client_cert_file, tls.client_key_file);
        SSL_CTX_free(ctx);
        if (!problem.empty()) fail(problem);
    }
    if (!tls.client_cert_pem.empty()) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == nullptr) fail("OpenSSL could not create a TLS context");
        const std::string problem =
            use_client_pem(ctx, tls.client_cert_pem, tls.client_key_pem.reveal());
        SSL_CTX_free(ctx);
        if (!problem.empty()) fail(problem);
    }
    ERR_clear_error();
}

// cpp-httplib renamed its switches between releases; these pick whichever one exists.
template <class Client>
auto send_target_as_is(Client& client, int) -> decltype(client.set_path_encode(false)) {
    return client.set_path_encode(false);  // 0.20 and later
}
template <class Client>
auto send_target_as_is(Client& client, long) -> decltype(client.set_url_encode(false)) {
    return client.set_url_encode(false);  // before 0.20
}
template <class Client>
auto ssl_context_of(Client& client, int) -> decltype(static_cast<SSL_CTX*>(client.ssl_context())) {
    return client.ssl_context();  // before 0.43
}
template <class Client>
auto ssl_context_of(Client& client, long) -> decltype(static_cast<SSL_CTX*>(client.tls_context())) {
    return static_cast<SSL_CTX*>(client.tls_context());  // 0.43 and later
}

/// @brief Makes OpenSSL's own chain verification check the server's identity: the IP
/// address (RFC 6125 §6.2: an iPAddress SAN of exactly those bytes, never the CN) or the
/// DNS name, for every connection made from ctx. cpp-httplib's post-handshake check of
/// the verification result then fails on a mismatch, whichever release it is.
inline void require_identity(SSL_CTX* ctx, const std::string& host) {
    X509_VERIFY_PARAM* param = ctx != nullptr ? SSL_CTX_get0_param(ctx) : nullptr;
    bool ok = param != nullptr;
    if (ok && X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
        ERR_clear_error();  // not an IP address: a DNS name
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
    }
    if (!ok) {
        ERR_clear_error();
        throw error(error_kind::tls, "OpenSSL could not be told which host to verify");
    }
}

/// @brief A duplicate of the socket an exchange runs on, which the deadline shuts down.
/// shutdown() on it ends any wait on the socket at once, whatever the stage (connect, TLS
/// handshake, request, response), without the cpp-httplib lock that its own stop() needs
/// and that it holds through the handshake. Being a duplicate, it cannot name another
/// socket after cpp-httplib closes its own descriptor.
class socket_handle {
public:
    socket_handle() = default;
    socket_handle(const socket_handle&) = delete;
    socket_handle& operator=(const socket_handle&) = delete;
    ~socket_handle() { reset(-1); }

    /// @brief Called by cpp-httplib with each new socket, before it connects.
    void adopt(int fd) { reset(fd >= 0 ? ::dup(fd) : -1); }

    /// @brief Ends every operation on the socket now.
    void shut_down() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    }

    /// @brief Lets the socket close once cpp-httplib has closed its own descriptor.
    void release() { reset(-1); }

private:
    void reset(int fd) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

    std::mutex mutex_;
    int fd_ = -1;
};

}  // namespace oauth2cc::detail
