#include "core/relay/smtp_backend.hpp"

#include "core/ops/log.hpp"
#include "core/smtp/data_reader.hpp"

namespace mailgate::relay {
namespace {

constexpr size_t kMaxReplySize = 64 * 1024;
constexpr size_t kWriteChunk = 256 * 1024;

const smtp::Reply& unavailableReply() {
    static const smtp::Reply reply(451, "4.4.1", "Backend unavailable, try again later");
    return reply;
}

smtp::Reply lostReply(bool timed_out) {
    return timed_out ? smtp::Reply(451, "4.4.2", "Backend did not answer in time, try again later")
                     : smtp::Reply(451, "4.4.2", "Backend connection lost, try again later");
}

// Backends that do not speak ENHANCEDSTATUSCODES still get one in the reply we pass on, since
// we advertise the extension to our client.
smtp::Reply withEnhancedCode(smtp::Reply reply, const char* success_code) {
    if (reply.enhanced.empty()) {
        if (reply.positive()) {
            reply.enhanced = success_code;
        } else {
            reply.enhanced = reply.transient() ? "4.0.0" : "5.0.0";
        }
    }
    return reply;
}

smtp::Reply outOfStepReply() {
    return smtp::Reply(451, "4.3.0", "Unexpected reply from backend, try again later");
}

smtp::Reply utf8NotSupported() {
    return smtp::Reply(553, "5.6.7",
                       "Non-ASCII address, but the backend does not support SMTPUTF8");
}

bool hasParam(const filter::Transaction& transaction, std::string_view keyword,
              std::string_view value = {}) {
    for (const auto& param : transaction.mail_params) {
        if (param.keyword == keyword &&
            (value.empty() || (param.value && smtp::equalsIgnoreCase(*param.value, value)))) {
            return true;
        }
    }
    return false;
}

}  // namespace

SmtpBackend::SmtpBackend(const config::BackendConfig& config, std::string helo_name,
                         asio::any_io_executor executor, std::shared_ptr<const net::ClientTls> tls)
    : config_(config),
      helo_name_(std::move(helo_name)),
      executor_(executor),
      socket_(executor),
      transport_(socket_),
      tls_(std::move(tls)),
      deadline_(executor, [this] { socket_.cancel(); }) {}

SmtpBackend::~SmtpBackend() = default;

awaitable<smtp::Reply> SmtpBackend::mailFrom(const filter::Transaction& transaction) {
    // A kept connection may have been closed by the backend meanwhile: one fresh retry.
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = connected_;
        if (!connected_ && !co_await connect()) {
            co_return unavailableReply();
        }
        if (needs_reset_) {
            co_await reset();
            if (!connected_) {
                continue;
            }
        }
        // On a kept connection the backend may have spoken meanwhile (421 on its idle timeout,
        // a stray extra reply): such a connection is out of step, so start afresh.
        if (reused && (!in_.empty() || transport_.available() > 0)) {
            close();
            continue;
        }
        if (!capabilities_.smtputf8 && smtp::hasNonAscii(transaction.mail_from)) {
            co_return utf8NotSupported();
        }
        auto reply = co_await command(mailCommand(transaction), config_.command_timeout);
        // A kept connection the backend has meanwhile given up on (421 on idle timeout, or
        // silently closed): start afresh once.
        if (reused && (!reply || reply->code == 421)) {
            close();
            continue;
        }
        if (reply) {
            co_return finishCommand(std::move(*reply), "2.1.0");
        }
        break;
    }
    co_return lostReply(last_timed_out_);
}

awaitable<smtp::Reply> SmtpBackend::rcptTo(const filter::Transaction& transaction,
                                           const std::string& recipient) {
    (void)transaction;
    if (!connected_) {
        co_return lostReply(last_timed_out_);
    }
    if (!capabilities_.smtputf8 && smtp::hasNonAscii(recipient)) {
        co_return utf8NotSupported();
    }
    std::string line = "RCPT TO:<" + recipient + ">\r\n";
    auto reply = co_await command(line, config_.command_timeout);
    if (!reply) {
        co_return lostReply(last_timed_out_);
    }
    co_return finishCommand(std::move(*reply), "2.1.5");
}

