#include "core/net/transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/ssl.hpp>

#include "core/smtp/received.hpp"

namespace mailgate::net {
namespace ssl = boost::asio::ssl;

template <typename Socket>
BasicTransport<Socket>::BasicTransport(Socket& socket) : socket_(socket) {}

template <typename Socket>
BasicTransport<Socket>::~BasicTransport() = default;

// Not a coroutine itself: the caller awaits Asio's operation directly, without a frame of ours
// between (one allocation and one resumption less per read).
template <typename Socket>
awaitable<std::tuple<error_code, size_t>> BasicTransport<Socket>::readSome(
    asio::mutable_buffer buffer) {
    if (tls_) {
        return tls_->async_read_some(buffer, use_nothrow);
    }
    return socket_.async_read_some(buffer, use_nothrow);
}

template <typename Socket>
awaitable<error_code> BasicTransport<Socket>::write(asio::const_buffer buffer) {
    if (tls_) {
        auto [ec, written] = co_await asio::async_write(*tls_, buffer, use_nothrow);
        (void)written;
        co_return ec;
    }
    auto [ec, written] = co_await asio::async_write(socket_, buffer, use_nothrow);
    (void)written;
    co_return ec;
}

// An async_write that completes at once still waits a turn of the event loop before its
// coroutine resumes; send(MSG_DONTWAIT) does not. An error only for a broken connection.
template <typename Socket>
error_code BasicTransport<Socket>::sendNow(asio::const_buffer& buffer) {
    while (!tls_ && buffer.size() > 0) {
        const ssize_t sent = ::send(socket_.native_handle(), buffer.data(), buffer.size(),
                                    MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent >= 0) {
            buffer += static_cast<size_t>(sent);
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;  // the rest waits for the socket to be writable
        }
        return error_code(errno, boost::system::system_category());
    }
    return {};
}

template <typename Socket>
awaitable<error_code> BasicTransport<Socket>::acceptTls(ssl::context& context) {
    tls_ = std::make_unique<TlsStream>(socket_, context);
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server, use_nothrow);
    if (ec) {
        tls_.reset();
    }
    co_return ec;
}

template <typename Socket>
awaitable<error_code> BasicTransport<Socket>::connectTls(ssl::context& context,
                                                         const std::string& expected_name,
                                                         bool verify) {
    tls_ = std::make_unique<TlsStream>(socket_, context);
    SSL* ssl = tls_->native_handle();
    error_code address_error;
    const auto address = asio::ip::make_address(expected_name, address_error);
    if (address_error) {
        SSL_set_tlsext_host_name(ssl, expected_name.c_str());  // SNI only for names
        SSL_set1_host(ssl, expected_name.c_str());
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), address.to_string().c_str());
    }
    SSL_set_verify(ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::client, use_nothrow);
    if (ec) {
        tls_.reset();
    }
    co_return ec;
}

template <typename Socket>
awaitable<void> BasicTransport<Socket>::closeTls() {
    if (tls_) {
        // Marked as if the peer's close_notify had come: ours is sent, the peer's not awaited
        // (RFC 8446 6.1 allows it; a client that waits for our TCP close would stall us).
        SSL_set_shutdown(tls_->native_handle(), SSL_RECEIVED_SHUTDOWN);
        auto [ec] = co_await tls_->async_shutdown(use_nothrow);
        (void)ec;
    }
}

template <typename Socket>
void BasicTransport<Socket>::reset() {
    tls_.reset();
    ERR_clear_error();
}

template <typename Socket>
TlsDetails BasicTransport<Socket>::details() const {
    TlsDetails details;
    if (!tls_) {
        return details;
    }
    SSL* ssl = tls_->native_handle();
    details.version = SSL_get_version(ssl);
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
        details.cipher = SSL_CIPHER_get_name(cipher);
        details.bits = SSL_CIPHER_get_bits(cipher, &details.algorithm_bits);
    }
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
        details.server_name = name;
    }
    return details;
}

template <typename Socket>
std::string BasicTransport<Socket>::verifyResult() const {
    if (!tls_) {
        return "no TLS";
    }
    SSL* ssl = tls_->native_handle();
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (peer == nullptr) {
        return "no certificate";
    }
    const long result = SSL_get_verify_result(ssl);
    return result == X509_V_OK ? std::string("ok") : X509_verify_cert_error_string(result);
}

template <typename Socket>
size_t BasicTransport<Socket>::available() const {
    error_code ec;
    const size_t raw = socket_.available(ec);
    if (tls_) {
        return raw + static_cast<size_t>(SSL_pending(tls_->native_handle()));
    }
    return raw;
}

template class BasicTransport<tcp::socket>;
template class BasicTransport<asio::generic::stream_protocol::socket>;

std::string tlsSummary(const TlsDetails& details) {
    return smtp::tlsSummary(details.version, details.cipher, details.bits, details.algorithm_bits);
}

}  // namespace mailgate::net
