#pragma once

#include <functional>
#include <string>

#include <mailgate/plugin.h>

#include "core/plugin/host_api.hpp"
#include "core/plugin/plugin_loader.hpp"
#include "core/smtp/reply.hpp"

namespace mailgate::filter {

enum class Stage { Connect, Helo, MailFrom, RcptTo, EndOfMessage };

const char* stageName(Stage stage);

// The outcome of one stage: the verdict that decided it (MG_CONTINUE when every plugin
// continued), the reply to give for reject/tempfail/disconnect, and which plugin decided.
struct Decision {
    mg_verdict verdict = MG_CONTINUE;
    smtp::Reply reply;
    std::string plugin;
};

// Told about every plugin's answer at a stage, for tracing (mailgate test).
using StageObserver =
    std::function<void(const std::string& plugin, mg_verdict verdict, const smtp::Reply& reply)>;

// Runs the loaded plugins in config order at each SMTP stage. Stateless between calls and
// shared by all sessions on all threads (plugins must be thread-safe, see plugin.h).
class FilterChain {
  public:
    explicit FilterChain(plugin::PluginList plugins);

    // Asks each plugin with a hook for `stage` until one returns something other than continue.
    // A plugin that throws or returns an unknown verdict is treated as tempfail and logged.
    Decision run(Stage stage, mg_session& session, const StageObserver* observer = nullptr) const;
    // Calls every plugin's close hook; verdicts are ignored.
    void close(mg_session& session) const;

    size_t size() const { return plugins_.size(); }

  private:
    plugin::PluginList plugins_;
};

// The reply for a verdict when the plugin set none (or an invalid one).
smtp::Reply defaultReply(Stage stage, mg_verdict verdict);

}  // namespace mailgate::filter
