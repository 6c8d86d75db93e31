#include "core/net/session.hpp"

#include "core/net/address_text.hpp"
#include "core/net/session_registry.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::net {
namespace {

// Commands are at most 512 octets (RFC 5321 4.5.3.1.4); a pipelined group takes a few reads.
constexpr size_t kCommandRead = 1024;
constexpr size_t kBodyRead = 16 * 1024;

}  // namespace

Session::Session(tcp::socket socket, RuntimePtr runtime, SessionRegistry& registry, std::string id,
                 const config::Listener& listener, const proxy::Header& proxied)
    : socket_(std::move(socket)),
      transport_(socket_),
      listener_(listener),
      runtime_ptr_(std::move(runtime)),
      runtime_(*runtime_ptr_),
      limits_(runtime_.config.limits),
      registry_(registry),
      deadline_(socket_.get_executor(), [this] { socket_.cancel(); }),
      chain_{plugin_state_, socket_.get_executor(), runtime_ptr_, nullptr} {
    info_.id = std::move(id);
    error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    if (!ec) {
        info_.client_ip = addressText(remote.address());
        info_.client_port = remote.port();
    }
    const auto local = socket_.local_endpoint(ec);
    if (!ec) {
        info_.local_ip = local.address().to_string();
        info_.local_port = local.port();
    }
    if (proxied.source && proxied.destination) {
        info_.client_ip = addressText(proxied.source->address);
        info_.client_port = proxied.source->port;
        info_.local_ip = proxied.destination->address.to_string();
        info_.local_port = proxied.destination->port;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    plugin_state_.info = &info_;
    plugin_state_.max_recipients = limits_.max_recipients;
    plugin_state_.max_message_size = limits_.max_message_size;
    backend_ = relay::makeSessionBackend(runtime_.router, info_, runtime_.config.server.hostname,
                                         socket_.get_executor(), runtime_.tls.backends);
    registry_.add(this);
}

Session::~Session() {
    registry_.remove(this);
}

awaitable<void> Session::run() {
    ops::logLine(ops::LogLevel::Debug, info_.id,
                 "connect from " + info_.client_ip + ":" + std::to_string(info_.client_port));
    // An implicit-TLS listener (port 465 style) negotiates TLS before the greeting.
    bool ready = true;
    if (listener_.tls == config::ListenerTls::Implicit) {
        ready = co_await startTls();
    }
    if (ready) {
        ready = co_await greet();
    }
    if (ready) {
        std::string line;  // out of the loop: its capacity serves every command
        for (;;) {
            bool crlf = true;
            const ReadStatus status = co_await readCommandLine(line, crlf);
            if (status == ReadStatus::Closed) {
                break;
            }
            if (status == ReadStatus::TimedOut) {
                co_await closeWith(
                    {421, "4.4.2",
                     runtime_.config.server.hostname + " Timeout, closing connection"});
                break;
            }
            if (status == ReadStatus::ShuttingDown) {
                co_await closeWith({421, "4.3.2",
                                    runtime_.config.server.hostname +
                                        " Service shutting down, closing connection"});
                break;
            }
            if (status == ReadStatus::LineTooLong) {
                replyText(500, "5.5.2", "Line too long");
                if (!countError()) {
                    break;
                }
                continue;
            }
            smtp::Command command = smtp::parseCommand(line);
            if (!crlf && command.error == smtp::CommandError::None) {
                command.error = smtp::CommandError::BareLineEnding;
            }
            if (!co_await dispatch(command)) {
                break;
            }
        }
    }
    co_await finish();
}

awaitable<bool> Session::greet() {
    if (co_await checkEarlyTalker()) {
        ops::logLine(ops::LogLevel::Info, info_.id,
                     "early talker " + info_.client_ip + " refused (sent before the greeting)");
        co_await closeWith(
            {554, "5.5.0",
             runtime_.config.server.hostname + " Protocol error: data sent before the greeting"});
        co_return false;
    }
    if (closed_) {
        co_return false;
    }
    const filter::Decision decision = co_await runStage(filter::Stage::Connect);
    switch (decision.verdict) {
        case MG_REJECT:
        case MG_TEMPFAIL:
        case MG_DISCONNECT:
            ops::logLine(ops::LogLevel::Info, info_.id,
                         "connection from " + info_.client_ip + " refused by plugin " +
                             decision.plugin + ": " + decision.reply.summary());
            {
                // Named, not a ?: temporary inside co_await (GCC 12 destroys those twice).
                smtp::Reply refusal = decision.reply;
                if (decision.verdict != MG_REJECT) {
                    refusal = smtp::Reply(421, "4.7.0", decision.reply.lines.front());
                }
                co_await closeWith(std::move(refusal));
                co_return false;
            }
        case MG_DISCARD:
            discard_all_ = true;
            break;
        case MG_QUARANTINE:
            quarantine_all_ = decision.plugin;
            break;
        default:
            break;
    }
    replyText(220, "", runtime_.config.server.hostname + " ESMTP mailgate");
    co_return co_await flush();
}

// A client that talks before the 220 is a spambot or broken (RFC 5321 4.3.1): wait
// greeting_delay for silence. With no delay, only bytes already waiting are noticed.
awaitable<bool> Session::checkEarlyTalker() {
    if (limits_.greeting_delay.count() <= 0) {
        co_return transport_.available() > 0;
    }
    deadline_.arm(limits_.greeting_delay);
    if (transport_.secure()) {
        // Implicit TLS: watch the socket itself, so no TLS read is ever cancelled midway.
        auto [wait_error] = co_await socket_.async_wait(tcp::socket::wait_read, use_nothrow);
        deadline_.disarm();
        if (!wait_error && transport_.available() == 0) {
            closed_ = true;  // readable with nothing to read: the client closed
        }
        if (wait_error && !deadline_.expired()) {
            closed_ = true;
        }
        co_return !wait_error && !closed_;
    }
    char byte;
    auto [ec, read] = co_await socket_.async_read_some(asio::buffer(&byte, 1), use_nothrow);
    deadline_.disarm();
    if (!ec && read > 0) {
        co_return true;
    }
    if (ec && !deadline_.expired()) {
        closed_ = true;  // the client went away, or we are shutting down
    }
    co_return false;
}

awaitable<Session::ReadStatus> Session::readCommandLine(std::string& line, bool& crlf) {
    bool discarding = false;  // inside an over-long line: drop bytes up to its LF
    // One deadline for the whole line, armed once: a client trickling a byte at a time cannot
    // stretch it.
    deadline_.arm(limits_.command_timeout);
    for (;;) {
        const std::string_view pending = pendingInput();
        const size_t length = smtp::findLineEnd(pending, crlf);
        if (length > 0) {
            const bool too_long = discarding || length > limits_.max_command_line;
            if (!too_long) {
                line.assign(pending.substr(0, length - (crlf ? 2 : 1)));
            }
            consumeInput(length);
            co_return too_long ? ReadStatus::LineTooLong : ReadStatus::Line;
        }
        if (pending.size() > limits_.max_command_line) {
            discarding = true;
            consumeInput(pending.size());
        }
        if (shutting_down_ && !transaction_.active()) {
            co_return ReadStatus::ShuttingDown;
        }
        // Usually the replies go out at once, without the frame of a flush() coroutine. (No
        // co_await inside &&: GCC 12 miscompiles conditional operands.)
        if (!sendRepliesNow()) {
            if (!co_await flush(false)) {
                co_return ReadStatus::Closed;
            }
        }
        waiting_for_command_ = true;
        bool got = false;
        if (!closed_) {
            const asio::mutable_buffer space = inputSpace(ReadFor::Command);
            auto [ec, read] = co_await transport_.readSome(space);
            got = takeInput(ec, space, read);
        }
        waiting_for_command_ = false;
        if (!got) {
            if (deadline_.expired()) {
                co_return ReadStatus::TimedOut;
            }
            co_return shutting_down_ && !closed_ ? ReadStatus::ShuttingDown : ReadStatus::Closed;
        }
    }
}

// A read straight into a buffer of the session's, not a readiness wait and then a read: Asio
// re-arms epoll (one epoll_ctl) for every wait, while a pending read costs nothing until epoll
// reports data. The callers await transport_.readSome themselves, between inputSpace() and
// takeInput(): a coroutine around the three would cost a frame per read.
asio::mutable_buffer Session::inputSpace(ReadFor purpose) {
    if (in_start_ > 0 && in_start_ == in_.size()) {
        in_.clear();
        in_start_ = 0;
    } else if (in_start_ > kBodyRead) {
        in_.erase(0, in_start_);
        in_start_ = 0;
    }
    const bool body = purpose == ReadFor::Body;
    std::unique_ptr<char[]>& buffer = body ? body_read_buffer_ : command_read_buffer_;
    const size_t size = body ? kBodyRead : kCommandRead;
    if (!buffer) {
        buffer.reset(new char[size]);
    }
    return asio::buffer(buffer.get(), size);
}

bool Session::takeInput(const error_code& ec, asio::mutable_buffer space, size_t read) {
    if (ec || read == 0) {
        return false;
    }
    in_.append(static_cast<const char*>(space.data()), read);
    ops::metrics::bytesReceived(read);
    return true;
}

std::string_view Session::pendingInput() const {
    return std::string_view(in_).substr(in_start_);
}

void Session::consumeInput(size_t count) {
    in_start_ += count;
}

void Session::reply(const smtp::Reply& reply) {
    reply.appendWire(out_);
}

void Session::replyText(int code, const char* enhanced, std::string_view text) {
    smtp::appendReplyLine(out_, code, enhanced, text);
}

bool Session::sendRepliesNow() {
    if (closed_) {
        return false;
    }
    asio::const_buffer pending = asio::buffer(out_);
    if (transport_.sendNow(pending)) {
        closed_ = true;
        return false;
    }
    out_.erase(0, out_.size() - pending.size());
    return out_.empty();
}

awaitable<bool> Session::flush(bool arm_deadline) {
    if (sendRepliesNow()) {
        co_return true;
    }
    if (closed_) {
        co_return false;
    }
    if (arm_deadline) {
        deadline_.arm(limits_.command_timeout);
    }
    const error_code ec = co_await transport_.write(asio::buffer(out_));
    out_.clear();
    if (ec) {
        closed_ = true;
        co_return false;
    }
    co_return true;
}

awaitable<void> Session::closeWith(smtp::Reply final_reply) {
    reply(final_reply);
    co_await flush();
    closed_ = true;
}

awaitable<void> Session::finish() {
    co_await flush();  // a last reply (421, 221) may still be queued
    if (transaction_.active()) {
        co_await abortTransaction("aborted");
    }
    co_await runtime_.chain.notify(filter::Stage::Close, chain_);
    plugin_state_.transaction_data.clear();
    plugin_state_.session_data.clear();
    if (forced_) {
        backend_->abort();
    } else {
        co_await backend_->quit();
        co_await closeTls();
    }
    deadline_.disarm();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    ops::logLine(ops::LogLevel::Debug, info_.id, "disconnect from " + info_.client_ip);
}

void Session::requestShutdown() {
    shutting_down_ = true;
    if (waiting_for_command_ && !transaction_.active()) {
        error_code ignored;
        socket_.cancel(ignored);
    }
}

void Session::forceClose() {
    shutting_down_ = true;
    forced_ = true;
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
    backend_->abort();
}

}  // namespace mailgate::net
