#include "core/smtp/received.hpp"

#include <mailgate/trace_text.hpp>

namespace mailgate::smtp {
namespace {

using mailgate::trace::appendWord;

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

namespace {

// Formatted once per second per thread: every message of that second shares it.
const std::string& cachedDate(std::time_t when) {
    thread_local std::time_t cached_when = -1;
    thread_local std::string cached_text;
    if (when != cached_when) {
        cached_when = when;
        cached_text = mailgate::trace::date(when);
    }
    return cached_text;
}

}  // namespace

std::string receivedHeader(const TraceInfo& trace) {
    std::string header;
    header.reserve(160 + trace.helo.size() + trace.hostname.size() + trace.tls.size() +
                   trace.single_recipient.size());
    header += "Received: from ";
    appendWord(header, trace.helo);
    header += " ([";
    if (trace.client_ip.find(':') != std::string_view::npos) {
        header += "IPv6:";  // RFC 5321 4.1.3 address literal
    }
    appendWord(header, trace.client_ip, 64);
    header += "])\r\n";
    if (!trace.tls.empty()) {
        header += "\t(using ";
        header += sanitizeWords(trace.tls);
        header += ")\r\n";
    }
    header += "\tby ";
    appendWord(header, trace.hostname);
    header += " (mailgate) with ";
    header += trace.protocol;
    header += " id ";
    appendWord(header, trace.id, 64);
    if (!trace.single_recipient.empty()) {
        header += "\r\n\tfor <";
        appendWord(header, trace.single_recipient, 256);
        header += '>';
    }
    header += "; ";
    header += cachedDate(trace.when);
    header += "\r\n";
    return header;
}

}  // namespace mailgate::smtp
