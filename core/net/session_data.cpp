// The DATA phase: read the message with the strict DataReader, run the end-of-message plugins,
// hand the message to the backend and answer the client with the backend's own reply. The
// client never hears 250 before the backend said 250 (DESIGN.md guarantee 2).
#include <algorithm>

#include "core/net/session.hpp"
#include "core/ops/log.hpp"
#include "core/ops/message_summary.hpp"
#include "core/ops/metrics.hpp"
#include "core/relay/body_source.hpp"
#include "core/relay/maildir_backend.hpp"
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
    filter::Decision decision;  // continue; no coroutine when no plugin looks at DATA
    if (runtime_.chain.hasHook(filter::Stage::Data)) {
        decision = co_await runStage(filter::Stage::Data);
    }
    if (decision.verdict == MG_DISCARD) {
        transaction_.discard = true;
    } else if (decision.verdict == MG_QUARANTINE) {
        transaction_.quarantine = true;
        transaction_.decided_by = decision.plugin;
    } else if (decision.verdict != MG_CONTINUE && decision.verdict != MG_ACCEPT) {
        transaction_.decided_by = decision.plugin;
        logSummary(decision.verdict == MG_TEMPFAIL ? "tempfailed" : "rejected", decision.reply);
        co_await endTransaction();
        co_await backend_->reset();
        co_return co_await applyDecision(decision);
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
        co_return co_await refuseMessage("rejected", std::move(failure));
    }
    co_return co_await deliver();
}

// Ends the transaction with a refusal the client hears.
awaitable<bool> Session::refuseMessage(const char* outcome, smtp::Reply refusal) {
    logSummary(outcome, refusal);
    co_await endTransaction();
    co_await backend_->reset();
    reply(refusal);
    co_return true;
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
            ops::logLine(ops::LogLevel::Error, transaction_.id,
                         "message store: " + transaction_.content.error());
            stored = false;
        }
        if (!stored) {
            transaction_.content.appendTarget().clear();
        }
        if (reader.finished()) {
            break;
        }
        if (closed_) {
            co_return false;
        }
        const asio::mutable_buffer space = inputSpace(ReadFor::Body);
        auto [ec, read] = co_await transport_.readSome(space);
        if (!takeInput(ec, space, read)) {
            co_return false;
        }
    }
    body_read_buffer_.reset();
    deadline_.disarm();
    transaction_.received_size = reader.size();
    if (reader.violation() == smtp::DataReader::Violation::TooBig) {
        ops::metrics::limitHit(ops::metrics::Limit::MaxMessageSize);
    }
    if (reader.violation() != smtp::DataReader::Violation::None) {
        failure = violationReply(reader.violation(), limits_);
    } else if (!stored) {
        failure = smtp::Reply(451, "4.3.0", "Local error storing the message, try again later");
    }
    co_return true;
}

// headers, body pieces, end of message: the first verdict other than continue or accept ends
// the message stages.
awaitable<filter::Decision> Session::runMessageStages() {
    const auto decided = [](const filter::Decision& decision) {
        return decision.verdict != MG_CONTINUE && decision.verdict != MG_ACCEPT;
    };
    const filter::FilterChain& chain = runtime_.chain;
    filter::Decision decision;
    if (chain.hasHook(filter::Stage::Headers)) {
        decision = co_await runStage(filter::Stage::Headers);
    }
    if (!decided(decision) && chain.hasHook(filter::Stage::Body)) {
        relay::TransactionBody body(transaction_);
        decision = co_await chain.runBody(chain_, body);
    }
    if (!decided(decision) && chain.hasHook(filter::Stage::EndOfMessage)) {
        decision = co_await runStage(filter::Stage::EndOfMessage);
    }
    co_return decision;
}

