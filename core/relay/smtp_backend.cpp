#include "core/relay/smtp_backend.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"
#include "core/smtp/data_reader.hpp"

namespace mailgate::relay {
namespace {

constexpr size_t kMaxReplySize = 64 * 1024;
constexpr size_t kReadChunk = 4096;
constexpr size_t kWriteChunk = 256 * 1024;
constexpr size_t kChunkCommandRoom = 32;  // "BDAT 18446744073709551615 LAST\r\n" fits
constexpr size_t kMaxCommandLine = 512;   // octets with CRLF (RFC 5321, XCLIENT_README)
constexpr size_t kMaxAttributeValue = 255;
const char* const kUnavailable = "[UNAVAILABLE]";

// The replies made for a backend failure; each is built once per failure answered to the client,
// so each counts one in mailgate_backend_errors_total.
const smtp::Reply& unavailableReply() {
    ops::metrics::backendError(ops::metrics::BackendError::Unavailable);
    static const smtp::Reply reply(451, "4.4.1", "Backend unavailable, try again later");
    return reply;
}

void countLost(bool timed_out) {
    ops::metrics::backendError(timed_out ? ops::metrics::BackendError::Timeout
                                         : ops::metrics::BackendError::Lost);
}

// The reply without counting it, for a reply that may not be given (LMTP's missing replies).
smtp::Reply uncountedLostReply(bool timed_out) {
    return timed_out ? smtp::Reply(451, "4.4.2", "Backend did not answer in time, try again later")
                     : smtp::Reply(451, "4.4.2", "Backend connection lost, try again later");
}

smtp::Reply lostReply(bool timed_out) {
    countLost(timed_out);
    return uncountedLostReply(timed_out);
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
    ops::metrics::backendError(ops::metrics::BackendError::Protocol);
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

std::string upper(std::string_view text) {
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return result;
}

// An address as XCLIENT and XFORWARD want it: IPv4 as is, IPv6 with "IPV6:" in front.
std::string forwardedAddress(const std::string& ip) {
    if (ip.empty()) {
        return kUnavailable;
    }
    return ip.find(':') == std::string::npos ? ip : "IPV6:" + ip;
}

std::string forwardedPort(uint16_t port) {
    return port == 0 ? std::string(kUnavailable) : std::to_string(port);
}

// A HELO name fit to forward: printable ASCII without spaces, at most 255 octets.
std::string forwardedHelo(const std::string& helo) {
    const bool fits =
        !helo.empty() && helo.size() <= kMaxAttributeValue &&
        std::all_of(helo.begin(), helo.end(), [](char c) { return c > ' ' && c < 127; });
    return fits ? helo : std::string(kUnavailable);
}

}  // namespace

std::string xtext(std::string_view text) {
    static const char* const kHex = "0123456789ABCDEF";
    std::string encoded;
    encoded.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < '!' || byte > '~' || c == '+' || c == '=') {
            encoded += '+';
            encoded += kHex[byte >> 4];
            encoded += kHex[byte & 0xF];
        } else {
            encoded += c;
        }
    }
    return encoded;
}

std::vector<std::string> attributeCommands(
    std::string_view verb, const std::vector<std::pair<std::string, std::string>>& attributes,
    const std::vector<std::string>& advertised) {
    std::vector<std::string> lines;
    std::string line(verb);
    bool has_attribute = false;
    for (const auto& [name, value] : attributes) {
        if (std::find(advertised.begin(), advertised.end(), name) == advertised.end()) {
            continue;
        }
        const std::string item = " " + name + "=" + xtext(value);
        if (has_attribute && line.size() + item.size() + 2 > kMaxCommandLine) {
            lines.push_back(line + "\r\n");
            line = std::string(verb);
            has_attribute = false;
        }
        line += item;
        has_attribute = true;
    }
    if (has_attribute) {
        lines.push_back(line + "\r\n");
    }
    return lines;
}

SmtpBackend::SmtpBackend(const Router& router, size_t route, const filter::SessionInfo& session,
                         asio::any_io_executor executor, std::shared_ptr<const net::ClientTls> tls)
    : router_(router),
      route_(route),
      config_(router.backend(route)),
      session_(session),
      lmtp_(config_.type == config::BackendType::Lmtp),
      executor_(executor),
      socket_(executor),
      transport_(socket_),
      tls_(std::move(tls)),
      deadline_(executor, [this] {
          error_code ignored;
          socket_.cancel(ignored);
      }) {}

