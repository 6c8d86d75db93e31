#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace mailgate::smtp {

struct TraceInfo {
    std::string_view helo;
    std::string_view client_ip;
    std::string_view hostname;          // ours
    std::string_view protocol;          // "ESMTP", "SMTP", "UTF8SMTP"
    std::string_view id;                // transaction id
    std::string_view single_recipient;  // "for <...>" only when there is exactly one
    std::time_t when = 0;
};

// The Received trace header field (RFC 5321 4.4) mailgate prepends, folded, ending in CRLF:
// "Received: from helo ([192.0.2.1])\r\n\tby mx.example (mailgate) with ESMTP id X\r\n\tfor
// <a@b>; Sun, 29 Nov 2026 06:50:00 +0000\r\n". Client-supplied text is sanitized.
std::string receivedHeader(const TraceInfo& trace);

// RFC 5322 date-time in UTC: "Sun, 29 Nov 2026 06:50:00 +0000".
std::string rfc5322Date(std::time_t when);

}  // namespace mailgate::smtp