awaitable<bool> Session::deliver() {
    transaction_.parsed_headers = smtp::parseHeaderSection(transaction_.content.view());
    transaction_.headers.setOriginal(transaction_.parsed_headers, transaction_.content.view());
    const filter::Decision decision = co_await runMessageStages();
    if (decision.verdict == MG_DISCARD) {
        transaction_.discard = true;
        transaction_.decided_by = decision.plugin;
    } else if (decision.verdict == MG_QUARANTINE) {
        transaction_.quarantine = true;
        transaction_.decided_by = decision.plugin;
    } else if (decision.verdict == MG_REJECT || decision.verdict == MG_TEMPFAIL ||
               decision.verdict == MG_DISCONNECT) {
        transaction_.decided_by = decision.plugin;
        logSummary(decision.verdict == MG_TEMPFAIL ? "tempfailed" : "rejected", decision.reply);
        co_await endTransaction();
        co_await backend_->reset();
        co_return co_await applyDecision(decision);
    }
    if (transaction_.rcpts.empty() && !transaction_.refused_rcpts.empty()) {
        // reject_rcpt refused every recipient: the first refusal is the answer.
        co_return co_await refuseMessage("rejected", transaction_.refused_rcpts.front().reply);
    }
    if (transaction_.quarantine) {
        const relay::OutgoingMessage message =
            relay::composeOutgoing(info_, transaction_, runtime_.config.server.hostname);
        const smtp::Reply quarantined = co_await quarantine(message);
        co_await backend_->reset();
        logSummary(quarantined.positive() ? "quarantined" : "tempfailed", quarantined);
        co_await endTransaction();
        reply(quarantined);
        co_return true;
    }
    if (transaction_.discard) {
        const smtp::Reply discarded(250, "2.0.0", "Ok");
        logSummary("discarded", discarded);
        co_await endTransaction();
        co_await backend_->reset();
        reply(discarded);
        co_return true;
    }
    if (const std::optional<smtp::Reply> refusal = co_await replayEnvelope()) {
        co_return co_await refuseMessage(refusal->transient() ? "tempfailed" : "rejected",
                                         *refusal);
    }
    const relay::OutgoingMessage message =
        relay::composeOutgoing(info_, transaction_, runtime_.config.server.hostname);
    const smtp::Reply backend_reply = co_await backend_->data(transaction_, message);
    logSummary(backend_reply.positive()    ? "accepted"
               : backend_reply.transient() ? "tempfailed"
                                           : "rejected",
               backend_reply);
    co_await endTransaction();
    reply(backend_reply);
    co_return true;
}

// Brings the backend's envelope in line with the plugins' edits: RCPT for added recipients, or
// RSET and MAIL + every RCPT again when the sender changed or a recipient went away. Returns the
// refusal to give the client when nothing can be delivered.
awaitable<std::optional<smtp::Reply>> Session::replayEnvelope() {
    if (!transaction_.envelope_edited) {
        co_return std::nullopt;
    }
    bool only_added = transaction_.mail_from == transaction_.backend_mail_from;
    for (const std::string& old_rcpt : transaction_.backend_rcpts) {
        only_added = only_added && std::find(transaction_.rcpts.begin(), transaction_.rcpts.end(),
                                             old_rcpt) != transaction_.rcpts.end();
    }
    std::vector<std::string> wanted = std::move(transaction_.rcpts);
    transaction_.rcpts.clear();
    if (only_added) {
        transaction_.rcpts = transaction_.backend_rcpts;
    } else {
        ops::logLine(ops::LogLevel::Info, info_.id,
                     "replaying the envelope to the backend after plugin edits");
        co_await backend_->reset();
        const smtp::Reply sender_reply = co_await backend_->mailFrom(transaction_);
        if (!sender_reply.positive()) {
            co_return sender_reply;
        }
    }
    std::optional<smtp::Reply> first_refusal;
    for (std::string& rcpt : wanted) {
        if (std::find(transaction_.rcpts.begin(), transaction_.rcpts.end(), rcpt) !=
            transaction_.rcpts.end()) {
            continue;  // the backend has it already
        }
        const smtp::Reply rcpt_reply = co_await backend_->rcptTo(transaction_, rcpt);
        if (rcpt_reply.positive()) {
            transaction_.rcpts.push_back(std::move(rcpt));
            continue;
        }
        // SMTP has one reply per message: the client cannot hear about this recipient.
        ops::logLine(ops::LogLevel::Warning, info_.id,
                     "backend refused recipient <" + rcpt +
                         "> of the edited envelope: " + rcpt_reply.summary());
        if (!first_refusal) {
            first_refusal = rcpt_reply;
        }
    }
    if (transaction_.rcpts.empty()) {
        co_return first_refusal.value_or(
            smtp::Reply(554, "5.5.1", "No recipients left after the filters' edits"));
    }
    co_return std::nullopt;
}

