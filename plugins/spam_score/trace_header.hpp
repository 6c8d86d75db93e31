#pragma once

#include <ctime>
#include <string>
#include <string_view>

// The Received field mailgate will prepend when it forwards the message (plugins do not see
// it), rebuilt for spamd: SpamAssassin finds the connecting client, its HELO and our hop in
// it, as it would in the backend's copy.
namespace mailgate::spam_score {

struct TraceFacts {
    std::string_view helo;
    std::string_view client_ip;
    std::string_view hostname;  // ours
    std::string_view id;
    std::time_t when = 0;
};

// "Received: from helo ([192.0.2.1])\r\n\tby mx.example (mailgate) with ESMTP id X;
// Sun, 29 Nov 2026 10:00:00 +0000\r\n" (folded as shown). Client text is sanitized.
std::string traceHeader(const TraceFacts& facts);

}  // namespace mailgate::spam_score
