#pragma once

#include <string_view>

namespace mailgate::ops {

enum class LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 };

// Lines go to stderr, one write(2) each, so lines from several threads never interleave.
// Format: "2026-11-29T06:50:00.123Z info [session-id] message".
void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);
void logLine(LogLevel level, std::string_view session_id, std::string_view message);

inline void logInfo(std::string_view message) {
    logLine(LogLevel::Info, {}, message);
}
inline void logWarning(std::string_view message) {
    logLine(LogLevel::Warning, {}, message);
}
inline void logError(std::string_view message) {
    logLine(LogLevel::Error, {}, message);
}

// Characters that could forge a log line (CR, LF, other controls) are shown as \xNN.
void appendSanitized(std::string& out, std::string_view text, size_t max_length = 512);

}  // namespace mailgate::ops
