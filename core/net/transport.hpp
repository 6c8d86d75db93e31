#pragma once

#include <memory>
#include <string>
#include <tuple>

#include "core/net/asio.hpp"

namespace boost::asio::ssl {
class context;
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace mailgate::net {

// What a TLS session negotiated, for the Received header, the log and plugins.
struct TlsDetails {
    std::string version;      // "TLSv1.3"
    std::string cipher;       // "TLS_AES_256_GCM_SHA384"
    int bits = 0;             // secret bits of the cipher
    int algorithm_bits = 0;   // bits of the algorithm
    std::string server_name;  // the SNI name the client asked for (server side), or ""
};

// The byte stream of one connection: the plain socket, or TLS over that same socket once
// STARTTLS (or an implicit-TLS listener) has negotiated it. The socket stays with its owner, who
// keeps using it for what TLS does not change (endpoints, cancel, close, connect); reads and
// writes go through here. One read and one write at a time, like the socket itself.
// Instantiated (in transport.cpp) for the TCP socket of client sessions and for the generic
// stream socket of backend connections (TCP or unix; TLS is only started over TCP).
template <typename Socket>
class BasicTransport {
  public:
    explicit BasicTransport(Socket& socket);
    ~BasicTransport();
    BasicTransport(const BasicTransport&) = delete;
    BasicTransport& operator=(const BasicTransport&) = delete;

    bool secure() const { return tls_ != nullptr; }

    awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer);
    // Writing is two steps, so that the usual case needs no coroutine frame and no turn of the
    // event loop: sendNow() gives the kernel what it takes at once (a reply or a command almost
    // always fits in the socket's send buffer) and leaves the rest in `buffer`; write() then
    // sends that rest, waiting as needed. Over TLS sendNow() sends nothing: all goes by write().
    //
    //     error_code ec = transport.sendNow(buffer);
    //     if (!ec && buffer.size() > 0) ec = co_await transport.write(buffer);
    error_code sendNow(asio::const_buffer& buffer);
    awaitable<error_code> write(asio::const_buffer buffer);

    // Server side of a handshake with `context` (SNI may switch it). On failure the TLS state is
    // dropped, and the connection must be closed: its byte stream is in an unknown state.
    awaitable<error_code> acceptTls(boost::asio::ssl::context& context);
    // Client side: SNI and, with `verify`, the certificate checked against `expected_name`.
    awaitable<error_code> connectTls(boost::asio::ssl::context& context,
                                     const std::string& expected_name, bool verify);
    // Sends close_notify, without waiting for the peer's (bounded by the owner's deadline).
    awaitable<void> closeTls();
    // Forgets the TLS state (the socket was closed, or is about to be reused).
    void reset();

    TlsDetails details() const;
    // The certificate verification result of a client-side session: "ok" or OpenSSL's reason.
    std::string verifyResult() const;
    // Decrypted bytes waiting inside the TLS layer, or raw bytes in the socket when plain.
    size_t available() const;

  private:
    using TlsStream = boost::asio::ssl::stream<Socket&>;

    Socket& socket_;
    std::unique_ptr<TlsStream> tls_;
};

using Transport = BasicTransport<tcp::socket>;
using BackendTransport = BasicTransport<asio::generic::stream_protocol::socket>;
extern template class BasicTransport<tcp::socket>;
extern template class BasicTransport<asio::generic::stream_protocol::socket>;

// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", as Postfix writes it.
std::string tlsSummary(const TlsDetails& details);

}  // namespace mailgate::net