SmtpBackend::~SmtpBackend() = default;

awaitable<smtp::Reply> SmtpBackend::mailFrom(const filter::Transaction& transaction) {
    const ops::metrics::BackendTimer timer(ops::metrics::BackendStep::MailFrom);
    accepted_rcpts_.clear();
    pending_mail_.clear();
    co_return co_await openTransaction(transaction, true);
}

awaitable<smtp::Reply> SmtpBackend::openTransaction(const filter::Transaction& transaction,
                                                    bool may_defer) {
    // A kept connection may have been closed by the backend meanwhile: one fresh retry.
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (connected_ && !reusable()) {
            // Past its message count or age, or bound by XCLIENT to another client identity.
            co_await command("QUIT\r\n", std::chrono::seconds(5));
            close();
        }
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
        std::optional<smtp::Reply> refused = co_await forwardClientForTransaction(transaction);
        if (!connected_ && reused) {
            continue;
        }
        if (refused) {
            co_return *refused;
        }
        if (may_defer && capabilities_.pipelining) {
            // MAIL goes out with the first RCPT, in one write (RFC 2920): a round trip less.
            pending_mail_ = mailCommand(transaction);
            pending_on_kept_ = reused;
            co_return smtp::Reply(250, "2.1.0", "Ok");
        }
        auto reply = co_await command(mailCommand(transaction), config_.command_timeout);
        // A kept connection the backend has meanwhile given up on (421 on idle timeout, or
        // silently closed): start afresh once.
        if (reused && (!reply || reply->code == 421)) {
            close();
            continue;
        }
        if (reply) {
            if (reply->positive()) {
                ++transactions_on_connection_;
            }
            co_return finishCommand(std::move(*reply), "2.1.0");
        }
        break;
    }
    co_return lostReply(last_timed_out_);
}

awaitable<smtp::Reply> SmtpBackend::rcptTo(const filter::Transaction& transaction,
                                           const std::string& recipient) {
    const ops::metrics::BackendTimer timer(ops::metrics::BackendStep::RcptTo);
    (void)transaction;
    if (!connected_) {
        co_return lostReply(last_timed_out_);
    }
    if (lmtp_ && config_.lmtp_multi_recipient == config::LmtpMultiRecipient::Split &&
        !accepted_rcpts_.empty()) {
        // LMTP answers the final dot once per recipient, the client hears one answer: with one
        // recipient per transaction that answer is exact (RFC 5321 4.5.3.1.10: retry later).
        co_return smtp::Reply(
            452, "4.5.3",
            "Too many recipients: send <" + recipient + "> in a separate transaction");
    }
    if (!capabilities_.smtputf8 && smtp::hasNonAscii(recipient)) {
        co_return utf8NotSupported();
    }
    const std::string line = "RCPT TO:<" + recipient + ">\r\n";
    if (!pending_mail_.empty()) {
        co_return co_await mailThenRcpt(transaction, recipient, line);
    }
    std::optional<smtp::Reply> reply = co_await command(line, config_.command_timeout);
    co_return rcptResult(std::move(reply), recipient);
}

smtp::Reply SmtpBackend::rcptResult(std::optional<smtp::Reply> reply,
                                    const std::string& recipient) {
    if (!reply) {
        return lostReply(last_timed_out_);
    }
    if (reply->positive() && (reply->code < 300)) {
        accepted_rcpts_.push_back(recipient);
    }
    return finishCommand(std::move(*reply), "2.1.5");
}

