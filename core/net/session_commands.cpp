// Command handlers of the client session: one function per verb, dispatched from a table-like
// switch. Each queues its reply; the I/O loop in session.cpp flushes replies when it needs input.
#include <charconv>

#include "core/net/session.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::net {
namespace {

const char* const kHelpText =
    "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP; see RFC 5321";

}  // namespace

// The verbs with a handler of their own go straight to it: dispatch is no coroutine, so a
// command costs no frame of its own. The caller keeps `command` alive until the await ends.
awaitable<bool> Session::dispatch(const smtp::Command& command) {
    if (command.error == smtp::CommandError::None) {
        switch (command.verb) {
            case smtp::Verb::Ehlo:
                return onHelo(command, true);
            case smtp::Verb::Helo:
                return onHelo(command, false);
            case smtp::Verb::Mail:
                return onMail(command);
            case smtp::Verb::Rcpt:
                return onRcpt(command);
            case smtp::Verb::Data:
                return onData();
            case smtp::Verb::Rset:
                return onRset();
            case smtp::Verb::Starttls:
                return onStarttls(command);
            case smtp::Verb::Auth:
                return onAuth(command);
            default:
                break;
        }
    }
    return answerDirectly(command);
}

// Syntax errors and the verbs answered with a fixed reply.
awaitable<bool> Session::answerDirectly(const smtp::Command& command) {
    if (command.error != smtp::CommandError::None) {
        co_return onSyntaxError(command);
    }
    switch (command.verb) {
        case smtp::Verb::Noop:
            replyText(250, "2.0.0", "Ok");
            co_return true;
        case smtp::Verb::Quit:
            co_await closeWith({221, "2.0.0", runtime_.config.server.hostname + " Bye"});
            co_return false;
        case smtp::Verb::Vrfy:
            replyText(252, "2.5.2",
                      "Cannot VRFY user, but will accept message and attempt delivery");
            co_return true;
        case smtp::Verb::Help:
            replyText(214, "2.0.0", kHelpText);
            co_return true;
        case smtp::Verb::Expn:
            // Disabled on purpose, as on most MTAs: list expansion only helps address harvesters.
            replyText(502, "5.5.1", "EXPN is disabled");
            co_return countError();
        case smtp::Verb::Bdat:
            // Not advertised in EHLO (CHUNKING is not offered).
            replyText(502, "5.5.1", command.verb_text + " is not offered by this server");
            co_return countError();
        default:
            break;
    }
    replyText(500, "5.5.1", "Command unrecognized");
    co_return countError();
}

bool Session::onSyntaxError(const smtp::Command& command) {
    switch (command.error) {
        case smtp::CommandError::BareLineEnding:
            replyText(500, "5.5.2", "Bare CR or LF in command; lines must end with CRLF");
            break;
        case smtp::CommandError::NulByte:
            replyText(500, "5.5.2", "NUL byte in command");
            break;
        case smtp::CommandError::EightBit:
            replyText(500, "5.5.2", "8-bit characters in command");
            break;
        case smtp::CommandError::LineTooLong:
            replyText(500, "5.5.2", "Line too long");
            break;
        case smtp::CommandError::Unrecognized:
            replyText(500, "5.5.1", "Command unrecognized");
            break;
        case smtp::CommandError::BadPath:
            replyText(501, command.verb == smtp::Verb::Mail ? "5.1.7" : "5.1.3",
                      command.error_detail.empty() ? "Bad address syntax" : command.error_detail);
            break;
        case smtp::CommandError::BadParameter:
            replyText(501, "5.5.4",
                      command.error_detail.empty() ? "Bad parameter syntax" : command.error_detail);
            break;
        case smtp::CommandError::Syntax:
        case smtp::CommandError::None:
            replyText(501, "5.5.4",
                      command.error_detail.empty() ? "Syntax error in parameters or arguments"
                                                   : command.error_detail);
            break;
    }
    return countError();
}

// Counts a protocol error; at the limit the client gets 421 and the session ends (false).
bool Session::countError() {
    if (++errors_ < limits_.max_errors) {
        return true;
    }
    ops::metrics::limitHit(ops::metrics::Limit::MaxErrors);
    ops::logLine(ops::LogLevel::Info, info_.id,
                 "too many errors from " + info_.client_ip + ", closing");
    replyText(421, "4.7.0",
              runtime_.config.server.hostname + " Too many errors, closing connection");
    return false;
}

