#include "core/filter/chain.hpp"

#include "core/filter/plugin_call.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::filter {
namespace {

mg_hook hookFor(const mg_plugin_descriptor& descriptor, Stage stage) {
    switch (stage) {
        case Stage::Connect:
            return descriptor.on_connect;
        case Stage::Helo:
            return descriptor.on_helo;
        case Stage::MailFrom:
            return descriptor.on_mail_from;
        case Stage::RcptTo:
            return descriptor.on_rcpt_to;
        case Stage::Data:
            return descriptor.on_data;
        case Stage::Headers:
            return descriptor.on_headers;
        case Stage::Body:
            return descriptor.on_body_chunk;
        case Stage::EndOfMessage:
            return descriptor.on_end_of_message;
        case Stage::Reset:
            return descriptor.on_reset;
        case Stage::Close:
            return descriptor.on_close;
    }
    return nullptr;
}

// A reply set by the plugin is used only when its class fits the verdict.
bool replyFits(const smtp::Reply& reply, mg_verdict verdict) {
    switch (verdict) {
        case MG_REJECT:
            return reply.permanent();
        case MG_TEMPFAIL:
            return reply.transient();
        case MG_DISCONNECT:
            return reply.code == 421 || reply.permanent();
        default:
            return false;
    }
}

// What a failed plugin's on_error policy turns into.
Decision onErrorDecision(const plugin::LoadedPlugin& plugin, Stage stage) {
    Decision decision;
    decision.plugin = plugin.name();
    switch (plugin.settings().on_error) {
        case config::OnError::Accept:
            decision.verdict = MG_CONTINUE;
            break;
        case config::OnError::Reject:
            decision.verdict = MG_REJECT;
            decision.reply = defaultReply(stage, MG_REJECT);
            break;
        case config::OnError::Tempfail:
            decision.verdict = MG_TEMPFAIL;
            decision.reply = smtp::Reply(451, "4.3.0", "Temporary filter failure, try again later");
            break;
    }
    return decision;
}

const char* onErrorName(config::OnError policy) {
    switch (policy) {
        case config::OnError::Accept:
            return "accept";
        case config::OnError::Reject:
            return "reject";
        case config::OnError::Tempfail:
            break;
    }
    return "tempfail";
}

std::string sessionId(const plugin::SessionState& state) {
    return std::string(state.logId());
}

}  // namespace

const char* stageName(Stage stage) {
    switch (stage) {
        case Stage::Connect:
            return "connect";
        case Stage::Helo:
            return "helo";
        case Stage::MailFrom:
            return "mail_from";
        case Stage::RcptTo:
            return "rcpt_to";
        case Stage::Data:
            return "data";
        case Stage::Headers:
            return "headers";
        case Stage::Body:
            return "body";
        case Stage::EndOfMessage:
            return "end_of_message";
        case Stage::Reset:
            return "reset";
        case Stage::Close:
            return "close";
    }
    return "unknown";
}

smtp::Reply defaultReply(Stage stage, mg_verdict verdict) {
    switch (verdict) {
        case MG_REJECT:
            if (isMessageStage(stage) || stage == Stage::Data) {
                return {554, "5.7.1", "Message rejected by policy"};
            }
            if (stage == Stage::Connect) {
                return {554, "5.7.1", "Connection rejected by policy"};
            }
            return {550, "5.7.1", "Rejected by policy"};
        case MG_TEMPFAIL:
            return {451, "4.7.1", "Temporarily rejected by policy, try again later"};
        case MG_DISCONNECT:
            return {421, "4.7.0", "Closing connection by policy"};
        default:
            return {250, "2.0.0", "Ok"};
    }
}

FilterChain::FilterChain(plugin::PluginList plugins) : plugins_(std::move(plugins)) {
    for (size_t stage = 0; stage < kStageCount; ++stage) {
        for (const auto& plugin : plugins_) {
            if (hookFor(plugin->descriptor(), static_cast<Stage>(stage)) != nullptr) {
                hooked_[stage] = true;
            }
        }
    }
}

// One plugin's answer as a decision; nullopt when it continued (ask the next one).
awaitable<std::optional<Decision>> FilterChain::ask(size_t index, mg_hook hook, Stage stage,
                                                    ChainContext& context) const {
    const plugin::LoadedPlugin& plugin = *plugins_[index];
    const ops::metrics::Stopwatch hook_time;
    const CallResult result = co_await callHook(plugin, index, hook, stage, context.state,
                                                context.executor, context.keep_alive);
    ops::metrics::pluginVerdict(plugin.name(), static_cast<int>(stage), result.verdict,
                                hook_time.elapsed());
    Decision decision;
    if (result.verdict == MG_ERROR) {
        decision = onErrorDecision(plugin, stage);
        ops::logLine(ops::LogLevel::Error, sessionId(context.state),
                     "plugin " + plugin.name() + " " + result.failure + " at " + stageName(stage) +
                         "; on_error: " + onErrorName(plugin.settings().on_error));
    } else {
        decision.verdict = result.verdict;
        decision.plugin = plugin.name();
        decision.reply = result.reply && replyFits(*result.reply, result.verdict)
                             ? *result.reply
                             : defaultReply(stage, result.verdict);
    }
    if (context.observer != nullptr) {
        (*context.observer)(plugin.name(), stage, decision.verdict, decision.reply, result.failure);
    }
    if (decision.verdict == MG_CONTINUE) {
        co_return std::nullopt;
    }
    co_return decision;
}

awaitable<Decision> FilterChain::run(Stage stage, ChainContext& context) const {
    for (size_t index = 0; index < plugins_.size(); ++index) {
        const mg_hook hook = hookFor(plugins_[index]->descriptor(), stage);
        if (hook == nullptr) {
            continue;
        }
        if (auto decision = co_await ask(index, hook, stage, context)) {
            co_return std::move(*decision);
        }
    }
    co_return Decision{};
}

awaitable<Decision> FilterChain::runBody(ChainContext& context, BodySource& body) const {
    for (size_t index = 0; index < plugins_.size(); ++index) {
        const mg_hook hook = plugins_[index]->descriptor().on_body_chunk;
        if (hook == nullptr) {
            continue;
        }
        body.rewind();
        for (std::string_view piece = body.next(); !piece.empty(); piece = body.next()) {
            context.state.body_chunk = piece;
            auto decision = co_await ask(index, hook, Stage::Body, context);
            context.state.body_chunk = {};
            if (decision) {
                co_return std::move(*decision);
            }
        }
    }
    co_return Decision{};
}

awaitable<void> FilterChain::notify(Stage stage, ChainContext& context) const {
    for (size_t index = 0; index < plugins_.size(); ++index) {
        const mg_hook hook = hookFor(plugins_[index]->descriptor(), stage);
        if (hook != nullptr) {
            const CallResult result =
                co_await callHook(*plugins_[index], index, hook, stage, context.state,
                                  context.executor, context.keep_alive);
            if (result.verdict == MG_ERROR) {
                ops::logLine(ops::LogLevel::Error, sessionId(context.state),
                             "plugin " + plugins_[index]->name() + " " + result.failure + " at " +
                                 stageName(stage));
            }
        }
    }
}

}  // namespace mailgate::filter