// The deferred MAIL and the first RCPT in one write; the client hears a refused sender at this
// RCPT (and at each later one: MAIL is tried again with it), as with routes.
awaitable<smtp::Reply> SmtpBackend::mailThenRcpt(const filter::Transaction& transaction,
                                                 const std::string& recipient,
                                                 const std::string& rcpt_line) {
    const std::string mail_line = std::exchange(pending_mail_, std::string());
    const bool kept = pending_on_kept_;
    std::optional<smtp::Reply> mail_reply;
    std::optional<smtp::Reply> rcpt_reply;
    const std::string both = mail_line + rcpt_line;
    if (co_await writeCommand(both, config_.command_timeout)) {
        mail_reply = co_await readReply(config_.command_timeout);
        if (mail_reply) {
            rcpt_reply = co_await readReply(config_.command_timeout);
        }
    }
    if (kept && (!mail_reply || mail_reply->code == 421)) {
        // A kept connection the backend has meanwhile given up on: start afresh once, in
        // lockstep this time.
        close();
        smtp::Reply opened = co_await openTransaction(transaction, false);
        if (!opened.positive()) {
            co_return opened;
        }
        std::optional<smtp::Reply> reply = co_await command(rcpt_line, config_.command_timeout);
        co_return rcptResult(std::move(reply), recipient);
    }
    if (!mail_reply) {
        co_return lostReply(last_timed_out_);
    }
    const bool mail_taken = mail_reply->code / 100 == 2;
    if (!rcpt_reply || !in_.empty() || (!mail_taken && rcpt_reply->positive())) {
        // A reply missing, one too many, or a recipient taken without a sender: out of step.
        close();
        rcpt_reply.reset();
    }
    if (!mail_taken) {
        smtp::Reply answer = finishCommand(std::move(*mail_reply), "2.1.0");
        if (needs_reset_) {
            close();  // a 3xx to MAIL: out of step
        }
        if (connected_) {
            pending_mail_ = mail_line;
            pending_on_kept_ = false;
        }
        co_return answer;
    }
    ++transactions_on_connection_;
    co_return rcptResult(std::move(rcpt_reply), recipient);
}

