#include "core/ops/message_summary.hpp"

#include <cstdio>

namespace mailgate::ops {
namespace {

std::string scoreText(double score) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", score);
    return text;
}

void appendJsonOptional(std::string& out, std::string_view key, std::string_view value) {
    out += ",\"";
    out += key;
    out += "\":";
    if (value.empty()) {
        out += "null";
    } else {
        appendJsonString(out, value, 2048);
    }
}

void appendJsonNumber(std::string& out, std::string_view key, std::string_view number) {
    out += ",\"";
    out += key;
    out += "\":";
    out += number;
}

void appendJson(std::string& out, const MessageSummary& s) {
    out += ",\"event\":\"message\"";
    appendJsonOptional(out, "id", s.id);
    appendJsonOptional(out, "client", s.client);
    appendJsonOptional(out, "helo", s.helo);
    out += ",\"from\":";
    appendJsonString(out, s.from, 2048);  // "" is the null sender, not a missing value
    out += ",\"to\":[";
    for (size_t i = 0; i < s.to.size(); ++i) {
        out += i == 0 ? "" : ",";
        appendJsonString(out, s.to[i], 2048);
    }
    out += ']';
    appendJsonNumber(out, "size", std::to_string(s.size));
    appendJsonOptional(out, "outcome", s.outcome);
    appendJsonOptional(out, "decided_by", s.decided_by);
    if (!s.refused.empty()) {
        out += ",\"refused\":[";
        for (size_t i = 0; i < s.refused.size(); ++i) {
            out += i == 0 ? "" : ",";
            appendJsonString(out, s.refused[i], 2048);
        }
        out += ']';
    }
    if (s.scored) {
        appendJsonNumber(out, "score", scoreText(s.score));
        out += ",\"symbols\":[";
        for (size_t i = 0; i < s.symbols.size(); ++i) {
            out += i == 0 ? "{\"name\":" : ",{\"name\":";
            appendJsonString(out, s.symbols[i].name, 256);
            out += ",\"score\":" + scoreText(s.symbols[i].score) + "}";
        }
        out += ']';
    }
    appendJsonOptional(out, "reply", s.reply);
    appendJsonNumber(out, "duration_ms", std::to_string(s.duration_ms));
}

// Text values are sanitized like every log line (controls shown as \xNN).
void appendText(std::string& out, const MessageSummary& s) {
    auto value = [&out](std::string_view text) {
        appendSanitized(out, text.empty() ? "-" : text, 2048);
    };
    out += " message id=";
    value(s.id);
    out += " client=";
    value(s.client);
    out += " helo=";
    value(s.helo);
    out += " from=<";
    appendSanitized(out, s.from, 2048);
    out += "> to=";
    for (size_t i = 0; i < s.to.size(); ++i) {
        out += i == 0 ? "<" : ",<";
        appendSanitized(out, s.to[i], 2048);
        out += '>';
    }
    if (s.to.empty()) {
        out += '-';
    }
    out += " size=" + std::to_string(s.size);
    out += " outcome=";
    value(s.outcome);
    out += " decided_by=";
    value(s.decided_by);
    for (size_t i = 0; i < s.refused.size(); ++i) {
        out += i == 0 ? " refused=<" : ",<";
        appendSanitized(out, s.refused[i], 2048);
        out += '>';
    }
    if (s.scored) {
        out += " score=" + scoreText(s.score) + " symbols=";
        for (size_t i = 0; i < s.symbols.size(); ++i) {
            out += i == 0 ? "" : ",";
            appendSanitized(out, s.symbols[i].name, 256);
            out += "(" + scoreText(s.symbols[i].score) + ")";
        }
    }
    out += " reply=";
    if (s.reply.empty()) {
        out += '-';
    } else {
        out += '"';
        appendSanitized(out, s.reply, 2048);
        out += '"';
    }
    out += " duration_ms=" + std::to_string(s.duration_ms);
}

}  // namespace

void logMessageSummary(const MessageSummary& summary) {
    if (!logEnabled(LogLevel::Info)) {
        return;
    }
    std::string line;
    line.reserve(512);
    beginLine(line, LogLevel::Info, summary.session_id);
    if (logFormat() == LogFormat::Json) {
        line += ",\"transaction\":";
        appendJsonString(line, summary.id);
        appendJson(line, summary);
    } else {
        appendText(line, summary);
    }
    writeLine(line);
}

}  // namespace mailgate::ops
