#include "core/ops/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace mailgate::ops {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::atomic<LogFormat> g_format{LogFormat::Text};

const char* levelName(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warning:
            return "warning";
        case LogLevel::Error:
            return "error";
    }
    return "info";
}

void appendTimestamp(std::string& out) {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const std::time_t seconds = system_clock::to_time_t(now);
    const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    const int length = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                     utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                                     utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    out.append(text, static_cast<size_t>(length));
}

// The length of the well-formed UTF-8 sequence at text[at] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when the byte there does not start one.
size_t utf8Length(std::string_view text, size_t at) {
    const auto first = static_cast<unsigned char>(text[at]);
    size_t length = 0;
    uint32_t code = 0;
    uint32_t smallest = 0;
    if (first < 0x80) {
        return 1;
    } else if ((first & 0xe0) == 0xc0) {
        length = 2, code = first & 0x1f, smallest = 0x80;
    } else if ((first & 0xf0) == 0xe0) {
        length = 3, code = first & 0x0f, smallest = 0x800;
    } else if ((first & 0xf8) == 0xf0) {
        length = 4, code = first & 0x07, smallest = 0x10000;
    } else {
        return 0;
    }
    if (at + length > text.size()) {
        return 0;
    }
    for (size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[at + i]);
        if ((next & 0xc0) != 0x80) {
            return 0;
        }
        code = (code << 6) | (next & 0x3f);
    }
    if (code < smallest || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        return 0;
    }
    return length;
}

void appendJsonByte(std::string& out, unsigned char c) {
    char escaped[8];
    switch (c) {
        case '"':
            out += "\\\"";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        default:
            break;
    }
    if (c < 0x20 || c == 0x7f) {
        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
        out += escaped;
    } else {
        out += static_cast<char>(c);
    }
}

void writeAll(const std::string& line) {
    // A short write on stderr is not retried beyond the obvious loop.
    const char* data = line.data();
    size_t left = line.size();
    while (left > 0) {
        const ssize_t written = ::write(STDERR_FILENO, data, left);
        if (written <= 0) {
            break;
        }
        data += written;
        left -= static_cast<size_t>(written);
    }
}

}  // namespace

void setLogLevel(LogLevel level) {
    g_level.store(static_cast<int>(level));
}

void setLogFormat(LogFormat format) {
    g_format.store(format);
}

LogFormat logFormat() {
    return g_format.load();
}

bool logEnabled(LogLevel level) {
    return static_cast<int>(level) >= g_level.load();
}

void appendSanitized(std::string& out, std::string_view text, size_t max_length) {
    const size_t shown = text.size() < max_length ? text.size() : max_length;
    for (size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (shown < text.size()) {
        out += "...";
    }
}

void appendJsonString(std::string& out, std::string_view text, size_t max_length) {
    out += '"';
    size_t at = 0;
    while (at < text.size() && at < max_length) {
        const size_t length = utf8Length(text, at);
        if (length == 0) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\\\x%02x",
                          static_cast<unsigned char>(text[at]));
            out += escaped;
            ++at;
        } else if (length == 1) {
            appendJsonByte(out, static_cast<unsigned char>(text[at]));
            ++at;
        } else if (at + length <= max_length) {
            out.append(text.substr(at, length));
            at += length;
        } else {
            break;
        }
    }
    if (at < text.size()) {
        out += "...";
    }
    out += '"';
}

void beginLine(std::string& out, LogLevel level, std::string_view id) {
    if (logFormat() == LogFormat::Json) {
        out += "{\"time\":\"";
        appendTimestamp(out);
        out += "\",\"level\":\"";
        out += levelName(level);
        out += '"';
        if (!id.empty()) {
            const size_t dot = id.find('.');
            out += ",\"session\":";
            appendJsonString(out, id.substr(0, dot));
            if (dot != std::string_view::npos) {
                out += ",\"transaction\":";
                appendJsonString(out, id);
            }
        }
        return;
    }
    appendTimestamp(out);
    out += ' ';
    out += levelName(level);
    if (!id.empty()) {
        out += " [";
        appendSanitized(out, id, 64);
        out += ']';
    }
}

void writeLine(std::string& line) {
    if (logFormat() == LogFormat::Json) {
        line += '}';
    }
    line += '\n';
    writeAll(line);
}

void logLine(LogLevel level, std::string_view id, std::string_view message) {
    if (!logEnabled(level)) {
        return;
    }
    std::string line;
    line.reserve(96 + message.size());
    beginLine(line, level, id);
    if (logFormat() == LogFormat::Json) {
        line += ",\"message\":";
        appendJsonString(line, message, 8192);
    } else {
        line += ' ';
        appendSanitized(line, message, 8192);
    }
    writeLine(line);
}

}  // namespace mailgate::ops
