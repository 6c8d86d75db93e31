// Text for trace headers (RFC 5322 3.6.7): what mailgate writes in its own Received: header,
// for plugins that show a message to someone else (a scanner, say) as the backend will see it.
// Header-only, no state: the host and every plugin get the same rules.
#pragma once

#include <cstddef>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace mailgate::trace {

// Appends what may stand in a header comment or word: printable ASCII without parentheses,
// backslashes, angle brackets or semicolons; the rest becomes '?'. At most max_length octets;
// "unknown" when nothing is left.
inline void appendWord(std::string& out, std::string_view text, std::size_t max_length = 255) {
    text = text.substr(0, max_length);
    if (text.empty()) {
        out += "unknown";
        return;
    }
    const std::size_t start = out.size();
    out.append(text);
    for (std::size_t i = start; i < out.size(); ++i) {
        const auto byte = static_cast<unsigned char>(out[i]);
        const bool plain = byte > 0x20 && byte < 0x7f && byte != '(' && byte != ')' &&
                           byte != '\\' && byte != '<' && byte != '>' && byte != ';';
        if (!plain) {
            out[i] = '?';
        }
    }
}

// The same as a string of its own.
inline std::string word(std::string_view text, std::size_t max_length = 255) {
    std::string out;
    appendWord(out, text, max_length);
    return out;
}

// "Sun, 29 Nov 2026 10:00:00 +0000": the RFC 5322 date-time of `when`, in UTC.
inline std::string date(std::time_t when) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm utc{};
    gmtime_r(&when, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday],
                  utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                  utc.tm_sec);
    return text;
}

}  // namespace mailgate::trace
