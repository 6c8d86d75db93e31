#pragma once

// The OpenSSL contexts of one loaded configuration: inbound (server.tls, certificates chosen by
// SNI) and to the backend (backend.tls). Built with the rest of the runtime, so a SIGHUP re-reads
// the certificates and a broken one refuses the reload. Only tls_context.cpp and transport.cpp
// include Asio's ssl headers.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace mailgate::net {

// Inbound TLS: the default certificate and the others, picked by the client's SNI name.
class ServerTls {
  public:
    struct Impl;
    explicit ServerTls(std::unique_ptr<Impl> impl);
    ~ServerTls();
    ServerTls(const ServerTls&) = delete;
    ServerTls& operator=(const ServerTls&) = delete;

    // The context new server-side streams start with; SNI may switch a stream to another.
    boost::asio::ssl::context& context() const;
    std::chrono::milliseconds handshakeTimeout() const;
    // The certificate names each context answers for, for the log: "mx.example.org (default)".
    std::string summary() const;

  private:
    std::unique_ptr<Impl> impl_;
};

// TLS to the backend: a client context with the CA file and the verification policy.
class ClientTls {
  public:
    struct Impl;
    explicit ClientTls(std::unique_ptr<Impl> impl);
    ~ClientTls();
    ClientTls(const ClientTls&) = delete;
    ClientTls& operator=(const ClientTls&) = delete;

    boost::asio::ssl::context& context() const;
    // True for backend.tls: required (a failed verification fails the handshake).
    bool verify() const;

  private:
    std::unique_ptr<Impl> impl_;
};

struct TlsContexts {
    std::shared_ptr<const ServerTls> server;  // null without server.tls
    // To the backends, by route: [0] for `backend`, [i + 1] for routes[i] (as in relay::Router);
    // null for a route with tls: none.
    std::vector<std::shared_ptr<const ClientTls>> backends;
};

// Reads the certificates, keys and CA files the config names. Each problem becomes an error
// located at its key ("FILE:LINE:COL: server.tls.key: ..."); the contexts are then unusable.
TlsContexts loadTls(const config::Config& config, std::vector<config::ConfigError>& errors);

// Whether `name` (a host name from SNI) is matched by `pattern` (a name, or "*.example.org"
// matching exactly one label), ignoring case. Exposed for the unit tests.
bool tlsNameMatches(std::string_view pattern, std::string_view name);

}  // namespace mailgate::net
