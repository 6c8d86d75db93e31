#include "core/filter/chain.hpp"

#include "core/ops/log.hpp"

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
        case Stage::EndOfMessage:
            return descriptor.on_end_of_message;
    }
    return nullptr;
}

bool knownVerdict(int verdict) {
    return verdict >= MG_CONTINUE && verdict <= MG_DISCONNECT;
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

mg_verdict callHook(const plugin::LoadedPlugin& plugin, mg_hook hook, mg_session& session,
                    const char* stage) {
    int verdict = MG_TEMPFAIL;
    try {
        verdict = hook(plugin.instance(), &session);
    } catch (...) {
        ops::logLine(ops::LogLevel::Error, session.info ? session.info->id : "",
                     "plugin " + plugin.name() + " threw at " + stage + "; treated as tempfail");
        return MG_TEMPFAIL;
    }
    if (!knownVerdict(verdict)) {
        ops::logLine(ops::LogLevel::Error, session.info ? session.info->id : "",
                     "plugin " + plugin.name() + " returned unknown verdict " +
                         std::to_string(verdict) + " at " + stage + "; treated as tempfail");
        return MG_TEMPFAIL;
    }
    return static_cast<mg_verdict>(verdict);
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
        case Stage::EndOfMessage:
            return "end_of_message";
    }
    return "unknown";
}

smtp::Reply defaultReply(Stage stage, mg_verdict verdict) {
    switch (verdict) {
        case MG_REJECT:
            if (stage == Stage::EndOfMessage) {
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

FilterChain::FilterChain(plugin::PluginList plugins) : plugins_(std::move(plugins)) {}

Decision FilterChain::run(Stage stage, mg_session& session, const StageObserver* observer) const {
    for (size_t index = 0; index < plugins_.size(); ++index) {
        const auto& plugin = plugins_[index];
        const mg_hook hook = hookFor(plugin->descriptor(), stage);
        if (hook == nullptr) {
            continue;
        }
        session.plugin_name = plugin->name();
        session.plugin_index = index;
        session.reply.reset();
        const mg_verdict verdict = callHook(*plugin, hook, session, stageName(stage));
        Decision decision;
        decision.verdict = verdict;
        decision.plugin = plugin->name();
        decision.reply = session.reply && replyFits(*session.reply, verdict)
                             ? *session.reply
                             : defaultReply(stage, verdict);
        if (observer != nullptr) {
            (*observer)(plugin->name(), verdict, decision.reply);
        }
        if (verdict != MG_CONTINUE) {
            return decision;
        }
    }
    return {};
}

void FilterChain::close(mg_session& session) const {
    for (size_t index = 0; index < plugins_.size(); ++index) {
        const auto& plugin = plugins_[index];
        if (plugin->descriptor().on_close == nullptr) {
            continue;
        }
        session.plugin_name = plugin->name();
        session.plugin_index = index;
        callHook(*plugin, plugin->descriptor().on_close, session, "close");
    }
}

}  // namespace mailgate::filter