awaitable<smtp::Reply> SmtpBackend::data(const filter::Transaction& transaction,
                                         const OutgoingMessage& message) {
    (void)transaction;
    if (!connected_) {
        co_return lostReply(last_timed_out_);
    }
    auto go_ahead = co_await command("DATA\r\n", config_.command_timeout);
    if (!go_ahead) {
        co_return lostReply(last_timed_out_);
    }
    if (go_ahead->code != 354) {
        if (go_ahead->positive()) {
            close();  // success without the message: the backend is out of step
            co_return outOfStepReply();
        }
        needs_reset_ = true;
        co_return finishCommand(std::move(*go_ahead), "2.0.0");
    }
    if (!co_await sendMessage(message)) {
        co_return message.content->error().empty()
            ? lostReply(last_timed_out_)
            : smtp::Reply(451, "4.3.0", "Local error reading the message, try again later");
    }
    auto reply = co_await readReply(config_.data_timeout);
    if (!reply) {
        co_return lostReply(last_timed_out_);
    }
    if (!in_.empty()) {
        close();  // more than one reply: answer this one, but do not reuse the connection
    }
    if (!reply->positive() && !reply->transient() && !reply->permanent()) {
        close();
        co_return outOfStepReply();
    }
    if (reply->code >= 300 && reply->code < 400) {
        close();  // nonsense after the final dot: this connection cannot be trusted
        co_return outOfStepReply();
    }
    if (reply->code == 421) {
        close();
        reply->code = 451;  // the client's session goes on: it must not read "closing"
    }
    co_return withEnhancedCode(std::move(*reply), "2.0.0");
}

// Writes the dot-stuffed message and the final dot in large writes, piece by piece, so a
// spilled message is never held in memory whole.
awaitable<bool> SmtpBackend::sendMessage(const OutgoingMessage& message) {
    deadline_.arm(config_.data_timeout);
    MessagePieces pieces(message, kWriteChunk);
    // Sized for this message (small ones stay below malloc's mmap threshold), at most one chunk.
    const uint64_t size = message.head.size() + message.content->size() - message.rest_offset;
    std::string wire;
    wire.reserve(static_cast<size_t>(
        std::min<uint64_t>(size + size / 32 + 8, kWriteChunk + kWriteChunk / 32)));
    bool ends_in_crlf = true;
    for (std::string_view piece = pieces.next(); !piece.empty(); piece = pieces.next()) {
        smtp::appendDotStuffedLines(piece, wire);
        ends_in_crlf = piece.ends_with("\r\n");
        if (wire.size() >= kWriteChunk && !co_await writeAll(wire)) {
            co_return false;
        }
    }
    if (pieces.failed()) {
        close();  // the backend must not take a truncated message: drop the connection
        co_return false;
    }
    if (!ends_in_crlf) {
        wire += "\r\n";
    }
    wire += ".\r\n";
    co_return co_await writeAll(wire);
}

awaitable<bool> SmtpBackend::writeAll(std::string& bytes) {
    const error_code error = co_await transport_.write(asio::buffer(bytes));
    bytes.clear();
    if (error) {
        last_timed_out_ = deadline_.expired();
        close();
        co_return false;
    }
    co_return true;
}

awaitable<void> SmtpBackend::reset() {
    needs_reset_ = false;
    if (!connected_) {
        co_return;
    }
    auto reply = co_await command("RSET\r\n", config_.command_timeout);
    if (!reply || !reply->positive()) {
        close();  // a backend that cannot RSET gets a fresh connection next time
    }
}

awaitable<void> SmtpBackend::quit() {
    if (connected_) {
        co_await command("QUIT\r\n", std::chrono::seconds(5));
    }
    if (connected_ && transport_.secure()) {
        deadline_.arm(std::chrono::seconds(2));
        co_await transport_.closeTls();
    }
    close();
}

void SmtpBackend::abort() {
    close();
}

smtp::Reply SmtpBackend::finishCommand(smtp::Reply reply, const char* success_code) {
    if (reply.code >= 300 && reply.code < 400) {
        needs_reset_ = true;
        return outOfStepReply();
    }
    if (reply.code == 421) {
        // The backend closes this connection; our client's session goes on, so it must not
        // read 421 (which would tell it that we close).
        close();
        reply.code = 451;
    }
    return withEnhancedCode(std::move(reply), success_code);
}

