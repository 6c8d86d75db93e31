// The DATA phase: read the message with the strict DataReader, run the end-of-message plugins,
// hand the message to the backend and answer the client with the backend's own reply. The
// client never hears 250 before the backend said 250 (DESIGN.md guarantee 2).
#include <cstdio>

#include "core/net/session.hpp"
#include "core/ops/log.hpp"
#include "core/smtp/data_reader.hpp"

namespace mailgate::net {
namespace {

// Room for one read beyond the spill threshold before the buffer moves to a file.
constexpr uint64_t kReadChunkForData = 16 * 1024;

smtp::Reply violationReply(smtp::DataReader::Violation violation, const config::LimitsConfig& l) {
    using V = smtp::DataReader::Violation;
    switch (violation) {
        case V::BareLf:
            return {554, "5.6.0",
                    "Message rejected: bare LF in message text, lines must end with CRLF"};
        case V::BareCr:
            return {554, "5.6.0",
                    "Message rejected: bare CR in message text, lines must end with CRLF"};
        case V::Nul:
            return {554, "5.6.0", "Message rejected: NUL byte in message text"};
        case V::LineTooLong:
            return {554, "5.6.0",
                    "Message rejected: line longer than " + std::to_string(l.max_text_line) +
                        " octets"};
        case V::TooBig:
            return {552, "5.3.4", "Message size exceeds fixed maximum message size"};
        case V::None:
            break;
    }
    return {451, "4.3.0", "Internal error"};
}

}  // namespace

awaitable<bool> Session::onData() {
    if (!transaction_.active()) {
        replyText(503, "5.5.1", "Need MAIL command");
        co_return countError();
    }
    if (transaction_.rcpts.empty()) {
        replyText(554, "5.5.1", "No valid recipients");
        co_return countError();
    }
    replyText(354, "", "End data with <CR><LF>.<CR><LF>");
    smtp::Reply failure;
    if (!co_await readMessage(failure)) {
        // The client went away or timed out mid-DATA: nothing reaches the backend.
        const bool timed_out = deadline_.expired();
        co_await abortTransaction(timed_out ? "timeout" : "aborted");
        if (timed_out) {
            co_await closeWith(
                {421, "4.4.2", runtime_.config.server.hostname + " Timeout, closing connection"});
        }
        co_return false;
    }
    if (failure.code != 0) {
        logSummary("rejected", failure);
        endTransaction();
        co_await backend_->reset();
        reply(failure);
        co_return true;
    }
    co_return co_await deliver();
}

// Reads up to the end of data. False when the connection failed; `failure` is set when the
// message was read to its end but must be refused (bare line endings, size, NUL).
awaitable<bool> Session::readMessage(smtp::Reply& failure) {
    smtp::DataReader::Options options;
    options.max_size = limits_.max_message_size;
    options.max_line_length = limits_.max_text_line;
    options.normalize_bare_line_endings =
        limits_.bare_line_endings == config::BareLineEndingPolicy::Normalize;
    smtp::DataReader reader(options);
    transaction_.content.appendTarget().reserve(std::min<uint64_t>(
        transaction_.declared_size > 0 ? transaction_.declared_size + 1024 : 16 * 1024,
        limits_.spill_threshold + kReadChunkForData));
    bool stored = true;
    if (!co_await flush()) {
        co_return false;
    }
    // The whole DATA phase is bounded by data_timeout: a trickling client cannot hold it open.
    deadline_.arm(limits_.data_timeout);
    for (;;) {
        const size_t used = reader.feed(pendingInput(), transaction_.content.appendTarget());
        consumeInput(used);
        if (stored && !transaction_.content.commit()) {
            // Keep reading to the end of data, then answer 451: the client's queue retries.
            ops::logError("message store: " + transaction_.content.error());
            stored = false;
        }
        if (!stored) {
            transaction_.content.appendTarget().clear();
        }
        if (reader.finished()) {
            break;
        }
        if (!co_await fillInput()) {
            co_return false;
        }
    }
    deadline_.disarm();
    transaction_.received_size = reader.size();
    if (reader.violation() != smtp::DataReader::Violation::None) {
        failure = violationReply(reader.violation(), limits_);
    } else if (!stored) {
        failure = smtp::Reply(451, "4.3.0", "Local error storing the message, try again later");
    }
    co_return true;
}

awaitable<bool> Session::deliver() {
    transaction_.headers = smtp::parseHeaderSection(transaction_.content.view());
    const filter::Decision decision =
        runtime_.chain.run(filter::Stage::EndOfMessage, plugin_session_);
    if (decision.verdict == MG_DISCARD) {
        transaction_.discard = true;
        transaction_.decided_by = decision.plugin;
    } else if (decision.verdict == MG_REJECT || decision.verdict == MG_TEMPFAIL ||
               decision.verdict == MG_DISCONNECT) {
        transaction_.decided_by = decision.plugin;
        logSummary(decision.verdict == MG_TEMPFAIL ? "tempfailed" : "rejected", decision.reply);
        endTransaction();
        co_await backend_->reset();
        co_return co_await applyDecision(decision);
    }
    if (transaction_.discard) {
        const smtp::Reply discarded(250, "2.0.0", "Ok");
        logSummary("discarded", discarded);
        endTransaction();
        co_await backend_->reset();
        reply(discarded);
        co_return true;
    }
    const relay::OutgoingMessage message =
        relay::composeOutgoing(info_, transaction_, runtime_.config.server.hostname);
    const smtp::Reply backend_reply = co_await backend_->data(transaction_, message);
    logSummary(backend_reply.positive()    ? "accepted"
               : backend_reply.transient() ? "tempfailed"
                                           : "rejected",
               backend_reply);
    endTransaction();
    reply(backend_reply);
    co_return true;
}

void Session::logSummary(const char* outcome, const smtp::Reply& final_reply) const {
    if (!ops::logEnabled(ops::LogLevel::Info)) {
        return;
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - transaction_start_);
    std::string line = "message id=" + transaction_.id + " client=" + info_.client_ip +
                       " helo=" + (info_.helo.empty() ? "-" : info_.helo) + " from=<" +
                       transaction_.mail_from + "> to=";
    for (size_t i = 0; i < transaction_.rcpts.size(); ++i) {
        line += (i == 0 ? "<" : ",<") + transaction_.rcpts[i] + ">";
    }
    if (transaction_.rcpts.empty()) {
        line += "-";
    }
    line += " size=" + std::to_string(transaction_.received_size);
    line += " outcome=";
    line += outcome;
    line += " decided_by=" + (transaction_.decided_by.empty() ? "-" : transaction_.decided_by);
    if (plugin_session_.symbolCount() > 0) {
        char score[32];
        std::snprintf(score, sizeof score, "%.2f", plugin_session_.score());
        line += std::string(" score=") + score + " symbols=";
        for (size_t i = 0; i < plugin_session_.symbolCount(); ++i) {
            const filter::Symbol& symbol = plugin_session_.symbolAt(i);
            std::snprintf(score, sizeof score, "(%.2f)", symbol.score);
            line += (i == 0 ? "" : ",") + symbol.name + score;
        }
    }
    line += " reply=";
    line += final_reply.code == 0 ? "-" : "\"" + final_reply.summary() + "\"";
    line += " duration_ms=" + std::to_string(elapsed.count());
    ops::logLine(ops::LogLevel::Info, info_.id, line);
}

void Session::endTransaction() {
    plugin_session_.transaction_data.clear();  // plugins' per-transaction data ends here
    transaction_ = filter::Transaction{};
    plugin_session_.transaction = nullptr;
}

}  // namespace mailgate::net
