#include "core/plugin/host_api.hpp"

#include <cmath>
#include <string>

#include "core/ops/log.hpp"
#include "core/plugin/load_context.hpp"

namespace mailgate::plugin {
namespace {

mg_str toMg(std::string_view text) {
    return mg_str{text.data(), text.size()};
}
std::string_view fromMg(mg_str text) {
    return text.data == nullptr ? std::string_view{} : std::string_view{text.data, text.len};
}

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

void hostLog(mg_session* session, mg_log_level level, mg_str message) {
    const auto ops_level = toLevel(level);
    if (!ops::logEnabled(ops_level)) {
        return;
    }
    std::string line = "plugin ";
    std::string_view id;
    if (session != nullptr) {
        line += session->plugin_name;
        if (session->info != nullptr) {
            id = session->info->id;
        }
    } else {
        line += loadingPluginName();  // logging from create(), before any session
    }
    line += ": ";
    line += fromMg(message);
    ops::logLine(ops_level, id, line);
}

void hostConfigError(mg_load_context* load, const char* path, mg_str message) {
    if (load != nullptr) {
        load->errors.push_back(
            {path == nullptr ? std::string() : std::string(path), std::string(fromMg(message))});
    }
}

bool validEnhanced(std::string_view enhanced, int code) {
    // class.subject.detail with class matching the reply code's first digit
    if (enhanced.size() < 5 || enhanced[0] != static_cast<char>('0' + code / 100) ||
        enhanced[1] != '.') {
        return false;
    }
    int dots = 0;
    for (const char c : enhanced) {
        if (c == '.') {
            ++dots;
        } else if (c < '0' || c > '9') {
            return false;
        }
    }
    return dots == 2 && enhanced.back() != '.' && enhanced.find("..") == std::string_view::npos;
}

bool validReplyText(std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return false;
        }
    }
    return text.size() <= 400;
}

int hostSetReply(mg_session* session, uint16_t code, mg_str enhanced, mg_str text) {
    const std::string_view enhanced_text = fromMg(enhanced);
    const std::string_view reply_text = fromMg(text);
    if (session == nullptr || code < 400 || code > 599 || !validReplyText(reply_text) ||
        (!enhanced_text.empty() && !validEnhanced(enhanced_text, code))) {
        return -1;
    }
    std::string enhanced_code(enhanced_text);
    if (enhanced_code.empty()) {
        enhanced_code = code >= 500 ? "5.7.1" : "4.7.1";
    }
    session->reply = smtp::Reply(
        code, enhanced_code,
        reply_text.empty() ? std::string("Rejected by policy") : std::string(reply_text));
    return 0;
}

mg_str hostSessionId(mg_session* s) {
    return s && s->info ? toMg(s->info->id) : mg_str{};
}
mg_str hostClientAddress(mg_session* s) {
    return s && s->info ? toMg(s->info->client_ip) : mg_str{};
}
uint16_t hostClientPort(mg_session* s) {
    return s && s->info ? s->info->client_port : 0;
}
mg_str hostHelo(mg_session* s) {
    return s && s->info ? toMg(s->info->helo) : mg_str{};
}

mg_str hostMailFrom(mg_session* s) {
    return s && s->transaction ? toMg(s->transaction->mail_from) : mg_str{};
}
size_t hostRcptCount(mg_session* s) {
    return s && s->transaction ? s->transaction->rcpts.size() : 0;
}
mg_str hostRcptAt(mg_session* s, size_t index) {
    if (s == nullptr || s->transaction == nullptr || index >= s->transaction->rcpts.size()) {
        return mg_str{};
    }
    return toMg(s->transaction->rcpts[index]);
}
mg_str hostCurrentRcpt(mg_session* s) {
    return s ? toMg(s->current_rcpt) : mg_str{};
}