std::string SmtpBackend::mailCommand(const filter::Transaction& transaction) const {
    std::string line = "MAIL FROM:<" + transaction.mail_from + ">";
    if (capabilities_.size && transaction.declared_size > 0) {
        line += " SIZE=" + std::to_string(transaction.declared_size);
    }
    if (capabilities_.eight_bit_mime && hasParam(transaction, "BODY", "8BITMIME")) {
        line += " BODY=8BITMIME";
    }
    if (capabilities_.smtputf8 && transaction.smtputf8) {
        line += " SMTPUTF8";
    }
    line += "\r\n";
    return line;
}

awaitable<bool> SmtpBackend::connect() {
    const bool use_tls = tls_ != nullptr;
    for (const auto& server : config_.servers) {
        bool retry_plain = false;
        if (co_await connectTo(server, use_tls, retry_plain)) {
            co_return true;
        }
        if (retry_plain && co_await connectTo(server, false, retry_plain)) {
            co_return true;
        }
    }
    ops::logWarning("backend: no server of " + std::to_string(config_.servers.size()) +
                    " reachable");
    co_return false;
}

awaitable<bool> SmtpBackend::connectTo(const config::Endpoint& server, bool use_tls,
                                       bool& retry_plain) {
    close();
    // Not in close(): abort() closes while a TLS operation may still be pending on the stream.
    transport_.reset();
    error_code ec;
    tcp::resolver resolver(executor_);
    deadline_.arm(config_.connect_timeout);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(server.host, std::to_string(server.port), use_nothrow);
    if (resolve_error) {
        ops::logWarning("backend " + server.toString() + ": " + resolve_error.message());
        co_return false;
    }
    auto [connect_error, endpoint] = co_await asio::async_connect(socket_, endpoints, use_nothrow);
    deadline_.disarm();
    if (connect_error) {
        ops::logWarning("backend " + server.toString() + ": connect: " +
                        (deadline_.expired() ? std::string("timed out") : connect_error.message()));
        close();
        co_return false;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    connected_ = true;
    in_.clear();
    auto greeting = co_await readReply(config_.command_timeout);
    if (!greeting || greeting->code != 220) {
        ops::logWarning("backend " + server.toString() + ": bad greeting: " +
                        (greeting ? greeting->summary() : std::string("none")));
        close();
        co_return false;
    }
    if (!co_await greet()) {
        ops::logWarning("backend " + server.toString() + ": EHLO and HELO refused");
        close();
        co_return false;
    }
    if (use_tls && !co_await startTls(server, retry_plain)) {
        close();
        co_return false;
    }
    current_server_ = server.toString();
    co_return true;
}

awaitable<bool> SmtpBackend::startTls(const config::Endpoint& server, bool& retry_plain) {
    const bool required = config_.tls == config::BackendTls::Required;
    const std::string where = "backend " + server.toString() + ": ";
    if (!capabilities_.starttls) {
        if (required) {
            ops::logWarning(where + "does not offer STARTTLS, and backend.tls is required");
            co_return false;
        }
        ops::logLine(ops::LogLevel::Debug, {}, where + "does not offer STARTTLS: plaintext");
        co_return true;
    }
    auto ready = co_await command("STARTTLS\r\n", config_.command_timeout);
    if (!ready) {
        co_return false;  // the connection is gone; the next server is tried
    }
    if (ready->code != 220) {
        ops::logWarning(where + "STARTTLS refused: " + ready->summary() +
                        (required ? "" : "; going on without TLS"));
        co_return !required;
    }
    const std::string name = config_.expected_name.empty() ? server.host : config_.expected_name;
    deadline_.arm(config_.command_timeout);
    const error_code ec = co_await transport_.connectTls(tls_->context(), name, tls_->verify());
    deadline_.disarm();
    if (ec) {
        const std::string why = deadline_.expired() ? std::string("timed out") : ec.message();
        ops::logWarning(where + "TLS handshake failed" +
                        (required ? " (backend.tls is required, expected name " + name + ")"
                                  : ", retrying without TLS") +
                        ": " + why);
        retry_plain = !required;
        co_return false;
    }
    const std::string verified = transport_.verifyResult();
    ops::logLine(
        ops::LogLevel::Debug, {},
        where + "TLS " + net::tlsSummary(transport_.details()) + ", certificate: " + verified);
    // The capabilities may differ under TLS (RFC 3207 4.2): ask again.
    if (!co_await greet()) {
        ops::logWarning(where + "EHLO refused after STARTTLS");
        co_return false;
    }
    co_return true;
}

awaitable<bool> SmtpBackend::greet() {
    auto ehlo = co_await command("EHLO " + helo_name_ + "\r\n", config_.command_timeout);
    if (ehlo && ehlo->code == 250) {
        capabilities_ = parseCapabilities(*ehlo);
        co_return true;
    }
    if (!connected_) {
        co_return false;
    }
    auto helo = co_await command("HELO " + helo_name_ + "\r\n", config_.command_timeout);
    capabilities_ = {};
    co_return helo && helo->code == 250;
}

SmtpBackend::Capabilities SmtpBackend::parseCapabilities(const smtp::Reply& ehlo) {
    Capabilities capabilities;
    for (size_t i = 1; i < ehlo.lines.size(); ++i) {
        const std::string keyword = ehlo.lines[i].substr(0, ehlo.lines[i].find(' '));
        capabilities.pipelining |= smtp::equalsIgnoreCase(keyword, "PIPELINING");
        capabilities.size |= smtp::equalsIgnoreCase(keyword, "SIZE");
        capabilities.eight_bit_mime |= smtp::equalsIgnoreCase(keyword, "8BITMIME");
        capabilities.smtputf8 |= smtp::equalsIgnoreCase(keyword, "SMTPUTF8");
        capabilities.starttls |= smtp::equalsIgnoreCase(keyword, "STARTTLS");
    }
    return capabilities;
}

awaitable<std::optional<smtp::Reply>> SmtpBackend::command(std::string_view text,
                                                           std::chrono::milliseconds timeout) {
    if (!in_.empty()) {
        // The backend said something we did not ask for: its answers would be off by one.
        ops::logWarning("backend " + current_server_ + ": unexpected data, closing the connection");
        last_timed_out_ = false;
        close();
        co_return std::nullopt;
    }
    deadline_.arm(timeout);
    const error_code write_error =
        co_await transport_.write(asio::buffer(text.data(), text.size()));
    if (write_error) {
        last_timed_out_ = deadline_.expired();
        close();
        co_return std::nullopt;
    }
    auto reply = co_await readReply(timeout);
    if (reply && !in_.empty()) {
        // More than one reply to one command: the connection is out of step.
        ops::logWarning("backend " + current_server_ +
                        ": extra reply lines, closing the connection");
        close();
        co_return std::nullopt;
    }
    co_return reply;
}

awaitable<std::optional<smtp::Reply>> SmtpBackend::readReply(std::chrono::milliseconds timeout) {
    deadline_.arm(timeout);
    for (;;) {
        const size_t length = smtp::completeReplyLength(in_);
        if (length == std::string_view::npos || in_.size() > kMaxReplySize) {
            ops::logWarning("backend " + current_server_ + ": malformed reply");
            break;
        }
        if (length > 0) {
            smtp::Reply reply;
            const bool parsed = smtp::parseReply(std::string_view(in_).substr(0, length), reply);
            in_.erase(0, length);
            if (!parsed) {
                break;
            }
            deadline_.disarm();
            co_return reply;
        }
        char chunk[4096];
        auto [read_error, read] = co_await transport_.readSome(asio::buffer(chunk, sizeof chunk));
        if (read_error) {
            last_timed_out_ = deadline_.expired();
            break;
        }
        in_.append(chunk, read);
    }
    close();
    co_return std::nullopt;
}

void SmtpBackend::close() {
    deadline_.disarm();
    if (socket_.is_open()) {
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }
    connected_ = false;
    needs_reset_ = false;
    in_.clear();
}

}  // namespace mailgate::relay
