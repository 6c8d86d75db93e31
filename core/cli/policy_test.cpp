#include "core/cli/policy_test.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/filter/chain.hpp"
#include "core/relay/backend.hpp"

namespace mailgate::cli {
namespace {

const char* verdictName(mg_verdict verdict) {
    switch (verdict) {
        case MG_CONTINUE:
            return "continue";
        case MG_ACCEPT:
            return "accept";
        case MG_REJECT:
            return "reject";
        case MG_TEMPFAIL:
            return "tempfail";
        case MG_DISCARD:
            return "discard";
        case MG_DISCONNECT:
            return "disconnect";
    }
    return "unknown";
}

// Runs one stage, printing every plugin's answer; true when the transaction may go on.
class StageRunner {
  public:
    StageRunner(const filter::FilterChain& chain, mg_session& session, std::string& output)
        : chain_(chain), session_(session), output_(output) {}

    filter::Decision run(filter::Stage stage, const std::string& subject) {
        output_ += std::string("stage ") + filter::stageName(stage);
        if (!subject.empty()) {
            output_ += " <" + subject + ">";
        }
        output_ += "\n";
        const filter::StageObserver observer = [this](const std::string& plugin, mg_verdict verdict,
                                                      const smtp::Reply& reply) {
            output_ += "  " + plugin + ": " + verdictName(verdict);
            if (verdict == MG_REJECT || verdict == MG_TEMPFAIL || verdict == MG_DISCONNECT) {
                output_ += " (" + reply.summary() + ")";
            }
            output_ += "\n";
        };
        const filter::Decision decision = chain_.run(stage, session_, &observer);
        if (chain_.size() == 0 || decision.plugin.empty()) {
            output_ += "  (no plugin decided)\n";
        }
        return decision;
    }

  private:
    const filter::FilterChain& chain_;
    mg_session& session_;
    std::string& output_;
};

void appendSymbols(const mg_session& session, std::string& output) {
    if (session.symbolCount() == 0) {
        return;
    }
    char number[32];
    for (size_t i = 0; i < session.symbolCount(); ++i) {
        const filter::Symbol& symbol = session.symbolAt(i);
        std::snprintf(number, sizeof number, "%+.2f", symbol.score);
        output += std::string("symbol ") + symbol.name + " " + number;
        if (!symbol.description.empty()) {
            output += " (" + symbol.description + ")";
        }
        output += "\n";
    }
    std::snprintf(number, sizeof number, "%.2f", session.score());
    output += std::string("score ") + number + "\n";
}

bool refused(const filter::Decision& decision) {
    return decision.verdict == MG_REJECT || decision.verdict == MG_TEMPFAIL ||
           decision.verdict == MG_DISCONNECT;
}

// The message exactly as the backend would get it (unstuffed), built by the same code.
std::string resultingMessage(const filter::SessionInfo& info, filter::Transaction& transaction,
                             const std::string& hostname) {
    const relay::OutgoingMessage outgoing = relay::composeOutgoing(info, transaction, hostname);
    relay::MessagePieces pieces(outgoing, 64 * 1024);
    std::string message;
    for (std::string_view piece = pieces.next(); !piece.empty(); piece = pieces.next()) {
        message.append(piece);
    }
    return message;
}

}  // namespace

bool readMessageFile(const std::string& path, std::string& content, std::string& error) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        error = path + ": cannot read the message file";
        return false;
    }
    std::ostringstream raw;
    raw << file.rdbuf();
    const std::string text = raw.str();
    content.clear();
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
            content += '\r';
        }
        content += text[i];
    }
    if (!content.empty() && !content.ends_with("\r\n")) {
        content += "\r\n";
    }
    return true;
}

int runPolicyTest(const config::Config& config, plugin::PluginList plugins,
                  const PolicyTestInput& input, std::string& output) {
    const filter::FilterChain chain(std::move(plugins));
    filter::SessionInfo info;
    info.id = "policy-test";
    info.client_ip = input.client_ip;
    info.helo = input.helo;
    info.esmtp = true;
    filter::Transaction transaction;
    transaction.id = "policy-test.1";
    transaction.mail_from = input.mail_from;
    mg_session session;
    session.info = &info;
    StageRunner stages(chain, session, output);

    const auto stop = [&](const char* at, const filter::Decision& decision) {
        appendSymbols(session, output);
        output += std::string("result: refused at ") + at + " by " + decision.plugin + ": " +
                  decision.reply.summary() + "\n";
        chain.close(session);
        return kPolicyRefused;
    };
    const auto connect = stages.run(filter::Stage::Connect, info.client_ip);
    if (refused(connect)) {
        return stop("connect", connect);
    }
    const auto helo = stages.run(filter::Stage::Helo, info.helo);
    if (refused(helo)) {
        return stop("helo", helo);
    }
    session.transaction = &transaction;
    const auto mail = stages.run(filter::Stage::MailFrom, transaction.mail_from);
    if (refused(mail)) {
        return stop("mail_from", mail);
    }
    bool discard =
        connect.verdict == MG_DISCARD || helo.verdict == MG_DISCARD || mail.verdict == MG_DISCARD;
    for (const auto& rcpt : input.rcpts) {
        session.current_rcpt = rcpt;
        const auto decision = stages.run(filter::Stage::RcptTo, rcpt);
        if (decision.verdict == MG_CONTINUE) {
            output += "  => <" + rcpt + "> refused: 550 5.7.1 Relay access denied\n";
        } else if (refused(decision)) {
            output += "  => <" + rcpt + "> refused: " + decision.reply.summary() + "\n";
        } else {
            discard = discard || decision.verdict == MG_DISCARD;
            transaction.rcpts.push_back(rcpt);
        }
    }
    session.current_rcpt = {};
    if (transaction.rcpts.empty()) {
        output += "result: refused: no recipient accepted\n";
        chain.close(session);
        return kPolicyRefused;
    }
    std::string content;
    std::string error;
    if (!readMessageFile(input.message_file, content, error)) {
        output += "error: " + error + "\n";
        return kPolicyRefused;
    }
    transaction.content.appendTarget() = std::move(content);
    transaction.headers = smtp::parseHeaderSection(transaction.content.view());
    const auto eom = stages.run(filter::Stage::EndOfMessage, "");
    for (const auto& [name, value] : transaction.added_headers) {
        output += "  edit: add header " + name + ": " + value + "\n";
    }
    if (refused(eom)) {
        return stop("end_of_message", eom);
    }
    if (discard || eom.verdict == MG_DISCARD) {
        output += "result: discarded (the client would get 250, nothing is delivered)\n";
        chain.close(session);
        return kPolicyRefused;
    }
    appendSymbols(session, output);
    output += "result: accepted for delivery to";
    for (const auto& rcpt : transaction.rcpts) {
        output += " <" + rcpt + ">";
    }
    output += "\n--- message as the backend would receive it ---\n";
    output += resultingMessage(info, transaction, config.server.hostname);
    chain.close(session);
    return kPolicyAccepted;
}

}  // namespace mailgate::cli
