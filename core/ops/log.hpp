#pragma once

#include <string_view>

namespace mailgate::ops {

enum class LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 };
enum class LogFormat { Text, Json };

// Lines go to stderr, one write(2) each, so lines from several threads never interleave.
// Text: "2026-11-29T06:50:00.123Z info [ID] message".
// JSON: {"time":"2026-11-29T06:50:00.123Z","level":"info","session":"S","transaction":"S.1",
//        "message":"..."}: one object per line, keys without a value left out.
// `id` is the most specific id there is: a session id "S", or a transaction id "S.N" (which
// names its session too), or empty for lines of the process.
void setLogLevel(LogLevel level);
void setLogFormat(LogFormat format);
LogFormat logFormat();
bool logEnabled(LogLevel level);
void logLine(LogLevel level, std::string_view id, std::string_view message);

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

// `text` as a JSON string with its quotes: controls escaped, valid UTF-8 kept, and each byte
// that is not part of valid UTF-8 written as the four characters \xNN (as in text logs).
void appendJsonString(std::string& out, std::string_view text, size_t max_length = 8192);

// Starts a line: the JSON object's first keys up to the level and ids (without the closing
// brace), or the text line's time, level and [id]. For writers of structured lines (summary).
void beginLine(std::string& out, LogLevel level, std::string_view id);
// Ends the line (closing brace in JSON, newline) and writes it with one write(2).
void writeLine(std::string& line);

}  // namespace mailgate::ops
