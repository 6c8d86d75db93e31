#include "core/relay/smtp_backend.hpp"

#include "core/ops/log.hpp"
#include "core/smtp/data_reader.hpp"

namespace mailgate::relay {
namespace {

constexpr size_t kMaxReplySize = 64 * 1024;

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
                         asio::any_io_executor executor)
    : config_(config),
      helo_name_(std::move(helo_name)),
      executor_(executor),
      socket_(executor),
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
        auto reply = co_await command(mailCommand(transaction), config_.command_timeout);
        if (reply) {
            co_return finishCommand(std::move(*reply), "2.1.0");
        }
        if (!reused) {
            break;
        }
    }
    co_return lostReply(last_timed_out_);
}

awaitable<smtp::Reply> SmtpBackend::rcptTo(const filter::Transaction& transaction,
                                           const std::string& recipient) {
    (void)transaction;
    if (!connected_) {
        co_return lostReply(last_timed_out_);
    }
    std::string line = "RCPT TO:<" + recipient + ">\r\n";
    auto reply = co_await command(line, config_.command_timeout);
    if (!reply) {
        co_return lostReply(last_timed_out_);
    }
    co_return finishCommand(std::move(*reply), "2.1.5");
}

awaitable<smtp::Reply> SmtpBackend::data(const filter::Transaction& transaction,
                                         const std::string& message) {
    (void)transaction;
    if (!connected_) {
        co_return lostReply(last_timed_out_);
    }
    auto go_ahead = co_await command("DATA\r\n", config_.command_timeout);
    if (!go_ahead) {
        co_return lostReply(last_timed_out_);
    }
    if (go_ahead->code != 354) {
        needs_reset_ = true;
        co_return finishCommand(std::move(*go_ahead), "2.0.0");
    }
    std::string wire;
    wire.reserve(message.size() + message.size() / 64 + 8);
    smtp::appendDotStuffed(message, wire);
    auto reply = co_await command(wire, config_.data_timeout);
    if (!reply) {
        co_return lostReply(last_timed_out_);
    }
    if (reply->code >= 300 && reply->code < 400) {
        close();  // nonsense after the final dot: this connection cannot be trusted
        co_return smtp::Reply(451, "4.3.0", "Unexpected reply from backend, try again later");
    }
    co_return withEnhancedCode(std::move(*reply), "2.0.0");
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
    close();
}

void SmtpBackend::abort() {
    close();
}

smtp::Reply SmtpBackend::finishCommand(smtp::Reply reply, const char* success_code) {
    if (reply.code >= 300 && reply.code < 400) {
        needs_reset_ = true;
        return smtp::Reply(451, "4.3.0", "Unexpected reply from backend, try again later");
    }
    if (reply.code == 421) {
        close();  // the backend is closing this connection
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
    for (const auto& server : config_.servers) {
        if (co_await connectTo(server)) {
            co_return true;
        }
    }
    ops::logWarning("backend: no server of " + std::to_string(config_.servers.size()) +
                    " reachable");
    co_return false;
}

awaitable<bool> SmtpBackend::connectTo(const config::Endpoint& server) {
    close();
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
    current_server_ = server.toString();
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
    }
    return capabilities;
}

awaitable<std::optional<smtp::Reply>> SmtpBackend::command(std::string_view text,
                                                           std::chrono::milliseconds timeout) {
    deadline_.arm(timeout);
    auto [write_error, written] =
        co_await asio::async_write(socket_, asio::buffer(text.data(), text.size()), use_nothrow);
    (void)written;
    if (write_error) {
        last_timed_out_ = deadline_.expired();
        close();
        co_return std::nullopt;
    }
    co_return co_await readReply(timeout);
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
        auto [read_error, read] =
            co_await socket_.async_read_some(asio::buffer(chunk, sizeof chunk), use_nothrow);
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
