#include "core/plugin/host_api.hpp"

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

const mg_host kHostTable = {
    sizeof(mg_host), MAILGATE_ABI_VERSION, hostLog,         hostConfigError, hostSetReply,
    hostSessionId,   hostClientAddress,    hostClientPort,  hostHelo,        hostMailFrom,
    hostRcptCount,   hostRcptAt,           hostCurrentRcpt, hostHeaderCount, hostHeaderAt,
    hostBody,        hostAddHeader,
};

thread_local std::string_view t_loading_plugin;

}  // namespace

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
