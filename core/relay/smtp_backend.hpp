#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/net/deadline.hpp"
#include "core/relay/backend.hpp"

namespace mailgate::relay {

// An SMTP client to the backend MTA, in lockstep with the client session like Postfix's
// smtpd_proxy: MAIL and each RCPT are relayed as they arrive so the backend's own answers reach
// the client; the message goes out in one dot-stuffed write after the end-of-message plugins.
// Servers are tried in config order; the connection is kept for the session's next message.
class SmtpBackend final : public Backend {
  public:
    SmtpBackend(const config::BackendConfig& config, std::string helo_name,
                asio::any_io_executor executor);
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
    };

    awaitable<bool> connect();
    awaitable<bool> connectTo(const config::Endpoint& server);
    awaitable<bool> greet();
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
    net::Deadline deadline_;
    std::string in_;
    std::string current_server_;
    Capabilities capabilities_;
    bool connected_ = false;
    bool needs_reset_ = false;
    bool last_timed_out_ = false;
};

}  // namespace mailgate::relay
