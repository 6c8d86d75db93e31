#include "trace_header.hpp"

#include <cstdio>

namespace mailgate::spam_score {
namespace {

// Printable ASCII without the characters that end a comment or a word; the rest is '?'.
std::string sanitize(std::string_view text, std::size_t max_length) {
    std::string out;
    for (const char c : text.substr(0, max_length)) {
        const auto byte = static_cast<unsigned char>(c);
        const bool plain = byte > 0x20 && byte < 0x7f && c != '(' && c != ')' && c != '\\' &&
                           c != '<' && c != '>' && c != ';';
        out += plain ? c : '?';
    }
    return out.empty() ? std::string("unknown") : out;
}

std::string date(std::time_t when) {
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm utc{};
    gmtime_r(&when, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday],
                  utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                  utc.tm_sec);
    return text;
}

}  // namespace

std::string traceHeader(const TraceFacts& facts) {
    const bool v6 = facts.client_ip.find(':') != std::string_view::npos;
    return "Received: from " + sanitize(facts.helo, 255) + " ([" + (v6 ? "IPv6:" : "") +
           sanitize(facts.client_ip, 64) + "])\r\n\tby " + sanitize(facts.hostname, 255) +
           " (mailgate) with ESMTP id " + sanitize(facts.id, 64) + ";\r\n\t" + date(facts.when) +
           "\r\n";
}

}  // namespace mailgate::spam_score
