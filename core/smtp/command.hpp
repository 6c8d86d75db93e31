#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailgate::smtp {

enum class Verb {
    Ehlo,
    Helo,
    Mail,
    Rcpt,
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    Starttls,
    Auth,
    Bdat,
    Unknown
};

// An ESMTP parameter from MAIL or RCPT: "SIZE=1000" -> {"SIZE", "1000"}, "SMTPUTF8" -> {"SMTPUTF8",
// nullopt}. Keywords are upper-cased.
struct Parameter {
    std::string keyword;
    std::optional<std::string> value;
};

// A mailbox path from MAIL FROM or RCPT TO, parsed.
struct Path {
    std::string address;       // "user@example.test"; local part kept as sent (quotes included),
                               // domain as sent; empty for the null path <>
    std::string source_route;  // "@a,@b" when the obsolete source route was given, else empty
    std::string local_part;    // "user" (quoted strings keep their quotes)
    std::string domain;        // "example.test", "[192.0.2.1]"; empty when no @ (e.g. postmaster)
    bool null_path() const { return address.empty(); }
};

// The syntax errors a command line can have, each with its own reply.
enum class CommandError {
    None,
    BareLineEnding,  // a CR or LF inside the line (only CRLF ends a command)
    NulByte,
    EightBit,  // non-ASCII outside MAIL/RCPT paths
    LineTooLong,
    Unrecognized,  // unknown verb
    Syntax,        // malformed arguments (501)
    BadPath,       // malformed mailbox (501 5.1.3 / 5.1.7)
    BadParameter,  // malformed ESMTP parameter (501 5.5.4)
};

struct Command {
    Verb verb = Verb::Unknown;
    std::string verb_text;          // as sent, for logs
    std::string argument;           // everything after the verb and one space, as sent
    Path path;                      // MAIL / RCPT
    std::vector<Parameter> params;  // MAIL / RCPT
    CommandError error = CommandError::None;
    std::string error_detail;  // human text for the error reply
};

// Parses one command line without its CRLF. Pure: no state. MAIL and RCPT are parsed liberally
// where the big MTAs are ("MAIL FROM:user@host" without brackets, spaces after the colon) and
// strictly where it matters (no CR/LF/NUL, well-formed addresses). 8-bit bytes are only accepted
// inside MAIL/RCPT paths and parameters (SMTPUTF8 is checked by the session).
Command parseCommand(std::string_view line);

// Finds the end of the next command line in `buffer`. Returns the length of the line including
// its terminator, or 0 when no LF has arrived yet. `terminator_ok` tells whether it ended in
// CRLF (false: bare LF). The caller bounds the buffer.
size_t findLineEnd(std::string_view buffer, bool& terminator_ok);

// Case-insensitive ASCII compare.
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// True when any byte is outside 7-bit ASCII (an SMTPUTF8 address, for instance).
bool hasNonAscii(std::string_view text);
std::string toLowerAscii(std::string_view text);

}  // namespace mailgate::smtp