// Hands the message to the quarantine Maildir with the envelope and the deciding plugin in
// headers. Without a quarantine folder the message is not lost: the client retries later.
awaitable<smtp::Reply> Session::quarantine(const relay::OutgoingMessage& message) {
    const auto& folder = runtime_.config.quarantine.path;
    if (folder.empty()) {
        ops::logLine(ops::LogLevel::Error, info_.id,
                     "plugin " + transaction_.decided_by +
                         " quarantined a message, but no quarantine.path is configured");
        co_return smtp::Reply(451, "4.3.0", "Message held for review could not be stored");
    }
    relay::OutgoingMessage held = message;
    std::string envelope = "X-Mailgate-Quarantine: plugin=" + transaction_.decided_by +
                           "; session=" + info_.id + "\r\nX-Mailgate-Envelope-From: <" +
                           transaction_.mail_from + ">\r\nX-Mailgate-Envelope-To: ";
    for (size_t i = 0; i < transaction_.rcpts.size(); ++i) {
        envelope += (i == 0 ? "<" : ",\r\n <") + transaction_.rcpts[i] + ">";
    }
    held.head = envelope + "\r\n" + held.head;
    relay::MaildirBackend store(folder, runtime_.config.server.hostname);
    smtp::Reply stored = co_await store.data(transaction_, held);
    if (stored.positive()) {
        stored = smtp::Reply(250, "2.0.0", "Ok: held for review");
    }
    co_return stored;
}

void Session::logSummary(const char* outcome, const smtp::Reply& final_reply) const {
    ops::metrics::messageFinished(outcome, transaction_.rcpts.size(), transaction_.received_size);
    if (!ops::logEnabled(ops::LogLevel::Info)) {
        return;
    }
    ops::MessageSummary summary;
    summary.session_id = info_.id;
    summary.id = transaction_.id;
    summary.client = info_.client_ip;
    summary.helo = info_.helo;
    summary.from = transaction_.mail_from;
    summary.to.assign(transaction_.rcpts.begin(), transaction_.rcpts.end());
    summary.size = transaction_.received_size;
    summary.outcome = outcome;
    summary.decided_by = transaction_.decided_by;
    for (const auto& refused : transaction_.refused_rcpts) {
        summary.refused.push_back(refused.address);
    }
    summary.scored = plugin_state_.symbolCount() > 0;
    summary.score = plugin_state_.score();
    for (size_t i = 0; i < plugin_state_.symbolCount(); ++i) {
        const filter::Symbol& symbol = plugin_state_.symbolAt(i);
        summary.symbols.push_back({symbol.name, symbol.score});
    }
    summary.reply = final_reply.code == 0 ? "" : final_reply.summary();
    summary.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - transaction_start_)
                              .count();
    ops::logMessageSummary(summary);
}

awaitable<void> Session::endTransaction() {
    if (runtime_.chain.hasHook(filter::Stage::Reset)) {
        co_await runtime_.chain.notify(filter::Stage::Reset, chain_);
    }
    plugin_state_.transaction_data.clear();  // plugins' per-transaction data ends here
    transaction_ = filter::Transaction{};
    plugin_state_.transaction = nullptr;
}

}  // namespace mailgate::net