awaitable<bool> Session::onHelo(const smtp::Command& command, bool extended) {
    if (transaction_.active()) {
        co_await abortTransaction("reset");  // EHLO/HELO imply RSET (RFC 5321 4.1.4)
    }
    std::string_view name = command.argument;
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
        name.remove_suffix(1);
    }
    info_.helo = name;
    info_.esmtp = extended;
    const filter::Decision decision = co_await runStage(filter::Stage::Helo);
    if (decision.verdict != MG_CONTINUE && decision.verdict != MG_ACCEPT &&
        decision.verdict != MG_DISCARD && decision.verdict != MG_QUARANTINE) {
        info_.helo.clear();
        co_return co_await applyDecision(decision);
    }
    if (decision.verdict == MG_DISCARD) {
        discard_all_ = true;
    } else if (decision.verdict == MG_QUARANTINE) {
        quarantine_all_ = decision.plugin;
    }
    helo_seen_ = true;
    const std::string& hostname = runtime_.config.server.hostname;
    if (!extended) {
        replyText(250, "", hostname);
        co_return true;
    }
    std::vector<std::string> keywords{
        hostname,   "PIPELINING",          "SIZE " + std::to_string(limits_.max_message_size),
        "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"};
    addSecurityKeywords(keywords);  // STARTTLS, AUTH
    reply(smtp::Reply(250, "", std::move(keywords)));
    co_return true;
}

// Reply and side effects of a reject / tempfail / disconnect verdict. False ends the session.
awaitable<bool> Session::applyDecision(const filter::Decision& decision) {
    if (decision.verdict == MG_DISCONNECT) {
        // Named, not a ?: temporary inside co_await (GCC 12 destroys those twice).
        smtp::Reply farewell = decision.reply;
        if (farewell.code != 421) {
            farewell = smtp::Reply(421, "4.7.0", decision.reply.lines.front());
        }
        co_await closeWith(std::move(farewell));
        co_return false;
    }
    reply(decision.reply);
    co_return true;
}

// No coroutine of its own: the caller awaits the chain's run directly.
awaitable<filter::Decision> Session::runStage(filter::Stage stage) {
    return runtime_.chain.run(stage, chain_);
}

// Checks MAIL's ESMTP parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8).
bool Session::checkMailParameters(const smtp::Command& command, MailParameters& checked) {
    for (const auto& param : command.params) {
        if (param.keyword == "SIZE") {
            uint64_t size = 0;
            const std::string text = param.value.value_or("");
            const auto result = std::from_chars(text.data(), text.data() + text.size(), size);
            const bool digits_only = result.ptr == text.data() + text.size() && !text.empty();
            if (!digits_only ||
                (result.ec != std::errc() && result.ec != std::errc::result_out_of_range)) {
                replyText(501, "5.5.4", "Bad SIZE parameter: SIZE=<number of octets>");
                return false;
            }
            // A number too large to represent is certainly over the limit.
            if (result.ec == std::errc::result_out_of_range || size > limits_.max_message_size) {
                ops::metrics::limitHit(ops::metrics::Limit::MaxMessageSize);
                replyText(552, "5.3.4", "Message size exceeds fixed maximum message size");
                return false;
            }
            checked.declared_size = size;
        } else if (param.keyword == "BODY" && param.value &&
                   (smtp::equalsIgnoreCase(*param.value, "7BIT") ||
                    smtp::equalsIgnoreCase(*param.value, "8BITMIME"))) {
            // both are fine: we pass 8-bit bodies through unchanged
        } else if (param.keyword == "SMTPUTF8" && !param.value) {
            checked.smtputf8 = true;
        } else {
            replyText(555, "5.5.4", "Unsupported MAIL parameter " + param.keyword);
            return false;
        }
        checked.params.push_back(param);
    }
    if (!checked.smtputf8 && smtp::hasNonAscii(command.path.address)) {
        replyText(553, "5.6.7", "Non-ASCII address needs the SMTPUTF8 parameter");
        return false;
    }
    return true;
}

void Session::beginTransaction() {
    transaction_ = filter::Transaction{};
    transaction_.id = info_.id + "." + std::to_string(++transactions_);
    transaction_.content =
        smtp::MessageBuffer(limits_.spill_threshold, limits_.spill_directory.native());
    transaction_start_ = std::chrono::steady_clock::now();
    plugin_state_.transaction = &transaction_;
}

