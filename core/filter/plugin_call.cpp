#include "core/filter/plugin_call.hpp"

#include <mutex>
#include <thread>

#include "core/plugin/host_api.hpp"

namespace mailgate::filter {
namespace {

using plugin::CallStatus;

constexpr unsigned kDefaultWorkers = 8;  // as config::Config::plugin_workers
constexpr int kThrew = -1000;            // not a verdict: the hook threw

std::mutex g_pool_mutex;
std::unique_ptr<asio::thread_pool> g_pool;

void releaseOnWorker(std::shared_ptr<mg_session> call);

// Under g_pool_mutex.
void createPool(unsigned threads) {
    g_pool = std::make_unique<asio::thread_pool>(threads == 0 ? kDefaultWorkers : threads);
    plugin::setCallReleaser(&releaseOnWorker);
}

void releaseOnWorker(std::shared_ptr<mg_session> call) {
    const std::lock_guard lock(g_pool_mutex);
    if (g_pool) {
        asio::post(*g_pool, [call = std::move(call)]() mutable { call.reset(); });
    }
}

bool knownVerdict(int verdict, bool knows_new_verdicts) {
    const int last = knows_new_verdicts ? MG_ERROR : MG_DISCONNECT;
    return verdict >= MG_CONTINUE && verdict <= last;
}

// Runs the hook on whatever thread this is and records its outcome in the call.
void runHook(const std::shared_ptr<mg_session>& call, mg_hook hook, void* instance,
             bool knows_pending) {
    int verdict = kThrew;
    try {
        verdict = hook(instance, call.get());
    } catch (...) {
        verdict = kThrew;  // C hooks cannot throw; a broken one still must not take us down
    }
    std::function<void()> wake;
    {
        const std::lock_guard lock(call->mutex);
        if (verdict == MG_PENDING && knows_pending) {
            if (call->completed_early) {
                call->status = call->status == CallStatus::Abandoned ? CallStatus::Abandoned
                                                                     : CallStatus::Done;
            } else {
                if (call->status != CallStatus::Abandoned) {
                    call->status = CallStatus::Pending;
                }
                call->keep_strings = true;  // the session may move on while it is pending
                call->self = call;          // alive until complete()
                return;
            }
        } else if (call->status != CallStatus::Abandoned) {
            call->status = CallStatus::Done;
            call->result = verdict;
        }
        if (call->status == CallStatus::Done) {
            wake = call->wake;  // empty unless the session is already waiting
        }
    }
    if (wake) {
        wake();
    }
}

std::string describeFailure(int verdict) {
    if (verdict == kThrew) {
        return "threw an exception";
    }
    if (verdict == MG_ERROR) {
        return "reported an error";
    }
    return "returned an invalid verdict " + std::to_string(verdict);
}

// However the waiting coroutine ends (also destroyed mid-wait when the I/O loop stops), the call
// loses its way into the session and nobody wakes a timer that is gone.
class CallGuard {
  public:
    explicit CallGuard(std::shared_ptr<mg_session> call) : call_(std::move(call)) {}
    ~CallGuard() {
        const std::lock_guard lock(call_->mutex);
        call_->state = nullptr;
        call_->wake = nullptr;
        if (call_->status != CallStatus::Done) {
            call_->status = CallStatus::Abandoned;
        }
    }
    CallGuard(const CallGuard&) = delete;
    CallGuard& operator=(const CallGuard&) = delete;

  private:
    std::shared_ptr<mg_session> call_;
};

}  // namespace

asio::thread_pool& workerPool() {
    const std::lock_guard lock(g_pool_mutex);
    if (!g_pool) {
        createPool(kDefaultWorkers);
    }
    return *g_pool;
}

awaitable<CallResult> callHook(const plugin::LoadedPlugin& plugin, size_t index, mg_hook hook,
                               Stage stage, plugin::SessionState& state,
                               asio::any_io_executor executor,
                               std::shared_ptr<const void> keep_alive) {
    const plugin::PluginSettings& settings = plugin.settings();
    auto call = std::make_shared<mg_session>(&state, &plugin, index, stage, settings.on_workers);
    call->keep_alive = std::move(keep_alive);
    const CallGuard guard(call);
    if (settings.on_workers) {
        asio::post(workerPool(),
                   [call, hook, instance = plugin.instance(), knows = settings.knows_new_verdicts] {
                       runHook(call, hook, instance, knows);
                   });
    } else {
        runHook(call, hook, plugin.instance(), settings.knows_new_verdicts);
    }

    // Most inline hooks are done here already: no timer for them. Otherwise whoever finishes
    // the call (a worker, complete()) wakes us through `wake`, set under the lock so that either
    // it sees the wake or we see the verdict.
    std::shared_ptr<asio::steady_timer> timer;
    bool finished = false;
    {
        const std::lock_guard lock(call->mutex);
        finished = call->status == CallStatus::Done;
        if (!finished) {
            timer = std::make_shared<asio::steady_timer>(executor, settings.timeout);
            call->wake = [executor, weak_timer = std::weak_ptr(timer)] {
                asio::post(executor, [weak_timer] {
                    if (auto waiting = weak_timer.lock()) {
                        waiting->cancel();
                    }
                });
            };
        }
    }
    if (!finished) {
        co_await timer->async_wait(use_nothrow);
    }

    CallResult result;
    const std::lock_guard lock(call->mutex);
    call->state = nullptr;  // from now on the plugin cannot reach the session
    call->wake = nullptr;
    if (call->status != CallStatus::Done) {
        call->status = CallStatus::Abandoned;
        // The plugin may still use its data on the thread that is stuck: it is freed when that
        // call ends, and the session goes on with empty slots for this plugin.
        state.session_data.moveTo(index, call->detached);
        state.transaction_data.moveTo(index, call->detached);
        result.verdict = MG_ERROR;
        result.failure =
            "did not answer within " + std::to_string(settings.timeout.count()) + " ms";
        co_return result;
    }
    if (!knownVerdict(call->result, settings.knows_new_verdicts) || call->result == MG_ERROR ||
        call->result == MG_PENDING) {
        result.verdict = MG_ERROR;
        result.failure = describeFailure(call->result);
        co_return result;
    }
    result.verdict = static_cast<mg_verdict>(call->result);
    result.reply = call->reply;
    co_return result;
}

void startWorkerPool(unsigned threads) {
    const std::lock_guard lock(g_pool_mutex);
    if (!g_pool) {
        createPool(threads);
    }
}

bool stopWorkerPool(std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (plugin::liveCalls() > 0 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (plugin::liveCalls() > 0) {
        return false;
    }
    std::unique_ptr<asio::thread_pool> pool;
    {
        const std::lock_guard lock(g_pool_mutex);
        plugin::setCallReleaser(nullptr);
        pool = std::move(g_pool);
    }
    if (pool) {
        pool->join();
    }
    return true;
}

}  // namespace mailgate::filter
