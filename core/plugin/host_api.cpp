// The host table: session facts, replies, symbols, private data and completion of pending hooks.
// The edits live in host_edits.cpp.
#include "core/plugin/host_api.hpp"

#include <cmath>
#include <string>

#include "core/ops/log.hpp"
#include "core/plugin/host_access.hpp"
#include "core/plugin/host_edits.hpp"
#include "core/plugin/load_context.hpp"
#include "core/plugin/plugin_loader.hpp"

namespace mailgate::plugin {
namespace {

using detail::fromMg;
using detail::withState;

std::atomic<size_t> g_live_calls{0};
std::atomic<CallReleaser> g_call_releaser{nullptr};

void releaseCall(std::shared_ptr<mg_session> call) {
    if (const CallReleaser releaser = g_call_releaser.load(std::memory_order_acquire)) {
        releaser(std::move(call));
    }
}

const mg_str kEmpty{"", 0};

ops::LogLevel toLevel(mg_log_level level) {
    switch (level) {
        case MG_LOG_DEBUG:
            return ops::LogLevel::Debug;
        case MG_LOG_WARNING:
            return ops::LogLevel::Warning;
        case MG_LOG_ERROR:
            return ops::LogLevel::Error;
        case MG_LOG_INFO:
            break;
    }
    return ops::LogLevel::Info;
}

void hostLog(mg_session* call, mg_log_level level, mg_str message) {
    const auto ops_level = toLevel(level);
    if (!ops::logEnabled(ops_level)) {
        return;
    }
    std::string line = "plugin ";
    if (call != nullptr && call->plugin != nullptr) {
        line += call->plugin->name();
    } else if (call == nullptr) {
        line += loadingPluginName();  // logging from create(), before any session
    }
    line += ": ";
    line += fromMg(message);
    ops::logLine(ops_level, detail::sessionIdOf(call), line);
}

int hostLogEnabled(mg_session*, mg_log_level level) {
    return ops::logEnabled(toLevel(level)) ? 1 : 0;
}

void hostConfigError(mg_load_context* load, const char* path, mg_str message) {
    if (load != nullptr) {
        load->errors.push_back(
            {path == nullptr ? std::string() : std::string(path), std::string(fromMg(message))});
    }
}

int hostSetReply(mg_session* call, uint16_t code, mg_str enhanced, mg_str text) {
    auto reply = replyFromPlugin(code, fromMg(enhanced), fromMg(text));
    if (!reply) {
        return -1;
    }
    return withState(call, -1, [&](mg_session& c, SessionState&) {
        c.reply = std::move(*reply);
        return 0;
    });
}

// Session facts: copies when the session may move on while the plugin reads them.
mg_str hostSessionId(mg_session* call) {
    return withState(call, kEmpty,
                     [](mg_session& c, SessionState& s) { return c.give(s.info->id); });
}
mg_str hostClientAddress(mg_session* call) {
    return withState(call, kEmpty,
                     [](mg_session& c, SessionState& s) { return c.give(s.info->client_ip); });
}
uint16_t hostClientPort(mg_session* call) {
    return withState(call, uint16_t{0},
                     [](mg_session&, SessionState& s) { return s.info->client_port; });
}
mg_str hostHelo(mg_session* call) {
    return withState(call, kEmpty,
                     [](mg_session& c, SessionState& s) { return c.give(s.info->helo); });
}
mg_str hostLocalAddress(mg_session* call) {
    return withState(call, kEmpty,
                     [](mg_session& c, SessionState& s) { return c.give(s.info->local_ip); });
}
uint16_t hostLocalPort(mg_session* call) {
    return withState(call, uint16_t{0},
                     [](mg_session&, SessionState& s) { return s.info->local_port; });
}
int hostTls(mg_session* call) {
    return withState(call, 0, [](mg_session&, SessionState& s) { return s.info->tls ? 1 : 0; });
}
mg_str hostAuthIdentity(mg_session* call) {
    return withState(call, kEmpty,
                     [](mg_session& c, SessionState& s) { return c.give(s.info->auth_identity); });
}

mg_str hostMailFrom(mg_session* call) {
    return withState(call, kEmpty, [](mg_session& c, SessionState& s) {
        return s.transaction ? c.give(s.transaction->mail_from) : kEmpty;
    });
}
size_t hostRcptCount(mg_session* call) {
    return withState(call, size_t{0}, [](mg_session&, SessionState& s) {
        return s.transaction ? s.transaction->rcpts.size() : 0;
    });
}
mg_str hostRcptAt(mg_session* call, size_t index) {
    return withState(call, kEmpty, [&](mg_session& c, SessionState& s) {
        return s.transaction && index < s.transaction->rcpts.size()
                   ? c.give(s.transaction->rcpts[index])
                   : kEmpty;
    });
}
mg_str hostCurrentRcpt(mg_session* call) {
    return withState(call, kEmpty,
                     [](mg_session& c, SessionState& s) { return c.give(s.current_rcpt); });
}
size_t hostMailParamCount(mg_session* call) {
    return withState(call, size_t{0}, [](mg_session&, SessionState& s) {
        return s.transaction ? s.transaction->mail_params.size() : 0;
    });
}
int hostMailParamAt(mg_session* call, size_t index, mg_str* keyword, mg_str* value) {
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (s.transaction == nullptr || index >= s.transaction->mail_params.size()) {
            return -1;
        }
        const auto& param = s.transaction->mail_params[index];
        if (keyword != nullptr) {
            *keyword = c.give(param.keyword);
        }
        if (value != nullptr) {
            *value = param.value ? c.give(*param.value) : kEmpty;
        }
        return 0;
    });
}