awaitable<bool> Session::onMail(const smtp::Command& command) {
    if (!helo_seen_) {
        replyText(503, "5.5.1", "Send HELO or EHLO first");
        co_return countError();
    }
    if (!checkTlsRequired()) {
        co_return countError();
    }
    if (transaction_.active()) {
        replyText(503, "5.5.1", "Nested MAIL command");
        co_return countError();
    }
    if (shutting_down_) {
        co_await closeWith(
            {421, "4.3.2",
             runtime_.config.server.hostname + " Service shutting down, closing connection"});
        co_return false;
    }
    MailParameters checked;
    if (!checkMailParameters(command, checked)) {
        co_return countError();
    }
    beginTransaction();
    transaction_.mail_from = command.path.address;
    transaction_.mail_params = std::move(checked.params);
    transaction_.declared_size = checked.declared_size;
    transaction_.smtputf8 = checked.smtputf8;
    transaction_.discard = discard_all_;
    if (!quarantine_all_.empty()) {
        transaction_.quarantine = true;
        transaction_.decided_by = quarantine_all_;
    }

    filter::Decision decision;  // continue; no coroutine when no plugin looks at MAIL
    if (runtime_.chain.hasHook(filter::Stage::MailFrom)) {
        decision = co_await runStage(filter::Stage::MailFrom);
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
        co_return co_await applyDecision(decision);
    }
    if (transaction_.discard || transaction_.quarantine) {
        replyText(250, "2.1.0", "Ok");  // nothing will be delivered: no need for the backend
        co_return true;
    }
    const smtp::Reply backend_reply = co_await backend_->mailFrom(transaction_);
    if (!backend_reply.positive()) {
        logSummary(backend_reply.transient() ? "tempfailed" : "rejected", backend_reply);
        co_await endTransaction();
    }
    reply(backend_reply);
    co_return true;
}

awaitable<bool> Session::onRcpt(const smtp::Command& command) {
    if (!transaction_.active()) {
        replyText(503, "5.5.1", "Need MAIL before RCPT");
        co_return countError();
    }
    if (!command.params.empty()) {
        replyText(555, "5.5.4", "Unsupported RCPT parameter " + command.params.front().keyword);
        co_return countError();
    }
    if (!transaction_.smtputf8 && smtp::hasNonAscii(command.path.address)) {
        replyText(553, "5.6.7", "Non-ASCII address needs the SMTPUTF8 parameter");
        co_return countError();
    }
    if (transaction_.rcpts.size() >= limits_.max_recipients) {
        ops::metrics::limitHit(ops::metrics::Limit::MaxRecipients);
        replyText(452, "4.5.3", "Too many recipients");
        co_return true;
    }
    plugin_state_.current_rcpt = command.path.address;
    const filter::Decision decision = co_await runStage(filter::Stage::RcptTo);
    plugin_state_.current_rcpt = {};
    if (decision.verdict == MG_CONTINUE) {
        // Nobody vouched for this recipient: no open relay (DESIGN.md guarantee 1).
        replyText(550, "5.7.1", "<" + command.path.address + ">: Relay access denied");
        co_return countError();  // probing for relays counts like any other error
    }
    if (decision.verdict == MG_DISCARD) {
        transaction_.discard = true;
    } else if (decision.verdict == MG_QUARANTINE) {
        transaction_.quarantine = true;
        transaction_.decided_by = decision.plugin;
    } else if (decision.verdict != MG_ACCEPT) {
        const bool go_on = co_await applyDecision(decision);
        // A refused recipient counts as an error, so one session cannot probe without end.
        co_return go_on && (decision.verdict != MG_REJECT || countError());
    }
    // A message that will not reach the backend needs no recipient check there.
    if (transaction_.discard || transaction_.quarantine) {
        transaction_.rcpts.push_back(command.path.address);
        replyText(250, "2.1.5", "Ok");
        co_return true;
    }
    const smtp::Reply backend_reply = co_await backend_->rcptTo(transaction_, command.path.address);
    if (backend_reply.positive()) {
        transaction_.rcpts.push_back(command.path.address);
    }
    reply(backend_reply);
    co_return true;
}

awaitable<bool> Session::onRset() {
    if (transaction_.active()) {
        co_await abortTransaction("reset");
    }
    replyText(250, "2.0.0", "Ok");
    co_return true;
}

awaitable<void> Session::abortTransaction(const char* outcome) {
    if (!transaction_.rcpts.empty()) {
        logSummary(outcome, smtp::Reply());  // no reply: the client left or reset
    }
    co_await endTransaction();
    co_await backend_->reset();
}

}  // namespace mailgate::net
