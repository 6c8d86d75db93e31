#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/net/deadline.hpp"
#include "core/net/tls_context.hpp"
#include "core/net/transport.hpp"
#include "core/relay/backend.hpp"

namespace mailgate::relay {

// An SMTP client to the backend MTA, in lockstep with the client session like Postfix's
// smtpd_proxy: MAIL and each RCPT are relayed as they arrive so the backend's own answers reach
// the client; the message goes out in one dot-stuffed write after the end-of-message plugins.
// Servers are tried in config order; the connection is kept for the session's next message.
class SmtpBackend final : public Backend {
  public:
    // `tls` is the backend.tls context; null for backend.tls: none.
    SmtpBackend(const config::BackendConfig& config, std::string helo_name,
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
    };

    awaitable<bool> connect();
    // With `use_tls`, STARTTLS per backend.tls; `retry_plain` is set when an opportunistic
    // handshake failed, so the caller may try the same server again without TLS.
    awaitable<bool> connectTo(const config::Endpoint& server, bool use_tls, bool& retry_plain);
    awaitable<bool> greet();
    // STARTTLS, handshake and a new EHLO, per backend.tls. False when the connection is unusable.
    awaitable<bool> startTls(const config::Endpoint& server, bool& retry_plain);
    // Writes `text` and reads one reply; nullopt when the connection failed or timed out.
    awaitable<std::optional<smtp::Reply>> command(std::string_view text,
                                                  std::chrono::milliseconds timeout);
    awaitable<std::optional<smtp::Reply>> readReply(std::chrono::milliseconds timeout);
    awaitable<bool> sendMessage(const OutgoingMessage& message);
    awaitable<bool> writeAll(std::string& bytes);
    smtp::Reply finishCommand(smtp::Reply reply, const char* success_code);
    std::string mailCommand(const filter::Transaction& transaction) const;
    static Capabilities parseCapabilities(const smtp::Reply& ehlo);
    void close();

    const config::BackendConfig& config_;
    std::string helo_name_;
    asio::any_io_executor executor_;
    tcp::socket socket_;
    net::Transport transport_;
    std::shared_ptr<const net::ClientTls> tls_;
    net::Deadline deadline_;
    std::string in_;
    std::string current_server_;
    Capabilities capabilities_;
    bool connected_ = false;
    bool needs_reset_ = false;
    bool last_timed_out_ = false;
};

}  // namespace mailgate::relay
