#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace mailgate::smtp {

struct TraceInfo {
    std::string_view helo;
    std::string_view client_ip;
    std::string_view hostname;          // ours
    std::string_view protocol;          // "ESMTP", "ESMTPS", "ESMTPSA", "SMTP", "UTF8SMTPS", ...
    std::string_view tls;               // "TLSv1.3 with cipher X (256/256 bits)", or ""
    std::string_view id;                // transaction id
    std::string_view single_recipient;  // "for <...>" only when there is exactly one
    std::time_t when = 0;
};

// The Received trace header field (RFC 5321 4.4) mailgate prepends, folded, ending in CRLF:
// "Received: from helo ([192.0.2.1])\r\n\tby mx.example (mailgate) with ESMTP id X\r\n\tfor
// <a@b>; Sun, 29 Nov 2026 06:50:00 +0000\r\n". With TLS, a comment line
// "\t(using TLSv1.3 with cipher ... (256/256 bits))" comes before "by", as Postfix writes it.
// Client-supplied text is sanitized.
std::string receivedHeader(const TraceInfo& trace);

// The "with" protocol (RFC 3848, RFC 6531): SMTP or ESMTP, UTF8SMTP for SMTPUTF8; "S" appended
// with TLS, "A" with AUTH ("ESMTPSA", "UTF8SMTPS").
std::string receivedProtocol(bool esmtp, bool smtputf8, bool tls, bool authenticated);

// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", as Postfix writes it.
std::string tlsSummary(std::string_view version, std::string_view cipher, int bits,
                       int algorithm_bits);

}  // namespace mailgate::smtp
