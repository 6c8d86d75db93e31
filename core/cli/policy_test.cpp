#include "core/cli/policy_test.hpp"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/filter/chain.hpp"
#include "core/relay/backend.hpp"
#include "core/relay/body_source.hpp"

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
        case MG_PENDING:
            return "pending";
        case MG_QUARANTINE:
            return "quarantine";
        case MG_ERROR:
            return "error";
    }
    return "unknown";
}

bool refused(const filter::Decision& decision) {
    return decision.verdict == MG_REJECT || decision.verdict == MG_TEMPFAIL ||
           decision.verdict == MG_DISCONNECT;
}

bool decided(const filter::Decision& decision) {
    return decision.verdict != MG_CONTINUE && decision.verdict != MG_ACCEPT;
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

// One offline transaction: the session's stages in order, each plugin's answer printed.
class PolicyRun {
  public:
    PolicyRun(const config::Config& config, std::shared_ptr<const filter::FilterChain> chain,
              const PolicyTestInput& input, std::string& output, asio::any_io_executor executor)
        : config_(config),
          chain_(*chain),
          input_(input),
          output_(output),
          context_{state_, executor, chain, &observer_} {
        info_.id = "policy-test";
        info_.client_ip = input.client_ip;
        info_.helo = input.helo;
        info_.esmtp = true;
        state_.info = &info_;
        state_.max_recipients = config.limits.max_recipients;
        state_.max_message_size = config.limits.max_message_size;
        state_.edit_observer = [this](const std::string& line) { output_ += "  " + line + "\n"; };
        transaction_.id = "policy-test.1";
        transaction_.mail_from = input.mail_from;
    }

    awaitable<int> run() {
        const int result = co_await stages();
        if (state_.transaction != nullptr) {
            co_await chain_.notify(filter::Stage::Reset, context_);
        }
        co_await chain_.notify(filter::Stage::Close, context_);
        co_return result;
    }

  private:
    awaitable<filter::Decision> stage(filter::Stage stage, const std::string& subject) {
        output_ += std::string("stage ") + filter::stageName(stage);
        if (!subject.empty()) {
            output_ += " <" + subject + ">";
        }
        output_ += "\n";
        filter::Decision decision;
        if (stage == filter::Stage::Body) {
            relay::TransactionBody body(transaction_);
            decision = co_await chain_.runBody(context_, body);
        } else {
            decision = co_await chain_.run(stage, context_);
        }
        if (chain_.size() == 0 || decision.plugin.empty()) {
            output_ += "  (no plugin decided)\n";
        }
        co_return decision;
    }

    int stop(const char* at, const filter::Decision& decision) {
        appendSymbols();
        output_ += std::string("result: refused at ") + at + " by " + decision.plugin + ": " +
                   decision.reply.summary() + "\n";
        return kPolicyRefused;
    }

    void appendSymbols() {
        if (state_.symbolCount() == 0) {
            return;
        }
        char number[32];
        for (size_t i = 0; i < state_.symbolCount(); ++i) {
            const filter::Symbol& symbol = state_.symbolAt(i);
            std::snprintf(number, sizeof number, "%+.2f", symbol.score);
            output_ += std::string("symbol ") + symbol.name + " " + number;
            if (!symbol.description.empty()) {
                output_ += " (" + symbol.description + ")";
            }
            output_ += "\n";
        }
        std::snprintf(number, sizeof number, "%.2f", state_.score());
        output_ += std::string("score ") + number + "\n";
    }

    awaitable<int> stages() {
        const auto connect = co_await stage(filter::Stage::Connect, info_.client_ip);
        if (refused(connect)) {
            co_return stop("connect", connect);
        }
        const auto helo = co_await stage(filter::Stage::Helo, info_.helo);
        if (refused(helo)) {
            co_return stop("helo", helo);
        }
        state_.transaction = &transaction_;
        const auto mail = co_await stage(filter::Stage::MailFrom, transaction_.mail_from);
        if (refused(mail)) {
            co_return stop("mail_from", mail);
        }
        for (const auto verdict : {connect.verdict, helo.verdict, mail.verdict}) {
            note(verdict);
        }
        for (const auto& rcpt : input_.rcpts) {
            state_.current_rcpt = rcpt;
            const auto decision = co_await stage(filter::Stage::RcptTo, rcpt);
            if (decision.verdict == MG_CONTINUE) {
                output_ += "  => <" + rcpt + "> refused: 550 5.7.1 Relay access denied\n";
            } else if (refused(decision)) {
                output_ += "  => <" + rcpt + "> refused: " + decision.reply.summary() + "\n";
            } else {
                note(decision.verdict);
                transaction_.rcpts.push_back(rcpt);
            }
        }
        state_.current_rcpt = {};
        if (transaction_.rcpts.empty()) {
            output_ += "result: refused: no recipient accepted\n";
            co_return kPolicyRefused;
        }
        const auto data = co_await stage(filter::Stage::Data, "");
        if (refused(data)) {
            co_return stop("data", data);
        }
        note(data.verdict);
        std::string content;
        std::string error;
        if (!readMessageFile(input_.message_file, content, error)) {
            output_ += "error: " + error + "\n";
            co_return kPolicyRefused;
        }
        transaction_.received_size = content.size();
        transaction_.content.appendTarget() = std::move(content);
        transaction_.parsed_headers = smtp::parseHeaderSection(transaction_.content.view());
        transaction_.headers.setOriginal(transaction_.parsed_headers, transaction_.content.view());
        for (const auto message_stage :
             {filter::Stage::Headers, filter::Stage::Body, filter::Stage::EndOfMessage}) {
            if (message_stage == filter::Stage::Body && !chain_.hasHook(filter::Stage::Body)) {
                continue;
            }
            const auto decision = co_await stage(message_stage, "");
            if (refused(decision)) {
                co_return stop(filter::stageName(message_stage), decision);
            }
            note(decision.verdict);
            if (decided(decision)) {
                break;
            }
        }
        co_return finish();
    }

    void note(mg_verdict verdict) {
        discard_ = discard_ || verdict == MG_DISCARD;
        quarantine_ = quarantine_ || verdict == MG_QUARANTINE;
    }

    int finish() {
        appendSymbols();
        for (const auto& refused_rcpt : transaction_.refused_rcpts) {
            output_ += "  => <" + refused_rcpt.address +
                       "> refused at end of message: " + refused_rcpt.reply.summary() + "\n";
        }
        if (transaction_.rcpts.empty()) {
            output_ += "result: refused: every recipient was refused\n";
            return kPolicyRefused;
        }
        if (quarantine_) {
            output_ +=
                "result: quarantined (the client would get 250; the message goes to the "
                "quarantine folder)\n";
            return kPolicyRefused;
        }
        if (discard_) {
            output_ += "result: discarded (the client would get 250, nothing is delivered)\n";
            return kPolicyRefused;
        }
        output_ += "result: accepted for delivery from <" + transaction_.mail_from + "> to";
        for (const auto& rcpt : transaction_.rcpts) {
            output_ += " <" + rcpt + ">";
        }
        output_ += "\n--- message as the backend would receive it ---\n";
        output_ += resultingMessage(info_, transaction_, config_.server.hostname);
        return kPolicyAccepted;
    }

    const config::Config& config_;
    const filter::FilterChain& chain_;
    const PolicyTestInput& input_;
    std::string& output_;
    filter::SessionInfo info_;
    filter::Transaction transaction_;
    plugin::SessionState state_;
    filter::StageObserver observer_ = [this](const std::string& plugin, filter::Stage,
                                             mg_verdict verdict, const smtp::Reply& reply,
                                             std::string_view failure) {
        output_ += "  " + plugin + ": " + verdictName(verdict);
        if (!failure.empty()) {
            output_ += " (plugin " + std::string(failure) + "; on_error policy)";
        }
        if (verdict == MG_REJECT || verdict == MG_TEMPFAIL || verdict == MG_DISCONNECT) {
            output_ += " (" + reply.summary() + ")";
        }
        output_ += "\n";
    };
    filter::ChainContext context_;
    bool discard_ = false;
    bool quarantine_ = false;
};

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
    // Shared with the hook calls: a plugin stuck past its timeout keeps its library loaded.
    auto chain = std::make_shared<const filter::FilterChain>(std::move(plugins));
    asio::io_context io;
    PolicyRun policy_run(config, chain, input, output, io.get_executor());
    int result = kPolicyRefused;
    asio::co_spawn(io, policy_run.run(), [&](std::exception_ptr error, int value) {
        result = error ? kPolicyRefused : value;
    });
    io.run();
    return result;
}

}  // namespace mailgate::cli