size_t hostHeaderCount(mg_session* s) {
    return s && s->transaction ? s->transaction->headers.fields.size() : 0;
}
int hostHeaderAt(mg_session* s, size_t index, mg_str* name, mg_str* value) {
    if (s == nullptr || s->transaction == nullptr ||
        index >= s->transaction->headers.fields.size()) {
        return -1;
    }
    const auto& field = s->transaction->headers.fields[index];
    if (name != nullptr) {
        *name = toMg(field.name);
    }
    if (value != nullptr) {
        *value = toMg(field.value);
    }
    return 0;
}
mg_str hostBody(mg_session* s) {
    if (s == nullptr || s->transaction == nullptr) {
        return mg_str{};
    }
    const std::string_view content = s->transaction->content.view();
    size_t start = s->transaction->headers.end;
    if (start > 0 && content.substr(start, 2) == "\r\n") {
        start += 2;  // skip the blank line between header and body
    }
    return toMg(content.substr(start));
}
int hostAddHeader(mg_session* s, mg_str name, mg_str value) {
    if (s == nullptr || s->transaction == nullptr || !smtp::validHeaderName(fromMg(name)) ||
        !smtp::validHeaderValue(fromMg(value))) {
        return -1;
    }
    s->transaction->added_headers.emplace_back(std::string(fromMg(name)),
                                               std::string(fromMg(value)));
    return 0;
}

mg_str hostLocalAddress(mg_session* s) {
    return s && s->info ? toMg(s->info->local_ip) : mg_str{};
}
uint16_t hostLocalPort(mg_session* s) {
    return s && s->info ? s->info->local_port : 0;
}

size_t hostMailParamCount(mg_session* s) {
    return s && s->transaction ? s->transaction->mail_params.size() : 0;
}
int hostMailParamAt(mg_session* s, size_t index, mg_str* keyword, mg_str* value) {
    if (s == nullptr || s->transaction == nullptr || index >= s->transaction->mail_params.size()) {
        return -1;
    }
    const auto& param = s->transaction->mail_params[index];
    if (keyword != nullptr) {
        *keyword = toMg(param.keyword);
    }
    if (value != nullptr) {
        *value = param.value ? toMg(*param.value) : mg_str{"", 0};
    }
    return 0;
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

int hostAddSymbol(mg_session* s, mg_str name, double score, mg_str description) {
    const std::string_view symbol_name = fromMg(name);
    if (s == nullptr || !validSymbolName(symbol_name) || !std::isfinite(score)) {
        return -1;
    }
    std::string text(fromMg(description).substr(0, 200));
    for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20) {
            c = ' ';  // descriptions end up in headers and logs: one line
        }
    }
    filter::Symbol symbol{std::string(symbol_name), score, std::move(text)};
    if (s->transaction != nullptr) {
        s->transaction->symbols.push_back(std::move(symbol));
    } else {
        s->connection_symbols.push_back(std::move(symbol));
    }
    return 0;
}
double hostScore(mg_session* s) {
    return s ? s->score() : 0.0;
}
size_t hostSymbolCount(mg_session* s) {
    return s ? s->symbolCount() : 0;
}
int hostSymbolAt(mg_session* s, size_t index, mg_str* name, double* score, mg_str* description) {
    if (s == nullptr || index >= s->symbolCount()) {
        return -1;
    }
    const filter::Symbol& symbol = s->symbolAt(index);
    if (name != nullptr) {
        *name = toMg(symbol.name);
    }
    if (score != nullptr) {
        *score = symbol.score;
    }
    if (description != nullptr) {
        *description = toMg(symbol.description);
    }
    return 0;
}

void hostSetSessionData(mg_session* s, void* data, void (*free_data)(void*)) {
    if (s != nullptr) {
        s->session_data.set(s->plugin_index, data, free_data);
    }
}
void* hostSessionData(mg_session* s) {
    return s ? s->session_data.get(s->plugin_index) : nullptr;
}
void hostSetTransactionData(mg_session* s, void* data, void (*free_data)(void*)) {
    if (s != nullptr) {
        s->transaction_data.set(s->plugin_index, data, free_data);
    }
}
void* hostTransactionData(mg_session* s) {
    return s ? s->transaction_data.get(s->plugin_index) : nullptr;
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
};

thread_local std::string_view t_loading_plugin;

}  // namespace

}  // namespace mailgate::plugin

size_t mg_session::symbolCount() const {
    return connection_symbols.size() + (transaction != nullptr ? transaction->symbols.size() : 0);
}

const mailgate::filter::Symbol& mg_session::symbolAt(size_t index) const {
    return index < connection_symbols.size()
               ? connection_symbols[index]
               : transaction->symbols[index - connection_symbols.size()];
}

double mg_session::score() const {
    double total = 0;
    for (size_t i = 0; i < symbolCount(); ++i) {
        total += symbolAt(i).score;
    }
    return total;
}

namespace mailgate::plugin {

const mg_host* hostTable() {
    return &kHostTable;
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