// The message, from on_headers on (the header view is empty before).
size_t hostHeaderCount(mg_session* call) {
    return withState(call, size_t{0}, [](mg_session&, SessionState& s) {
        return s.transaction ? s.transaction->headers.size() : 0;
    });
}
int hostHeaderAt(mg_session* call, size_t index, mg_str* name, mg_str* value) {
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (s.transaction == nullptr || index >= s.transaction->headers.size()) {
            return -1;
        }
        const smtp::HeaderField field = s.transaction->headers.at(index);
        if (name != nullptr) {
            *name = c.give(field.name);
        }
        if (value != nullptr) {
            *value = c.give(field.value);
        }
        return 0;
    });
}
mg_str hostBody(mg_session* call) {
    return withState(call, kEmpty, [](mg_session& c, SessionState& s) {
        if (s.transaction == nullptr || !filter::isMessageStage(c.stage)) {
            return kEmpty;
        }
        filter::Transaction& transaction = *s.transaction;
        if (transaction.replaced_body) {
            return c.give(*transaction.replaced_body);
        }
        const std::string_view content = transaction.content.view();
        return c.give(content.substr(std::min<uint64_t>(transaction.bodyOffset(), content.size())));
    });
}
mg_str hostBodyChunk(mg_session* call) {
    return withState(call, kEmpty,
                     [](mg_session& c, SessionState& s) { return c.give(s.body_chunk); });
}
uint64_t hostMessageSize(mg_session* call) {
    return withState(call, uint64_t{0}, [](mg_session& c, SessionState& s) {
        return s.transaction && filter::isMessageStage(c.stage) ? s.transaction->received_size : 0;
    });
}

bool validSymbolName(std::string_view name) {
    if (name.empty() || name.size() > 64) {
        return false;
    }
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f) {
            return false;
        }
    }
    return true;
}

int hostAddSymbol(mg_session* call, mg_str name, double score, mg_str description) {
    const std::string_view symbol_name = fromMg(name);
    if (!validSymbolName(symbol_name) || !std::isfinite(score)) {
        return -1;
    }
    std::string text(fromMg(description).substr(0, 200));
    for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20) {
            c = ' ';  // descriptions end up in headers and logs: one line
        }
    }
    filter::Symbol symbol{std::string(symbol_name), score, std::move(text)};
    return withState(call, -1, [&](mg_session&, SessionState& s) {
        if (s.transaction != nullptr) {
            s.transaction->symbols.push_back(std::move(symbol));
        } else {
            s.connection_symbols.push_back(std::move(symbol));
        }
        return 0;
    });
}
double hostScore(mg_session* call) {
    return withState(call, 0.0, [](mg_session&, SessionState& s) { return s.score(); });
}
size_t hostSymbolCount(mg_session* call) {
    return withState(call, size_t{0}, [](mg_session&, SessionState& s) { return s.symbolCount(); });
}
int hostSymbolAt(mg_session* call, size_t index, mg_str* name, double* score, mg_str* description) {
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (index >= s.symbolCount()) {
            return -1;
        }
        const filter::Symbol& symbol = s.symbolAt(index);
        if (name != nullptr) {
            *name = c.give(symbol.name);
        }
        if (score != nullptr) {
            *score = symbol.score;
        }
        if (description != nullptr) {
            *description = c.give(symbol.description);
        }
        return 0;
    });
}

// Data handed over after the call is over is freed at once: nobody would ever free it.
void setData(mg_session* call, PluginDataSlots SessionState::*slots, void* data,
             void (*free_data)(void*)) {
    const bool taken = withState(call, false, [&](mg_session& c, SessionState& s) {
        (s.*slots).set(c.plugin_index, data, free_data);
        return true;
    });
    if (!taken && data != nullptr && free_data != nullptr) {
        free_data(data);
    }
}
void hostSetSessionData(mg_session* call, void* data, void (*free_data)(void*)) {
    setData(call, &SessionState::session_data, data, free_data);
}
void* hostSessionData(mg_session* call) {
    return withState(call, static_cast<void*>(nullptr), [](mg_session& c, SessionState& s) {
        return s.session_data.get(c.plugin_index);
    });
}
void hostSetTransactionData(mg_session* call, void* data, void (*free_data)(void*)) {
    setData(call, &SessionState::transaction_data, data, free_data);
}
void* hostTransactionData(mg_session* call) {
    return withState(call, static_cast<void*>(nullptr), [](mg_session& c, SessionState& s) {
        return s.transaction_data.get(c.plugin_index);
    });
}

