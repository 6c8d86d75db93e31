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

}  // namespace

void setLogLevel(LogLevel level) {
    g_level.store(static_cast<int>(level));
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

void logLine(LogLevel level, std::string_view session_id, std::string_view message) {
    if (!logEnabled(level)) {
        return;
    }
    std::string line;
    line.reserve(64 + message.size());
    appendTimestamp(line);
    line += ' ';
    line += levelName(level);
    if (!session_id.empty()) {
        line += " [";
        line += session_id;
        line += ']';
    }
    line += ' ';
    appendSanitized(line, message, 8192);
    line += '\n';
    // One write per line; a short write on stderr is not retried beyond the obvious loop.
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

}  // namespace mailgate::ops
