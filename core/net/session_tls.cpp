// TLS on the client connection: STARTTLS (RFC 3207), implicit TLS listeners (RFC 8314), and the
// EHLO keywords that depend on it.
#include "core/net/session.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::net {
namespace {

// close_notify on a session's way out: sent without waiting for the client's.
constexpr std::chrono::seconds kCloseNotifyTimeout{2};

}  // namespace

bool Session::starttlsOffered() const {
    return runtime_.tls.server != nullptr && listener_.tls == config::ListenerTls::Starttls &&
           !info_.tls;
}

void Session::addSecurityKeywords(std::vector<std::string>& keywords) const {
    if (starttlsOffered()) {
        keywords.emplace_back("STARTTLS");
    }
    addAuthKeyword(keywords);
}

bool Session::checkTlsRequired() {
    if (!listener_.require_tls || info_.tls) {
        return true;
    }
    replyText(530, "5.7.0", "Must issue a STARTTLS command first");
    return false;
}

awaitable<bool> Session::onStarttls(const smtp::Command& command) {
    (void)command;  // the parser refuses STARTTLS with an argument (501)
    if (info_.tls) {
        replyText(503, "5.5.1", "TLS already active");
        co_return countError();
    }
    if (!starttlsOffered()) {
        replyText(502, "5.5.1", "STARTTLS is not offered by this server");
        co_return countError();
    }
    if (transaction_.active()) {
        co_await abortTransaction("reset");  // the handshake resets the session (RFC 3207 4.2)
    }
    replyText(220, "2.0.0", "Ready to start TLS");
    if (!co_await flush()) {
        co_return false;
    }
    // Whatever the client sent after STARTTLS arrived before the handshake, in plaintext: it
    // must not be taken as commands of the TLS session (CVE-2011-0411).
    const size_t injected = pendingInput().size();
    if (injected > 0) {
        consumeInput(injected);
        ops::logLine(ops::LogLevel::Info, info_.id,
                     "discarded " + std::to_string(injected) + " bytes from " + info_.client_ip +
                         " sent after STARTTLS before the TLS handshake");
    }
    co_return co_await startTls();
}

// The server side of the handshake, bounded by server.tls.handshake_timeout. False when it
// failed: the byte stream is then in an unknown state, so the connection is closed without a
// reply.
awaitable<bool> Session::startTls() {
    const ServerTls* tls = runtime_.tls.server.get();
    if (tls == nullptr) {
        // Only an implicit-TLS listener whose certificate was removed by a reload gets here.
        ops::logLine(ops::LogLevel::Error, info_.id,
                     "TLS listener " + listener_.toString() +
                         " but no server.tls in the running configuration: closing");
        closed_ = true;
        co_return false;
    }
    deadline_.arm(tls->handshakeTimeout());
    const error_code ec = co_await transport_.acceptTls(tls->context());
    deadline_.disarm();
    if (ec) {
        ops::metrics::tlsHandshake(false);
        const std::string why = deadline_.expired() ? std::string("timed out") : ec.message();
        ops::logLine(ops::LogLevel::Info, info_.id,
                     "TLS handshake with " + info_.client_ip + " failed: " + why);
        closed_ = true;
        co_return false;
    }
    ops::metrics::tlsHandshake(true);
    const TlsDetails details = transport_.details();
    info_.tls = true;
    info_.tls_version = details.version;
    info_.tls_cipher = details.cipher;
    info_.tls_cipher_bits = details.bits;
    info_.tls_cipher_algorithm_bits = details.algorithm_bits;
    // The SMTP state starts over (RFC 3207 4.2): nothing learnt before TLS is kept.
    helo_seen_ = false;
    info_.helo.clear();
    info_.esmtp = false;
    info_.auth_identity.clear();
    ops::logLine(ops::LogLevel::Info, info_.id,
                 "TLS from " + info_.client_ip + ": " + tlsSummary(details) +
                     (details.server_name.empty() ? "" : " sni=" + details.server_name));
    co_return true;
}

awaitable<void> Session::closeTls() {
    if (!transport_.secure()) {
        co_return;
    }
    deadline_.arm(
        std::min<std::chrono::milliseconds>(kCloseNotifyTimeout, limits_.command_timeout));
    co_await transport_.closeTls();
}

}  // namespace mailgate::net
