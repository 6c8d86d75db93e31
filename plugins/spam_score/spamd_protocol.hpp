#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scan_result.hpp"

// SpamAssassin's spamd protocol (SPAMC/1.5), command SYMBOLS: the request head, and the reply
// parsed into a ScanResult. Pure text work, no I/O.
namespace mailgate::spam_score {

// "SYMBOLS SPAMC/1.5\r\nContent-length: N\r\n\r\n"; the message follows it.
std::string spamdRequestHead(std::uint64_t message_length);

// The whole reply, as read until spamd closed the connection:
//   SPAMD/1.1 0 EX_OK\r\n Content-length: 18\r\n Spam: True ; 1004.2 / 5.0\r\n \r\n GTUBE,...
// Anything else (another status, a missing or malformed Spam line, a short body) is a failure.
ScanResult parseSpamdReply(std::string_view reply);

}  // namespace mailgate::spam_score
