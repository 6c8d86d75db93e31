#include "core/plugin/host_edits.hpp"

#include <algorithm>
#include <string>

#include "core/ops/log.hpp"
#include "core/plugin/host_access.hpp"
#include "core/plugin/plugin_loader.hpp"
#include "core/smtp/command.hpp"
#include "core/smtp/message_headers.hpp"

namespace mailgate::plugin {
namespace {

using detail::fromMg;
using detail::withState;

constexpr size_t kMaxBodyLine = 998;  // RFC 5322 2.1.1, without the CRLF

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

const char* editName(uint32_t edit) {
    switch (edit) {
        case MG_EDIT_ADD_HEADER:
            return "MG_EDIT_ADD_HEADER";
        case MG_EDIT_CHANGE_HEADER:
            return "MG_EDIT_CHANGE_HEADER";
        case MG_EDIT_REPLACE_BODY:
            return "MG_EDIT_REPLACE_BODY";
        case MG_EDIT_CHANGE_SENDER:
            return "MG_EDIT_CHANGE_SENDER";
        case MG_EDIT_ADD_RCPT:
            return "MG_EDIT_ADD_RCPT";
        case MG_EDIT_DELETE_RCPT:
            return "MG_EDIT_DELETE_RCPT";
        default:
            return "an edit";
    }
}

std::string pluginName(const mg_session& call) {
    return call.plugin != nullptr ? call.plugin->name() : std::string("(test)");
}

void logEdit(const mg_session& call, const SessionState& state, ops::LogLevel level,
             const std::string& text) {
    const std::string line = "plugin " + pluginName(call) + ": " + text;
    if (state.edit_observer) {
        state.edit_observer(line);
    }
    if (ops::logEnabled(level)) {
        ops::logLine(level, state.info != nullptr ? state.info->id : std::string(), line);
    }
}

// Whether the call may make `edit` now; logs the refusal when not. `any_stage` lets add_header
// keep its ABI 1.0 rule: any time during a transaction.
bool mayEdit(const mg_session& call, const SessionState& state, uint32_t edit, const char* what,
             bool any_stage = false) {
    if (state.transaction == nullptr || (!any_stage && !filter::isMessageStage(call.stage))) {
        logEdit(call, state, ops::LogLevel::Warning,
                std::string(what) +
                    " refused: edits are made from on_headers to "
                    "on_end_of_message (called at " +
                    filter::stageName(call.stage) + ")");
        return false;
    }
    if (call.plugin != nullptr && (call.plugin->settings().edits & edit) == 0) {
        logEdit(call, state, ops::LogLevel::Warning,
                std::string(what) + " refused: the plugin did not declare " + editName(edit));
        return false;
    }
    return true;
}

// A mailbox as it would be accepted in RCPT TO (no source route, no parameters).
bool validMailbox(std::string_view address, bool smtputf8) {
    if (address.empty() || address.find_first_of("<>\r\n") != std::string_view::npos) {
        return false;
    }
    if (!smtputf8 && smtp::hasNonAscii(address)) {
        return false;
    }
    const smtp::Command command = smtp::parseCommand("RCPT TO:<" + std::string(address) + ">");
    return command.error == smtp::CommandError::None && command.params.empty() &&
           command.path.source_route.empty() && command.path.address == address;
}

std::vector<std::string>::iterator findRcpt(std::vector<std::string>& rcpts,
                                            std::string_view address) {
    return std::find_if(rcpts.begin(), rcpts.end(), [&](const std::string& rcpt) {
        return smtp::equalsIgnoreCase(rcpt, address);
    });
}

// CRLF lines of at most 998 octets, no NUL. Adds the final CRLF when missing.
bool normalizeBody(std::string_view body, std::string& out) {
    out.clear();
    out.reserve(body.size() + 2);
    size_t line_length = 0;
    for (size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c == '\0' || c == '\n') {
            return false;  // NUL, or a bare LF
        }
        if (c == '\r') {
            if (i + 1 >= body.size() || body[i + 1] != '\n') {
                return false;  // a bare CR
            }
            out += "\r\n";
            ++i;
            line_length = 0;
            continue;
        }
        if (++line_length > kMaxBodyLine) {
            return false;
        }
        out += c;
    }
    if (!out.empty() && !out.ends_with("\r\n")) {
        out += "\r\n";
    }
    return true;
}

bool validField(std::string_view name, std::string_view value) {
    return smtp::validHeaderName(name) && smtp::validHeaderValue(value);
}

}  // namespace

std::optional<smtp::Reply> replyFromPlugin(uint16_t code, std::string_view enhanced,
                                           std::string_view text) {
    if (code < 400 || code > 599 || !validReplyText(text) ||
        (!enhanced.empty() && !validEnhanced(enhanced, code))) {
        return std::nullopt;
    }
    std::string enhanced_code(enhanced);
    if (enhanced_code.empty()) {
        enhanced_code = code >= 500 ? "5.7.1" : "4.7.1";
    }
    return smtp::Reply(code, enhanced_code,
                       text.empty() ? std::string("Rejected by policy") : std::string(text));
}

