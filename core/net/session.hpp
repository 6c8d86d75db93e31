#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/filter/chain.hpp"
#include "core/filter/transaction.hpp"
#include "core/net/asio.hpp"
#include "core/net/deadline.hpp"
#include "core/net/proxy_protocol.hpp"
#include "core/net/runtime.hpp"
#include "core/net/transport.hpp"
#include "core/relay/backend.hpp"
#include "core/smtp/command.hpp"
#include "core/smtp/reply.hpp"

namespace mailgate::net {

class SessionRegistry;

// One client connection from greeting to close: reads commands, asks the filter chain, relays to
// the backend and answers. Runs as one coroutine on one single-threaded io_context.
// Split by phase: session.cpp (connection and I/O), session_commands.cpp (command handlers),
// session_data.cpp (DATA and delivery).
class Session {
  public:
    // `listener` (the entry of server.listen that accepted the socket) outlives the session.
    // `proxied`: the addresses a PROXY header gave, which replace the socket's own.
    Session(tcp::socket socket, RuntimePtr runtime, SessionRegistry& registry, std::string id,
            const config::Listener& listener, const proxy::Header& proxied = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    awaitable<void> run();
    // Graceful: finish the transaction in flight, then 421 and close. Called on our thread.
    void requestShutdown();
    // Close at once (the drain time is over).
    void forceClose();

  private:
    enum class ReadStatus { Line, LineTooLong, Closed, TimedOut, ShuttingDown };

    // session.cpp: connection and I/O
    awaitable<bool> greet();
    awaitable<bool> checkEarlyTalker();
    awaitable<ReadStatus> readCommandLine(std::string& line, bool& crlf);
    // What the next read is for: it sizes the buffer the bytes land in.
    enum class ReadFor { Command, Body };
    // A read of client input: await transport_.readSome(inputSpace(p)), then takeInput(), which
    // appends the bytes to in_ and is false when the read failed or the client closed.
    asio::mutable_buffer inputSpace(ReadFor purpose);
    bool takeInput(const error_code& ec, asio::mutable_buffer space, size_t read);
    // Writes the queued replies; the write is bounded by the command timeout unless the caller
    // has armed a deadline of its own.
    awaitable<bool> flush(bool arm_deadline = true);
    // The part of flush that needs no waiting: true when every queued reply went out now.
    // False when the connection is closed or broken, or the client is slow to read: flush()
    // then finishes (or fails) the job.
    bool sendRepliesNow();
    void reply(const smtp::Reply& reply);
    void replyText(int code, const char* enhanced, std::string_view text);
    awaitable<void> closeWith(smtp::Reply reply);  // by value: safe across suspension
    awaitable<void> finish();
    std::string_view pendingInput() const;
    void consumeInput(size_t count);

    // session_commands.cpp: one handler per verb; false ends the session
    awaitable<bool> dispatch(const smtp::Command& command);
    awaitable<bool> answerDirectly(const smtp::Command& command);
    awaitable<bool> onHelo(const smtp::Command& command, bool extended);
    awaitable<bool> onMail(const smtp::Command& command);
    awaitable<bool> onRcpt(const smtp::Command& command);
    awaitable<bool> onRset();
    bool onSyntaxError(const smtp::Command& command);
    bool countError();
    // What MAIL's parameters say, checked before its transaction begins.
    struct MailParameters {
        std::vector<smtp::Parameter> params;
        uint64_t declared_size = 0;
        bool smtputf8 = false;
    };
    bool checkMailParameters(const smtp::Command& command, MailParameters& checked);
    awaitable<bool> applyDecision(const filter::Decision& decision);
    awaitable<filter::Decision> runStage(filter::Stage stage);
    void beginTransaction();
    awaitable<void> abortTransaction(const char* outcome);

    // session_tls.cpp: STARTTLS (RFC 3207), implicit TLS, what EHLO offers
    awaitable<bool> onStarttls(const smtp::Command& command);
    awaitable<bool> startTls();
    bool starttlsOffered() const;
    void addSecurityKeywords(std::vector<std::string>& keywords) const;
    // False (with the reply queued) when this listener requires TLS and the session has none.
    bool checkTlsRequired();
    awaitable<void> closeTls();

    // session_auth.cpp: AUTH PLAIN and LOGIN (RFC 4954)
    enum class AuthStep { Ok, Failed, Ended };
    awaitable<bool> onAuth(const smtp::Command& command);
    awaitable<AuthStep> authChallenge(const char* challenge, std::string& decoded);
    bool authOffered() const;
    void addAuthKeyword(std::vector<std::string>& keywords) const;

    // session_data.cpp: DATA, end-of-message plugins, delivery, summary log
    awaitable<bool> onData();
    awaitable<bool> readMessage(smtp::Reply& failure);
    awaitable<bool> deliver();
    awaitable<filter::Decision> runMessageStages();
    awaitable<std::optional<smtp::Reply>> replayEnvelope();
    awaitable<smtp::Reply> quarantine(const relay::OutgoingMessage& message);
    awaitable<bool> refuseMessage(const char* outcome, smtp::Reply refusal);
    void logSummary(const char* outcome, const smtp::Reply& final_reply) const;
    // Ends the transaction: the plugins' reset hooks, then their transaction data is freed.
    awaitable<void> endTransaction();

    tcp::socket socket_;
    Transport transport_;  // reads and writes: plain, or TLS after STARTTLS
    const config::Listener& listener_;
    // Reads land here: a small buffer while commands are awaited, so an idle connection holds
    // little, and a larger one only while a message body streams in (freed after the message).
    std::unique_ptr<char[]> command_read_buffer_;
    std::unique_ptr<char[]> body_read_buffer_;
    const RuntimePtr runtime_ptr_;  // keeps the config and plugins of this session alive
    const Runtime& runtime_;
    const config::LimitsConfig& limits_;
    SessionRegistry& registry_;
    Deadline deadline_;
    std::unique_ptr<relay::Backend> backend_;
    filter::SessionInfo info_;
    filter::Transaction transaction_;
    plugin::SessionState plugin_state_;
    filter::ChainContext chain_;
    std::string in_;
    size_t in_start_ = 0;
    std::string out_;
    size_t errors_ = 0;
    size_t transactions_ = 0;
    std::chrono::steady_clock::time_point transaction_start_;
    bool helo_seen_ = false;
    bool discard_all_ = false;    // a connect or helo plugin said discard
    std::string quarantine_all_;  // a connect or helo plugin said quarantine: which one
    bool waiting_for_command_ = false;
    bool shutting_down_ = false;
    bool closed_ = false;
    bool forced_ = false;
};

}  // namespace mailgate::net
