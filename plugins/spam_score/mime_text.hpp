#pragma once

#include <string>
#include <string_view>

#include "rules.hpp"
#include "spam_config.hpp"

// MIME decoding with GMime: the text the body rules see, and decoded header values.
namespace mailgate::spam_score {

// Initialises GMime once per process (idempotent, thread-safe).
void initMime();

// Fills facts.text_parts and facts.content_types from the message. `mime_headers` holds the
// top-level MIME fields ("Content-Type: ...\r\n"), `body` the body after the blank line. The
// decoded text is cut at max_text_size in total. A plain message (see isPlainAsciiText) skips
// GMime: its text is the body as it is, which is what GMime makes of it too. Any other goes
// through decodeMimeTextWithGMime. Returns false when the message was not MIME-decoded.
bool decodeMimeText(std::string_view mime_headers, std::string_view body, const MimeLimits& limits,
                    MessageFacts& facts);

// decodeMimeText without the plain-message shortcut: everything through GMime, bounded by
// `limits`. A body with max_parts Content-Type fields or more is not parsed (GMime recurses
// into nested parts): its raw body is the one text part. Deeper parts are skipped.
bool decodeMimeTextWithGMime(std::string_view mime_headers, std::string_view body,
                             const MimeLimits& limits, MessageFacts& facts);

// True for a body of ASCII octets only (not empty) whose MIME fields, if any, are unfolded
// and say no more than text/plain (charset us-ascii or utf-8), 7bit/8bit/binary and a
// MIME-Version: decoding changes nothing in such a message.
bool isPlainAsciiText(std::string_view mime_headers, std::string_view body);

// A header value as rules see it: unfolded, trimmed, RFC 2047 encoded words decoded to UTF-8.
std::string decodeHeaderValue(std::string_view value);

}  // namespace mailgate::spam_score
