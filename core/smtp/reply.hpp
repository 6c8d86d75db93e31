#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace mailgate::smtp {

// One SMTP reply: a three-digit code, an RFC 3463 enhanced status code and one or more text
// lines. Formatting to the wire lives here and nowhere else.
struct Reply {
    int code = 0;
    std::string enhanced;            // "2.1.0"; empty for 220/221/354/214-style replies
    std::vector<std::string> lines;  // at least one; never contain CR or LF

    Reply() = default;
    Reply(int code, std::string enhanced, std::string text);
    Reply(int code, std::string enhanced, std::vector<std::string> lines);
    // Makes Reply(250, "", {"first", "second"}) unambiguous (a braced list also converts to
    // std::string and to std::vector).
    Reply(int code, std::string enhanced, std::initializer_list<std::string> lines);

    bool positive() const { return code >= 200 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500 && code < 600; }

    // "250-first\r\n250 2.0.0 last\r\n": every line carries the enhanced code when there is one.
    std::string toWire() const;
    void appendWire(std::string& out) const;
    // One line for logs: "550 5.7.1 Relay access denied".
    std::string summary() const;
};

// Appends the one-line reply Reply(code, enhanced, text) would write, without building one.
void appendReplyLine(std::string& out, int code, std::string_view enhanced, std::string_view text);

// Parses one complete reply as a server sends it (one or more lines, each ending in CRLF).
// Returns false when the text is not a well-formed reply. Enhanced codes are split off the text
// when present and consistent with the reply code's class.
bool parseReply(std::string_view wire, Reply& reply);

// Where one reply line ends: returns the number of bytes of the complete reply at the start of
// `buffer` (all lines up to and including the last line's CRLF), or 0 when more bytes are needed.
// Returns std::string_view::npos when the buffer starts with something that is not a reply.
size_t completeReplyLength(std::string_view buffer, size_t max_line = 4096);

}  // namespace mailgate::smtp
