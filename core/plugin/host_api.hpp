#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <mailgate/plugin.h>

#include "core/filter/stage.hpp"
#include "core/plugin/session_state.hpp"
#include "core/smtp/reply.hpp"

namespace mailgate::plugin {
class LoadedPlugin;

enum class CallStatus {
    Running,    // the hook has not returned yet
    Pending,    // it returned MG_PENDING; complete() has not come yet
    Done,       // the verdict is known
    Abandoned,  // the host stopped waiting (timeout, client gone); later results are dropped
};
}  // namespace mailgate::plugin

// One call of one plugin hook: what an opaque mg_session* points to. Defined in the global
// namespace because plugin.h declares it there. The host functions lock `mutex` and reach the
// session only while `state` is set: the host clears it when the call is over or abandoned, so
// a plugin thread that outlives its call can never touch a session that moved on.
struct mg_session {
    mg_session(mailgate::plugin::SessionState* state_in,
               const mailgate::plugin::LoadedPlugin* plugin_in, size_t plugin_index_in,
               mailgate::filter::Stage stage_in, bool keep_strings_in);
    ~mg_session();
    mg_session(const mg_session&) = delete;
    mg_session& operator=(const mg_session&) = delete;

    std::mutex mutex;
    mailgate::plugin::SessionState* state;
    const mailgate::plugin::LoadedPlugin* const plugin;  // null in unit tests
    const size_t plugin_index;                           // its place in the chain: data slot
    const mailgate::filter::Stage stage;
    std::optional<mailgate::smtp::Reply> reply;  // set by the plugin through set_reply

    // Strings handed to the plugin while the session may move on (worker threads, pending
    // calls) are copies kept here, valid as long as the call.
    bool keep_strings;
    std::deque<std::string> kept;

    mailgate::plugin::CallStatus status = mailgate::plugin::CallStatus::Running;
    int result = MG_CONTINUE;
    bool completed_early = false;            // complete() came before the hook returned MG_PENDING
    std::function<void()> wake;              // tells the waiting session the verdict is known
    std::shared_ptr<mg_session> self;        // keeps a pending call alive until complete()
    std::shared_ptr<const void> keep_alive;  // the plugin's library, while a call may run
    mailgate::plugin::PluginDataSlots detached;  // the plugin's data after a timeout

    // Returns `text` as an mg_str that lives as long as the caller may use it.
    mg_str give(std::string_view text);
};

namespace mailgate::plugin {

// The table of host services handed to every plugin; lives for the whole process.
const mg_host* hostTable();

// Calls of plugin hooks that are still alive (running, pending, or not yet released).
size_t liveCalls();

// Where complete() hands the last references to finished calls, so that they are dropped on a
// host thread (the worker pool) rather than on the plugin's own. Without one they are dropped
// where they are (tests).
using CallReleaser = void (*)(std::shared_ptr<mg_session>);
void setCallReleaser(CallReleaser releaser);

// Names the plugin whose create() runs on this thread, so that its log lines (which have no
// session yet) say who logs.
class LoadingPluginScope {
  public:
    explicit LoadingPluginScope(std::string_view name);
    ~LoadingPluginScope();
    LoadingPluginScope(const LoadingPluginScope&) = delete;
    LoadingPluginScope& operator=(const LoadingPluginScope&) = delete;
};
std::string_view loadingPluginName();

}  // namespace mailgate::plugin
