#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <mailgate/plugin.h>

#include "core/filter/stage.hpp"
#include "core/net/asio.hpp"
#include "core/plugin/plugin_loader.hpp"
#include "core/plugin/session_state.hpp"
#include "core/smtp/reply.hpp"

namespace mailgate::filter {

// What one hook call came to.
struct CallResult {
    mg_verdict verdict = MG_CONTINUE;
    std::optional<smtp::Reply> reply;  // set by the plugin
    std::string failure;  // empty, or why the verdict is not the plugin's (threw, timed out, ...)
};

// Calls `hook` of `plugin` for one session: inline, or on the worker pool, then waits for the
// verdict (a pending hook's completion included) up to the plugin's timeout. Never throws;
// a failure comes back as MG_ERROR with `failure` saying why.
awaitable<CallResult> callHook(const plugin::LoadedPlugin& plugin, size_t index, mg_hook hook,
                               Stage stage, plugin::SessionState& state,
                               asio::any_io_executor executor,
                               std::shared_ptr<const void> keep_alive);

// The worker pool for plugins that may block. Started by the server with the configured size;
// started with a default size on first use otherwise (tests, mailgate test).
void startWorkerPool(unsigned threads);
// The pool itself; the AUTH password checks run on it too (a crypt(3) hash takes milliseconds).
asio::thread_pool& workerPool();
// Waits up to `timeout` until no hook call is alive, then stops the pool. False when calls are
// still running (a plugin stuck in a hook): the caller must not unload the plugins then.
bool stopWorkerPool(std::chrono::milliseconds timeout);

}  // namespace mailgate::filter
