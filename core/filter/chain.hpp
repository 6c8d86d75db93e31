#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <mailgate/plugin.h>

#include "core/filter/stage.hpp"
#include "core/net/asio.hpp"
#include "core/plugin/plugin_loader.hpp"
#include "core/plugin/session_state.hpp"
#include "core/smtp/reply.hpp"

namespace mailgate::filter {

// The outcome of one stage: the verdict that decided it (MG_CONTINUE when every plugin
// continued), the reply to give for reject/tempfail/disconnect, and which plugin decided.
struct Decision {
    mg_verdict verdict = MG_CONTINUE;
    smtp::Reply reply;
    std::string plugin;
};

// Told about every plugin's answer at a stage, for tracing (mailgate test). `failure` is empty,
// or says why the plugin's on_error policy decided instead of the plugin.
using StageObserver = std::function<void(const std::string& plugin, Stage stage, mg_verdict verdict,
                                         const smtp::Reply& reply, std::string_view failure)>;

// What a chain run needs from the session it runs for.
struct ChainContext {
    plugin::SessionState& state;
    asio::any_io_executor executor;           // the session's I/O thread
    std::shared_ptr<const void> keep_alive;   // the runtime owning the plugins
    const StageObserver* observer = nullptr;  // mailgate test
};

// The body of the message in pieces that end at line ends (MessagePieces underneath).
class BodySource {
  public:
    virtual ~BodySource() = default;
    virtual void rewind() = 0;
    // The next piece; empty at the end.
    virtual std::string_view next() = 0;
};

// Runs the loaded plugins in config order at each SMTP stage. Stateless between calls and
// shared by all sessions on all threads (plugins must be thread-safe, see plugin.h). Hooks of
// plugins that may block run on the worker pool; the session's coroutine waits for them (or for
// a pending hook's completion) up to the plugin's timeout without holding its I/O thread.
class FilterChain {
  public:
    explicit FilterChain(plugin::PluginList plugins);

    // Asks each plugin with a hook for `stage` until one returns something other than continue.
    // A plugin that fails (throws, times out, answers no valid verdict) is handled by its
    // on_error policy and logged.
    awaitable<Decision> run(Stage stage, ChainContext& context) const;
    // The body stage: each plugin with a body hook sees every piece in turn.
    awaitable<Decision> runBody(ChainContext& context, BodySource& body) const;
    // Calls every plugin's reset or close hook; verdicts are ignored.
    awaitable<void> notify(Stage stage, ChainContext& context) const;

    // Whether any plugin hooks `stage`; sessions skip a stage nobody hooks. Known at load.
    bool hasHook(Stage stage) const { return hooked_[static_cast<size_t>(stage)]; }
    size_t size() const { return plugins_.size(); }

  private:
    awaitable<std::optional<Decision>> ask(size_t index, mg_hook hook, Stage stage,
                                           ChainContext& context) const;

    plugin::PluginList plugins_;
    std::array<bool, kStageCount> hooked_{};
};

// The reply for a verdict when the plugin set none (or an invalid one).
smtp::Reply defaultReply(Stage stage, mg_verdict verdict);

}  // namespace mailgate::filter
