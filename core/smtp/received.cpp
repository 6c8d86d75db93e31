#include "core/smtp/received.hpp"

#include <cstdio>

namespace mailgate::smtp {
namespace {

// Keeps what may stand in a header comment or word: printable ASCII without parentheses,
// backslashes or angle brackets; the rest becomes '?'. Bounded in length.
std::string sanitize(std::string_view text, size_t max_length = 255) {
    std::string out;
    for (const char c : text.substr(0, max_length)) {
        const auto byte = static_cast<unsigned char>(c);
        const bool plain = byte > 0x20 && byte < 0x7f && c != '(' && c != ')' && c != '\\' &&
                           c != '<' && c != '>' && c != ';';
        out += plain ? c : '?';
    }
    return out.empty() ? std::string("unknown") : out;
}

// Our own TLS summary: spaces and parentheses stay, anything else unusual becomes '?'.
std::string sanitizeWords(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 200)) {
        const auto byte = static_cast<unsigned char>(c);
        out += (byte >= 0x20 && byte < 0x7f && c != '\\') ? c : '?';
    }
    return out;
}

}  // namespace

std::string receivedProtocol(bool esmtp, bool smtputf8, bool tls, bool authenticated) {
    std::string protocol = smtputf8 ? "UTF8SMTP" : (esmtp ? "ESMTP" : "SMTP");
    if (tls) {
        protocol += 'S';
    }
    if (authenticated) {
        protocol += 'A';
    }
    return protocol;
}

std::string tlsSummary(std::string_view version, std::string_view cipher, int bits,
                       int algorithm_bits) {
    return std::string(version) + " with cipher " + std::string(cipher) + " (" +
           std::to_string(bits) + "/" + std::to_string(algorithm_bits) + " bits)";
}

std::string rfc5322Date(std::time_t when) {
    // Formatted once per second per thread: every message of that second shares it.
    thread_local std::time_t cached_when = -1;
    thread_local std::string cached_text;
    if (when == cached_when) {
        return cached_text;
    }
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm utc{};
    gmtime_r(&when, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday],
                  utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                  utc.tm_sec);
    cached_when = when;
    cached_text = text;
    return cached_text;
}

std::string receivedHeader(const TraceInfo& trace) {
    std::string header = "Received: from ";
    header += sanitize(trace.helo);
    header += " ([";
    if (trace.client_ip.find(':') != std::string_view::npos) {
        header += "IPv6:";  // RFC 5321 4.1.3 address literal
    }
    header += sanitize(trace.client_ip, 64);
    header += "])\r\n";
    if (!trace.tls.empty()) {
        header += "\t(using ";
        header += sanitizeWords(trace.tls);
        header += ")\r\n";
    }
    header += "\tby ";
    header += sanitize(trace.hostname);
    header += " (mailgate) with ";
    header += trace.protocol;
    header += " id ";
    header += sanitize(trace.id, 64);
    if (!trace.single_recipient.empty()) {
        header += "\r\n\tfor <";
        header += sanitize(trace.single_recipient, 256);
        header += '>';
    }
    header += "; ";
    header += rfc5322Date(trace.when);
    header += "\r\n";
    return header;
}

}  // namespace mailgate::smtp
