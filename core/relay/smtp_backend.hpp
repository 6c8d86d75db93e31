#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/deadline.hpp"
#include "core/net/tls_context.hpp"
#include "core/net/transport.hpp"
#include "core/relay/backend.hpp"
#include "core/relay/router.hpp"

namespace mailgate::relay {

// An SMTP or LMTP client to one backend group, in lockstep with the client session like
// Postfix's smtpd_proxy: each RCPT is relayed as it arrives so the backend's own answers reach
// the client (MAIL goes with the first RCPT when the backend offers PIPELINING); the message goes
// out in one dot-stuffed write after the end-of-message plugins. Servers are picked by the Router
// (failover or round robin, skipping servers marked down); the connection is kept for the session's
// next message, within max_messages_per_connection and max_connection_age, and only for the same
// client identity once XCLIENT has bound it to one. With the route's tls, STARTTLS comes right
// after the first EHLO, before XCLIENT (EHLO, STARTTLS, EHLO, XCLIENT, EHLO, as Postfix expects).
class SmtpBackend final : public Backend {
  public:
    // `tls` is the route's client TLS context; null for tls: none.
    SmtpBackend(const Router& router, size_t route, const filter::SessionInfo& session,
                asio::any_io_executor executor, std::shared_ptr<const net::ClientTls> tls = {});
    ~SmtpBackend() override;

    awaitable<smtp::Reply> mailFrom(const filter::Transaction& transaction) override;
    awaitable<smtp::Reply> rcptTo(const filter::Transaction& transaction,
                                  const std::string& recipient) override;
    awaitable<smtp::Reply> data(const filter::Transaction& transaction,
                                const OutgoingMessage& message) override;
    awaitable<void> reset() override;
    awaitable<void> quit() override;
    void abort() override;

  private:
    struct Capabilities {
        bool pipelining = false;
        bool size = false;
        bool eight_bit_mime = false;
        bool smtputf8 = false;
        bool starttls = false;
        bool chunking = false;
        std::vector<std::string> xclient;   // attribute names after XCLIENT, upper case
        std::vector<std::string> xforward;  // attribute names after XFORWARD, upper case
        bool has_xclient = false;
        bool has_xforward = false;
    };
    using Socket = asio::generic::stream_protocol::socket;

    // MAIL (connecting first when needed); with `may_defer` and PIPELINING it is kept in
    // pending_mail_ for the first RCPT and answered 250 here.
    awaitable<smtp::Reply> openTransaction(const filter::Transaction& transaction, bool may_defer);
    awaitable<smtp::Reply> mailThenRcpt(const filter::Transaction& transaction,
                                        const std::string& recipient, const std::string& rcpt_line);
    smtp::Reply rcptResult(std::optional<smtp::Reply> reply, const std::string& recipient);
    awaitable<bool> connect();
    // With `use_tls`, STARTTLS per the route's tls; `retry_plain` is set when an opportunistic
    // handshake failed, so the caller may try the same server again without TLS.
    awaitable<bool> connectTo(const config::Endpoint& server, bool use_tls, bool& retry_plain);
    awaitable<bool> openSocket(const config::Endpoint& server);
    // EHLO (LHLO for LMTP) with `name`, falling back to HELO for SMTP.
    awaitable<bool> greet(const std::string& name);
    // STARTTLS, handshake and a new EHLO (LHLO), per the route's tls. False when the connection
    // is unusable.
    awaitable<bool> startTls(const config::Endpoint& server, bool& retry_plain);
    // XCLIENT when chosen; false when the server cannot be used (see forward_client).
    awaitable<bool> forwardClientOnConnect(const config::Endpoint& server);
    // XFORWARD before MAIL when chosen; a reply to give the client when it failed.
    awaitable<std::optional<smtp::Reply>> forwardClientForTransaction(
        const filter::Transaction& transaction);
    bool reusable();
    // Writes `text` (after checking that the backend has not spoken out of turn); false, with
    // the connection closed, when that failed.
    awaitable<bool> writeCommand(std::string_view text, std::chrono::milliseconds timeout);
    // Writes `text` and reads one reply; nullopt when the connection failed or timed out.
    awaitable<std::optional<smtp::Reply>> command(std::string_view text,
                                                  std::chrono::milliseconds timeout);
    awaitable<std::optional<smtp::Reply>> readReply(std::chrono::milliseconds timeout);
    // The message after DATA (`as_chunks` false) or as BDAT commands; `chunks` counts those.
    awaitable<bool> sendMessage(const OutgoingMessage& message, bool as_chunks, size_t& chunks);
    awaitable<smtp::Reply> dataInChunks(const OutgoingMessage& message);
    smtp::Reply finalResult(std::optional<smtp::Reply> reply);
    awaitable<bool> writeWire(std::string& wire, size_t room, bool last, size_t& chunks);
    awaitable<smtp::Reply> lmtpReplies(const filter::Transaction& transaction);
    smtp::Reply finishCommand(smtp::Reply reply, const char* success_code);
    std::string mailCommand(const filter::Transaction& transaction) const;
    // What XCLIENT told the backend about the client; a connection bound to one client is not
    // reused for another.
    struct ClientIdentity {
        std::string ip;
        uint16_t port = 0;
        std::string helo;
        bool esmtp = false;
        std::string auth;
    };
    bool boundToThisClient() const;
    static Capabilities parseCapabilities(const smtp::Reply& ehlo);
    void close();

    const Router& router_;
    const size_t route_;
    const config::BackendConfig& config_;
    const filter::SessionInfo& session_;
    const bool lmtp_;
    asio::any_io_executor executor_;
    Socket socket_;
    net::BackendTransport transport_;
    std::shared_ptr<const net::ClientTls> tls_;
    net::Deadline deadline_;
    std::string in_;
    // Replies are read through here: a buffer in the coroutine frame would make every readReply
    // frame too large for Asio's frame recycling, and so a fresh allocation each time.
    std::unique_ptr<char[]> read_buffer_;
    std::string current_server_;
    Capabilities capabilities_;
    std::chrono::steady_clock::time_point connected_at_;
    size_t transactions_on_connection_ = 0;
    std::optional<ClientIdentity> bound_identity_;  // the client XCLIENT named, if it was used
    std::vector<std::string> accepted_rcpts_;       // RCPTs the backend took in this transaction
    std::string pending_mail_;      // MAIL waiting to go out with the first RCPT (PIPELINING)
    bool pending_on_kept_ = false;  // ... on a connection kept from an earlier transaction
    bool connected_ = false;
    bool needs_reset_ = false;
    bool last_timed_out_ = false;
};

// xtext (RFC 3461): "+" and "=" and bytes outside "!".."~" as "+XX".
std::string xtext(std::string_view text);

// The XCLIENT or XFORWARD command lines (each at most 512 octets with CRLF) that pass the
// given attributes, in order, keeping only the ones the server advertised.
std::vector<std::string> attributeCommands(
    std::string_view verb, const std::vector<std::pair<std::string, std::string>>& attributes,
    const std::vector<std::string>& advertised);

}  // namespace mailgate::relay