int hostComplete(mg_session* call, mg_verdict verdict) {
    const int value = static_cast<int>(verdict);
    if (call == nullptr || value < MG_CONTINUE || value > MG_ERROR || value == MG_PENDING) {
        return -1;
    }
    std::shared_ptr<mg_session> keep;  // released last: it may own the call
    std::function<void()> wake;
    int answer = 0;
    {
        const std::lock_guard lock(call->mutex);
        if (call->completed_early || call->status == CallStatus::Done) {
            return -1;  // completed twice
        }
        switch (call->status) {
            case CallStatus::Running:
                call->completed_early = true;  // the hook is about to return MG_PENDING
                call->result = value;
                return 0;
            case CallStatus::Pending:
                call->status = CallStatus::Done;
                call->result = value;
                wake = call->wake;
                keep = std::move(call->self);
                break;
            case CallStatus::Abandoned:
                // The host gave up; the hook may even still be running.
                call->completed_early = true;
                keep = std::move(call->self);
                answer = -2;
                break;
            case CallStatus::Done:
                return -1;
        }
    }
    if (wake) {
        wake();
    }
    if (keep) {
        // Never drop the last reference on the plugin's own thread: it may hold the last
        // reference to the plugin's library, which must not be unloaded under this call.
        releaseCall(std::move(keep));
    }
    return answer;
}

const mg_host kHostTable = {
    sizeof(mg_host),
    MAILGATE_ABI_VERSION,
    hostLog,
    hostConfigError,
    hostSetReply,
    hostSessionId,
    hostClientAddress,
    hostClientPort,
    hostHelo,
    hostMailFrom,
    hostRcptCount,
    hostRcptAt,
    hostCurrentRcpt,
    hostHeaderCount,
    hostHeaderAt,
    hostBody,
    hostAddHeader,
    // ABI 1.1
    hostLocalAddress,
    hostLocalPort,
    hostMailParamCount,
    hostMailParamAt,
    hostAddSymbol,
    hostScore,
    hostSymbolCount,
    hostSymbolAt,
    hostSetSessionData,
    hostSessionData,
    hostSetTransactionData,
    hostTransactionData,
    // ABI 1.2
    hostComplete,
    hostTls,
    hostAuthIdentity,
    hostBodyChunk,
    hostMessageSize,
    hostInsertHeader,
    hostChangeHeader,
    hostDeleteHeader,
    hostReplaceBody,
    hostChangeSender,
    hostAddRcpt,
    hostDeleteRcpt,
    hostRejectRcpt,
    // ABI 1.3
    hostLogEnabled,
};

thread_local std::string_view t_loading_plugin;

}  // namespace

namespace detail {

std::string sessionIdOf(mg_session* call) {
    return withState(call, std::string(),
                     [](mg_session&, SessionState& s) { return std::string(s.logId()); });
}

}  // namespace detail

size_t SessionState::symbolCount() const {
    return connection_symbols.size() + (transaction != nullptr ? transaction->symbols.size() : 0);
}

const filter::Symbol& SessionState::symbolAt(size_t index) const {
    return index < connection_symbols.size()
               ? connection_symbols[index]
               : transaction->symbols[index - connection_symbols.size()];
}

double SessionState::score() const {
    double total = 0;
    for (size_t i = 0; i < symbolCount(); ++i) {
        total += symbolAt(i).score;
    }
    return total;
}

std::string_view SessionState::logId() const {
    if (transaction != nullptr && !transaction->id.empty()) {
        return transaction->id;
    }
    return info != nullptr ? std::string_view(info->id) : std::string_view();
}

const mg_host* hostTable() {
    return &kHostTable;
}

void setCallReleaser(CallReleaser releaser) {
    g_call_releaser.store(releaser, std::memory_order_release);
}

size_t liveCalls() {
    return g_live_calls.load(std::memory_order_acquire);
}

std::string_view loadingPluginName() {
    return t_loading_plugin;
}

LoadingPluginScope::LoadingPluginScope(std::string_view name) {
    t_loading_plugin = name;
}

LoadingPluginScope::~LoadingPluginScope() {
    t_loading_plugin = {};
}

}  // namespace mailgate::plugin

mg_session::mg_session(mailgate::plugin::SessionState* state_in,
                       const mailgate::plugin::LoadedPlugin* plugin_in, size_t plugin_index_in,
                       mailgate::filter::Stage stage_in, bool keep_strings_in)
    : state(state_in),
      plugin(plugin_in),
      plugin_index(plugin_index_in),
      stage(stage_in),
      keep_strings(keep_strings_in) {
    mailgate::plugin::g_live_calls.fetch_add(1, std::memory_order_relaxed);
}

mg_session::~mg_session() {
    mailgate::plugin::g_live_calls.fetch_sub(1, std::memory_order_release);
}

mg_str mg_session::give(std::string_view text) {
    if (!keep_strings) {
        return mg_str{text.data(), text.size()};
    }
    const std::string& copy = kept.emplace_back(text);
    return mg_str{copy.data(), copy.size()};
}