int hostAddHeader(mg_session* call, mg_str name, mg_str value) {
    if (!validField(fromMg(name), fromMg(value))) {
        return -1;
    }
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_ADD_HEADER, "add_header", true)) {
            return -1;
        }
        s.transaction->headers.append(fromMg(name), fromMg(value));
        logEdit(c, s, ops::LogLevel::Info, "edit add_header " + std::string(fromMg(name)));
        return 0;
    });
}

int hostInsertHeader(mg_session* call, size_t index, mg_str name, mg_str value) {
    if (!validField(fromMg(name), fromMg(value))) {
        return -1;
    }
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_CHANGE_HEADER, "insert_header") ||
            !s.transaction->headers.insert(index, fromMg(name), fromMg(value))) {
            return -1;
        }
        logEdit(c, s, ops::LogLevel::Info,
                "edit insert_header " + std::string(fromMg(name)) + " at " + std::to_string(index));
        return 0;
    });
}

int hostChangeHeader(mg_session* call, mg_str name, size_t nth, mg_str value) {
    if (!validField(fromMg(name), fromMg(value))) {
        return -1;
    }
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_CHANGE_HEADER, "change_header") ||
            !s.transaction->headers.change(fromMg(name), nth, fromMg(value))) {
            return -1;
        }
        logEdit(c, s, ops::LogLevel::Info,
                "edit change_header " + std::string(fromMg(name)) + " #" + std::to_string(nth));
        return 0;
    });
}

int hostDeleteHeader(mg_session* call, mg_str name, size_t nth) {
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_CHANGE_HEADER, "delete_header") ||
            !s.transaction->headers.remove(fromMg(name), nth)) {
            return -1;
        }
        logEdit(c, s, ops::LogLevel::Info,
                "edit delete_header " + std::string(fromMg(name)) + " #" + std::to_string(nth));
        return 0;
    });
}

int hostReplaceBody(mg_session* call, mg_str body) {
    std::string normalized;
    if (!normalizeBody(fromMg(body), normalized)) {
        return -1;
    }
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_REPLACE_BODY, "replace_body") ||
            normalized.size() > s.max_message_size) {
            return -1;
        }
        logEdit(c, s, ops::LogLevel::Info,
                "edit replace_body (" + std::to_string(normalized.size()) + " octets)");
        s.transaction->replaced_body = std::move(normalized);
        return 0;
    });
}

int hostChangeSender(mg_session* call, mg_str address) {
    const std::string_view sender = fromMg(address);
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_CHANGE_SENDER, "change_sender") ||
            (!sender.empty() && !validMailbox(sender, s.transaction->smtputf8))) {
            return -1;
        }
        s.transaction->noteEnvelopeEdit();
        logEdit(c, s, ops::LogLevel::Info,
                "edit change_sender <" + s.transaction->mail_from + "> to <" + std::string(sender) +
                    ">");
        s.transaction->mail_from = sender;
        return 0;
    });
}

int hostAddRcpt(mg_session* call, mg_str address) {
    const std::string_view rcpt = fromMg(address);
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_ADD_RCPT, "add_rcpt") ||
            !validMailbox(rcpt, s.transaction->smtputf8)) {
            return -1;
        }
        auto& rcpts = s.transaction->rcpts;
        if (findRcpt(rcpts, rcpt) != rcpts.end() || rcpts.size() >= s.max_recipients) {
            return -1;
        }
        s.transaction->noteEnvelopeEdit();
        rcpts.emplace_back(rcpt);
        logEdit(c, s, ops::LogLevel::Info, "edit add_rcpt <" + std::string(rcpt) + ">");
        return 0;
    });
}

int hostDeleteRcpt(mg_session* call, mg_str address) {
    const std::string_view rcpt = fromMg(address);
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (!mayEdit(c, s, MG_EDIT_DELETE_RCPT, "delete_rcpt")) {
            return -1;
        }
        auto& rcpts = s.transaction->rcpts;
        const auto found = findRcpt(rcpts, rcpt);
        if (found == rcpts.end()) {
            return -1;
        }
        s.transaction->noteEnvelopeEdit();
        logEdit(c, s, ops::LogLevel::Info, "edit delete_rcpt <" + *found + ">");
        rcpts.erase(found);
        return 0;
    });
}

int hostRejectRcpt(mg_session* call, mg_str address, uint16_t code, mg_str enhanced, mg_str text) {
    auto reply = replyFromPlugin(code, fromMg(enhanced), fromMg(text));
    if (!reply) {
        return -1;
    }
    const std::string_view rcpt = fromMg(address);
    return withState(call, -1, [&](mg_session& c, SessionState& s) {
        if (s.transaction == nullptr || !filter::isMessageStage(c.stage)) {
            logEdit(c, s, ops::LogLevel::Warning,
                    std::string("reject_rcpt refused: it is used from on_headers to "
                                "on_end_of_message (called at ") +
                        filter::stageName(c.stage) + ")");
            return -1;
        }
        auto& rcpts = s.transaction->rcpts;
        const auto found = findRcpt(rcpts, rcpt);
        if (found == rcpts.end()) {
            return -1;
        }
        s.transaction->noteEnvelopeEdit();
        logEdit(c, s, ops::LogLevel::Info,
                "refused recipient <" + *found + ">: " + reply->summary());
        s.transaction->refused_rcpts.push_back({*found, std::move(*reply)});
        rcpts.erase(found);
        return 0;
    });
}

}  // namespace mailgate::plugin