awaitable<smtp::Reply> SmtpBackend::data(const filter::Transaction& transaction,
                                         const OutgoingMessage& message) {
    const ops::metrics::BackendTimer timer(ops::metrics::BackendStep::Data);
    if (!connected_ || !pending_mail_.empty()) {
        co_return lostReply(last_timed_out_);
    }
    if (capabilities_.chunking && capabilities_.pipelining && !lmtp_) {
        co_return co_await dataInChunks(message);
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
    size_t chunks = 0;
    if (!co_await sendMessage(message, false, chunks)) {
        co_return message.content->error().empty()
            ? lostReply(last_timed_out_)
            : smtp::Reply(451, "4.3.0", "Local error reading the message, try again later");
    }
    if (lmtp_) {
        co_return co_await lmtpReplies(transaction);
    }
    std::optional<smtp::Reply> reply = co_await readReply(config_.data_timeout);
    co_return finalResult(std::move(reply));
}

// The backend's answer to the whole message, checked: anything but a plain 2xx, 4xx or 5xx
// leaves the connection untrusted.
smtp::Reply SmtpBackend::finalResult(std::optional<smtp::Reply> reply) {
    if (!reply) {
        return lostReply(last_timed_out_);
    }
    if (!in_.empty()) {
        close();  // more than one reply: answer this one, but do not reuse the connection
    }
    if (!reply->positive() && !reply->transient() && !reply->permanent()) {
        close();
        return outOfStepReply();
    }
    if (reply->code >= 300 && reply->code < 400) {
        close();  // nonsense after the final dot: this connection cannot be trusted
        return outOfStepReply();
    }
    if (reply->code == 421) {
        close();
        reply->code = 451;  // the client's session goes on: it must not read "closing"
    }
    return withEnhancedCode(std::move(*reply), "2.0.0");
}

// RFC 3030 CHUNKING: the message in BDAT chunks, pipelined, exactly as it is: no dot-stuffing,
// so there is no end-of-data sequence a backend could find early, and no DATA round trip.
// Each BDAT gets a reply; the first refusal is the answer (the backend then takes nothing).
awaitable<smtp::Reply> SmtpBackend::dataInChunks(const OutgoingMessage& message) {
    size_t chunks = 0;
    if (!co_await sendMessage(message, true, chunks)) {
        co_return message.content->error().empty()
            ? lostReply(last_timed_out_)
            : smtp::Reply(451, "4.3.0", "Local error reading the message, try again later");
    }
    std::optional<smtp::Reply> refused;
    for (size_t chunk = 1; chunk < chunks; ++chunk) {
        std::optional<smtp::Reply> reply = co_await readReply(config_.data_timeout);
        if (!reply) {
            co_return lostReply(last_timed_out_);
        }
        if (reply->code / 100 != 2 && !refused) {
            refused = std::move(reply);
        }
    }
    std::optional<smtp::Reply> last = co_await readReply(config_.data_timeout);
    if (!refused) {
        co_return finalResult(std::move(last));
    }
    if (last && last->code / 100 == 2) {
        close();  // a chunk refused, yet the message taken: out of step
        co_return outOfStepReply();
    }
    needs_reset_ = true;
    co_return finalResult(std::move(refused));
}

// LMTP (RFC 2033): one reply per accepted recipient after the final dot, in RCPT order. The
// client gets one: all delivered -> the first 250; none delivered -> the first 4xx (so the
// client retries), else the first 5xx; some delivered (only with lmtp_multi_recipient: merge)
// -> 250, and each recipient that did not get the message is logged as a warning.
awaitable<smtp::Reply> SmtpBackend::lmtpReplies(const filter::Transaction& transaction) {
    std::vector<std::optional<smtp::Reply>> replies;
    bool lost = false;
    for (size_t i = 0; i < accepted_rcpts_.size() && !lost; ++i) {
        auto reply = co_await readReply(config_.data_timeout);
        if (!reply || reply->code < 200 || (reply->code >= 300 && reply->code < 400) ||
            reply->code >= 600) {
            lost = true;
            if (reply) {
                ops::logLine(ops::LogLevel::Warning, session_.id,
                             "backend " + current_server_ + ": unexpected LMTP reply " +
                                 reply->summary() + ", closing the connection");
            }
            close();
            break;
        }
        if (reply->code == 421) {
            reply->code = 451;  // the client's session goes on
            lost = true;        // the rest of the replies will not come
            close();
        }
        replies.push_back(withEnhancedCode(std::move(*reply), "2.0.0"));
    }
    if (!in_.empty()) {
        close();  // more replies than recipients: do not reuse the connection
    }
    replies.resize(accepted_rcpts_.size());  // missing replies stay empty
    const smtp::Reply missing = uncountedLostReply(last_timed_out_);
    if (std::any_of(replies.begin(), replies.end(), [](const auto& r) { return !r; })) {
        countLost(last_timed_out_);
    }
    const smtp::Reply* first_positive = nullptr;
    const smtp::Reply* first_transient = nullptr;
    const smtp::Reply* first_permanent = nullptr;
    size_t delivered = 0;
    for (const auto& reply : replies) {
        const smtp::Reply& r = reply ? *reply : missing;
        if (r.positive()) {
            ++delivered;
            first_positive = first_positive ? first_positive : &r;
        } else if (r.transient()) {
            first_transient = first_transient ? first_transient : &r;
        } else {
            first_permanent = first_permanent ? first_permanent : &r;
        }
    }
    if (delivered == replies.size() && first_positive) {
        co_return *first_positive;
    }
    if (delivered == 0) {
        co_return first_transient ? *first_transient : first_permanent ? *first_permanent : missing;
    }
    for (size_t i = 0; i < replies.size(); ++i) {
        const smtp::Reply& r = replies[i] ? *replies[i] : missing;
        if (!r.positive()) {
            ops::logLine(ops::LogLevel::Warning, session_.id,
                         "lmtp id=" + transaction.id + " rcpt=<" + accepted_rcpts_[i] +
                             "> not delivered: \"" + r.summary() +
                             "\" (merged into 250 for the client, which will not retry it)");
        }
    }
    co_return smtp::Reply(250, "2.0.0",
                          "Ok: delivered to " + std::to_string(delivered) + " of " +
                              std::to_string(replies.size()) + " recipients");
}

// Writes the dot-stuffed message and the final dot in large writes, piece by piece, so a
// spilled message is never held in memory whole.
// After DATA the message goes dot-stuffed and ends with ".\r\n"; as BDAT chunks it goes as it
// is, each chunk behind its BDAT command (the last one LAST), which is written into room kept
// at the front of the buffer so the chunk is not copied again.
awaitable<bool> SmtpBackend::sendMessage(const OutgoingMessage& message, bool as_chunks,
                                         size_t& chunks) {
    deadline_.arm(config_.data_timeout);
    MessagePieces pieces(message, kWriteChunk);
    // Sized for this message (small ones stay below malloc's mmap threshold), at most one chunk.
    const uint64_t size = message.head.size() + message.content->size() - message.rest_offset;
    const size_t room = as_chunks ? kChunkCommandRoom : 0;
    std::string wire;
    wire.reserve(static_cast<size_t>(
        std::min<uint64_t>(size + size / 32 + 8, kWriteChunk + kWriteChunk / 32) + room));
    wire.assign(room, ' ');
    bool ends_in_crlf = true;
    for (std::string_view piece = pieces.next(); !piece.empty(); piece = pieces.next()) {
        if (as_chunks) {
            wire += piece;
        } else {
            smtp::appendDotStuffedLines(piece, wire);
        }
        ends_in_crlf = piece.ends_with("\r\n");
        if (wire.size() >= kWriteChunk && !co_await writeWire(wire, room, false, chunks)) {
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
    if (!as_chunks) {
        wire += ".\r\n";
    }
    co_return co_await writeWire(wire, room, true, chunks);
}

// Writes `wire` from its `room` on; with room, a BDAT command in front of it. Keeps the room.
awaitable<bool> SmtpBackend::writeWire(std::string& wire, size_t room, bool last, size_t& chunks) {
    size_t start = 0;
    if (room > 0) {
        const std::string command =
            "BDAT " + std::to_string(wire.size() - room) + (last ? " LAST\r\n" : "\r\n");
        start = room - command.size();
        wire.replace(start, command.size(), command);
        ++chunks;
    }
    asio::const_buffer pending = asio::buffer(wire.data() + start, wire.size() - start);
    error_code error = transport_.sendNow(pending);
    if (!error && pending.size() > 0) {
        error = co_await transport_.write(pending);
    }
    wire.resize(room);
    if (error) {
        last_timed_out_ = deadline_.expired();
        close();
        co_return false;
    }
    co_return true;
}

awaitable<void> SmtpBackend::reset() {
    needs_reset_ = false;
    accepted_rcpts_.clear();
    if (!pending_mail_.empty()) {
        pending_mail_.clear();  // MAIL never went out (or was refused): nothing to reset
        co_return;
    }
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

bool SmtpBackend::boundToThisClient() const {
    const ClientIdentity& bound = *bound_identity_;
    return bound.ip == session_.client_ip && bound.port == session_.client_port &&
           bound.helo == session_.helo && bound.esmtp == session_.esmtp &&
           bound.auth == session_.auth_identity;
}

bool SmtpBackend::reusable() {
    if (!connected_) {
        return false;
    }
    const char* why = nullptr;
    if (config_.max_messages_per_connection > 0 &&
        transactions_on_connection_ >= config_.max_messages_per_connection) {
        why = "max_messages_per_connection reached";
    } else if (config_.max_connection_age.count() > 0 &&
               std::chrono::steady_clock::now() - connected_at_ >= config_.max_connection_age) {
        why = "max_connection_age reached";
    } else if (bound_identity_ && !boundToThisClient()) {
        why = "XCLIENT named another client identity";
    }
    if (why) {
        ops::logLine(ops::LogLevel::Debug, session_.id,
                     "backend " + current_server_ + ": new connection (" + why + ")");
    }
    return why == nullptr;
}

awaitable<bool> SmtpBackend::connect() {
    const std::vector<const config::Endpoint*> order = router_.serverOrder(route_);
    for (const config::Endpoint* server : order) {
        const std::string name = server->toString();
        // TLS is only for TCP servers (the config refuses tls with a unix socket).
        const bool use_tls = tls_ != nullptr && !server->isUnix();
        bool retry_plain = false;
        // No co_await inside || (GCC 12 coroutine bugs with conditional operands).
        bool connected = co_await connectTo(*server, use_tls, retry_plain);
        if (!connected && retry_plain) {
            connected = co_await connectTo(*server, false, retry_plain);
        }
        if (connected) {
            router_.health().markUp(name);
            co_return true;
        }
        router_.health().markFailed(name, config_.retry_delay);
    }
    ops::logLine(ops::LogLevel::Warning, session_.id,
                 "backend " + router_.name(route_) + ": no server of " +
                     std::to_string(order.size()) + " reachable");
    co_return false;
}

awaitable<bool> SmtpBackend::openSocket(const config::Endpoint& server) {
    deadline_.arm(config_.connect_timeout);
    error_code failure;
    bool opened = false;
    if (server.isUnix()) {
        const asio::local::stream_protocol::endpoint endpoint(server.path);
        auto [connect_error] =
            co_await socket_.async_connect(Socket::endpoint_type(endpoint), use_nothrow);
        failure = connect_error;
        opened = !connect_error;
    } else {
        tcp::resolver resolver(executor_);
        auto [resolve_error, endpoints] =
            co_await resolver.async_resolve(server.host, std::to_string(server.port), use_nothrow);
        failure = resolve_error;
        if (!resolve_error) {
            for (const auto& entry : endpoints) {
                error_code ignored;
                socket_.close(ignored);
                auto [connect_error] = co_await socket_.async_connect(
                    Socket::endpoint_type(entry.endpoint()), use_nothrow);
                failure = connect_error;
                if (!connect_error) {
                    opened = true;
                    socket_.set_option(tcp::no_delay(true), ignored);
                    break;
                }
                if (deadline_.expired()) {
                    break;
                }
            }
        }
    }
    deadline_.disarm();
    if (!opened) {
        ops::logLine(ops::LogLevel::Warning, session_.id,
                     "backend " + server.toString() + ": connect: " +
                         (deadline_.expired() ? std::string("timed out") : failure.message()));
        close();
    }
    co_return opened;
}

awaitable<bool> SmtpBackend::connectTo(const config::Endpoint& server, bool use_tls,
                                       bool& retry_plain) {
    close();
    // Not in close(): abort() closes while a TLS operation may still be pending on the stream.
    transport_.reset();
    current_server_ = server.toString();
    if (!co_await openSocket(server)) {
        co_return false;
    }
    connected_ = true;
    in_.clear();
    auto greeting = co_await readReply(config_.command_timeout);
    if (!greeting || greeting->code != 220) {
        ops::logLine(ops::LogLevel::Warning, session_.id,
                     "backend " + current_server_ + ": bad greeting: " +
                         (greeting ? greeting->summary() : std::string("none")));
        close();
        co_return false;
    }
    if (!co_await greet(config_.helo_name)) {
        ops::logLine(
            ops::LogLevel::Warning, session_.id,
            "backend " + current_server_ + (lmtp_ ? ": LHLO refused" : ": EHLO and HELO refused"));
        close();
        co_return false;
    }
    if (use_tls && !co_await startTls(server, retry_plain)) {
        close();
        co_return false;
    }
    if (!co_await forwardClientOnConnect(server)) {
        close();
        co_return false;
    }
    connected_at_ = std::chrono::steady_clock::now();
    transactions_on_connection_ = 0;
    co_return true;
}

awaitable<bool> SmtpBackend::startTls(const config::Endpoint& server, bool& retry_plain) {
    const bool required = config_.tls == config::BackendTls::Required;
    const std::string where = "backend " + server.toString() + ": ";
    const std::string& route = router_.name(route_);
    const std::string key = (route == "backend" ? route : route + ".backend") + ".tls";
    if (!capabilities_.starttls) {
        if (required) {
            ops::logWarning(where + "does not offer STARTTLS, and " + key + " is required");
            co_return false;
        }
        ops::logLine(ops::LogLevel::Debug, session_.id,
                     where + "does not offer STARTTLS: plaintext");
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
                        (required ? " (" + key + " is required, expected name " + name + ")"
                                  : ", retrying without TLS") +
                        ": " + why);
        retry_plain = !required;
        co_return false;
    }
    const std::string verified = transport_.verifyResult();
    ops::logLine(
        ops::LogLevel::Debug, session_.id,
        where + "TLS " + net::tlsSummary(transport_.details()) + ", certificate: " + verified);
    // The capabilities may differ under TLS (RFC 3207 4.2): ask again.
    if (!co_await greet(config_.helo_name)) {
        ops::logWarning(where + (lmtp_ ? "LHLO" : "EHLO") + " refused after STARTTLS");
        co_return false;
    }
    co_return true;
}

awaitable<bool> SmtpBackend::greet(const std::string& name) {
    auto ehlo =
        co_await command((lmtp_ ? "LHLO " : "EHLO ") + name + "\r\n", config_.command_timeout);
    if (ehlo && ehlo->code == 250) {
        capabilities_ = parseCapabilities(*ehlo);
        co_return true;
    }
    if (!connected_ || lmtp_) {
        co_return false;  // LMTP has no HELO (RFC 2033)
    }
    auto helo = co_await command("HELO " + name + "\r\n", config_.command_timeout);
    capabilities_ = {};
    co_return helo && helo->code == 250;
}

awaitable<bool> SmtpBackend::forwardClientOnConnect(const config::Endpoint& server) {
    using config::ForwardClient;
    const ForwardClient mode = config_.forward_client;
    const std::string name = server.toString();
    if (mode == ForwardClient::Xclient && !capabilities_.has_xclient) {
        ops::logLine(ops::LogLevel::Warning, session_.id,
                     "backend " + name +
                         ": forward_client is xclient, but the server does not offer XCLIENT to "
                         "us (Postfix: smtpd_authorized_xclient_hosts); not using this server");
        co_return false;
    }
    if (mode == ForwardClient::Xforward && !capabilities_.has_xforward) {
        ops::logLine(ops::LogLevel::Warning, session_.id,
                     "backend " + name +
                         ": forward_client is xforward, but the server does not offer XFORWARD "
                         "to us (Postfix: smtpd_authorized_xforward_hosts); not using this server");
        co_return false;
    }
    if (!capabilities_.has_xclient ||
        (mode != ForwardClient::Auto && mode != ForwardClient::Xclient)) {
        co_return true;
    }
    // HELO and PROTO first, NAME and ADDR last: once ADDR is sent the server usually stops
    // taking XCLIENT from us (XCLIENT_README). LOGIN is the client's AUTH identity.
    const std::vector<std::pair<std::string, std::string>> attributes{
        {"HELO", forwardedHelo(session_.helo)},
        {"PROTO", session_.esmtp ? "ESMTP" : "SMTP"},
        {"DESTADDR", forwardedAddress(session_.local_ip)},
        {"DESTPORT", forwardedPort(session_.local_port)},
        {"PORT", forwardedPort(session_.client_port)},
        {"LOGIN",
         session_.auth_identity.empty() ? std::string(kUnavailable) : session_.auth_identity},
        {"NAME", kUnavailable},  // mailgate does no reverse DNS lookup
        {"ADDR", forwardedAddress(session_.client_ip)},
    };
    const std::vector<std::string> lines =
        attributeCommands("XCLIENT", attributes, capabilities_.xclient);
    bool server_reset = false;
    for (const std::string& line : lines) {
        auto reply = co_await command(line, config_.command_timeout);
        if (!reply) {
            co_return false;
        }
        // Postfix answers 220 (back at the greeting); smtp-sink and others 250.
        if (reply->code / 100 != 2) {
            ops::logLine(ops::LogLevel::Warning, session_.id,
                         "backend " + name + ": XCLIENT refused: " + reply->summary());
            // After part of the attributes went through, the server's idea of the client is
            // half changed: do not use this connection.
            co_return mode == ForwardClient::Auto && !server_reset;
        }
        server_reset = true;
    }
    if (!server_reset) {
        co_return true;
    }
    // The server is back at its greeting: say EHLO again, as the client did.
    const std::string helo = forwardedHelo(session_.helo);
    if (!co_await greet(helo == kUnavailable ? config_.helo_name : helo)) {
        if (!connected_ || helo == kUnavailable || !co_await greet(config_.helo_name)) {
            ops::logLine(ops::LogLevel::Warning, session_.id,
                         "backend " + name + ": EHLO after XCLIENT refused");
            co_return false;
        }
    }
    bound_identity_ = ClientIdentity{session_.client_ip, session_.client_port, session_.helo,
                                     session_.esmtp, session_.auth_identity};
    co_return true;
}

awaitable<std::optional<smtp::Reply>> SmtpBackend::forwardClientForTransaction(
    const filter::Transaction& transaction) {
    using config::ForwardClient;
    const ForwardClient mode = config_.forward_client;
    if (!capabilities_.has_xforward || bound_identity_ ||
        (mode != ForwardClient::Auto && mode != ForwardClient::Xforward)) {
        co_return std::nullopt;
    }
    const std::vector<std::pair<std::string, std::string>> attributes{
        {"PROTO", session_.esmtp ? "ESMTP" : "SMTP"},
        {"HELO", forwardedHelo(session_.helo)},
        {"IDENT", transaction.id.empty() ? kUnavailable : transaction.id},
        {"SOURCE", "REMOTE"},
        {"PORT", forwardedPort(session_.client_port)},
        {"NAME", kUnavailable},  // mailgate does no reverse DNS lookup
        {"ADDR", forwardedAddress(session_.client_ip)},
    };
    for (const std::string& line :
         attributeCommands("XFORWARD", attributes, capabilities_.xforward)) {
        auto reply = co_await command(line, config_.command_timeout);
        if (!reply) {
            co_return lostReply(last_timed_out_);
        }
        if (reply->code == 421) {
            close();
            co_return smtp::Reply(451, reply->enhanced.empty() ? "4.0.0" : reply->enhanced,
                                  reply->lines.front());
        }
        if (reply->code != 250) {
            ops::logLine(ops::LogLevel::Warning, session_.id,
                         "backend " + current_server_ + ": XFORWARD refused: " + reply->summary());
            if (mode == ForwardClient::Xforward) {
                co_return smtp::Reply(451, "4.3.0", "Backend refused XFORWARD, try again later");
            }
            co_return std::nullopt;
        }
    }
    co_return std::nullopt;
}

SmtpBackend::Capabilities SmtpBackend::parseCapabilities(const smtp::Reply& ehlo) {
    Capabilities capabilities;
    for (size_t i = 1; i < ehlo.lines.size(); ++i) {
        std::vector<std::string> words;
        std::string_view rest = ehlo.lines[i];
        while (!rest.empty()) {
            const size_t space = rest.find(' ');
            if (space != 0) {
                words.push_back(upper(rest.substr(0, space)));
            }
            rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
        }
        if (words.empty()) {
            continue;
        }
        const std::string& keyword = words.front();
        capabilities.pipelining |= keyword == "PIPELINING";
        capabilities.size |= keyword == "SIZE";
        capabilities.eight_bit_mime |= keyword == "8BITMIME";
        capabilities.smtputf8 |= keyword == "SMTPUTF8";
        capabilities.starttls |= keyword == "STARTTLS";
        capabilities.chunking |= keyword == "CHUNKING";
        if (keyword == "XCLIENT") {
            capabilities.has_xclient = true;
            capabilities.xclient.assign(words.begin() + 1, words.end());
        } else if (keyword == "XFORWARD") {
            capabilities.has_xforward = true;
            capabilities.xforward.assign(words.begin() + 1, words.end());
        }
    }
    return capabilities;
}

awaitable<bool> SmtpBackend::writeCommand(std::string_view text,
                                          std::chrono::milliseconds timeout) {
    if (!in_.empty()) {
        // The backend said something we did not ask for: its answers would be off by one.
        ops::logLine(ops::LogLevel::Warning, session_.id,
                     "backend " + current_server_ + ": unexpected data, closing the connection");
        last_timed_out_ = false;
        close();
        co_return false;
    }
    deadline_.arm(timeout);
    asio::const_buffer pending = asio::buffer(text.data(), text.size());
    error_code write_error = transport_.sendNow(pending);
    if (!write_error && pending.size() > 0) {
        write_error = co_await transport_.write(pending);
    }
    if (write_error) {
        last_timed_out_ = deadline_.expired();
        close();
        co_return false;
    }
    co_return true;
}

awaitable<std::optional<smtp::Reply>> SmtpBackend::command(std::string_view text,
                                                           std::chrono::milliseconds timeout) {
    if (!co_await writeCommand(text, timeout)) {
        co_return std::nullopt;
    }
    auto reply = co_await readReply(timeout);
    if (reply && !in_.empty()) {
        // More than one reply to one command: the connection is out of step.
        ops::logLine(ops::LogLevel::Warning, session_.id,
                     "backend " + current_server_ + ": extra reply lines, closing the connection");
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
            ops::logLine(ops::LogLevel::Warning, session_.id,
                         "backend " + current_server_ + ": malformed reply");
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
        if (!read_buffer_) {
            read_buffer_.reset(new char[kReadChunk]);
        }
        auto [read_error, read] =
            co_await transport_.readSome(asio::buffer(read_buffer_.get(), kReadChunk));
        if (read_error) {
            last_timed_out_ = deadline_.expired();
            break;
        }
        in_.append(read_buffer_.get(), read);
    }
    close();
    co_return std::nullopt;
}

void SmtpBackend::close() {
    deadline_.disarm();
    if (socket_.is_open()) {
        error_code ignored;
        socket_.shutdown(Socket::shutdown_both, ignored);
        socket_.close(ignored);
    }
    connected_ = false;
    needs_reset_ = false;
    pending_mail_.clear();
    bound_identity_.reset();
    transactions_on_connection_ = 0;
    in_.clear();
}

}  // namespace mailgate::relay
