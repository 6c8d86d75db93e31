#include "core/smtp/command.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace mailgate::smtp {

namespace {

using std::string_view;
constexpr size_t kNpos = string_view::npos;

// RFC 5321 4.5.3.1: limits on the parts of a mailbox path.
constexpr size_t kMaxLocalPart = 64;
constexpr size_t kMaxDomain = 255;
constexpr size_t kMaxPath = 256;  // "<" route ":" mailbox ">"

// How a verb takes its argument.
enum class ArgRule { None, Any, Required, Hostname, MailFrom, RcptTo, Bdat };

struct VerbInfo {
    string_view name;
    Verb verb;
    ArgRule rule;
};

constexpr std::array<VerbInfo, 14> kVerbs{{
    {"EHLO", Verb::Ehlo, ArgRule::Hostname},
    {"HELO", Verb::Helo, ArgRule::Hostname},
    {"MAIL", Verb::Mail, ArgRule::MailFrom},
    {"RCPT", Verb::Rcpt, ArgRule::RcptTo},
    {"DATA", Verb::Data, ArgRule::None},
    {"RSET", Verb::Rset, ArgRule::None},
    {"NOOP", Verb::Noop, ArgRule::Any},
    {"QUIT", Verb::Quit, ArgRule::None},
    {"VRFY", Verb::Vrfy, ArgRule::Required},
    {"EXPN", Verb::Expn, ArgRule::Required},
    {"HELP", Verb::Help, ArgRule::Any},
    {"STARTTLS", Verb::Starttls, ArgRule::None},
    {"AUTH", Verb::Auth, ArgRule::Required},
    {"BDAT", Verb::Bdat, ArgRule::Bdat},
}};

// --- characters -------------------------------------------------------------------------------

bool isDigit(unsigned char c) {
    return c >= '0' && c <= '9';
}

bool isAlpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isAlnum(unsigned char c) {
    return isDigit(c) || isAlpha(c);
}

// RFC 5322 atext, plus UTF-8 bytes (RFC 6531).
constexpr std::array<bool, 256> kAtextSymbols = [] {
    std::array<bool, 256> table{};
    for (const char c : string_view("!#$%&'*+-/=?^_`{|}~")) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}();

bool isAtext(unsigned char c) {
    return isAlnum(c) || c >= 0x80 || kAtextSymbols[c];
}

// RFC 5321 qtextSMTP (which includes SP), plus UTF-8 bytes (RFC 6531).
bool isQtext(unsigned char c) {
    return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80;
}

bool isDomainByte(unsigned char c) {
    return isAlnum(c) || c == '-' || c >= 0x80;
}

// RFC 5321 esmtp-value, plus UTF-8 bytes.
bool isParamValueByte(unsigned char c) {
    return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
}

char toUpper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// --- small text helpers ----------------------------------------------------------------------

string_view trimLeft(string_view text) {
    const size_t start = text.find_first_not_of(' ');
    return start == kNpos ? string_view{} : text.substr(start);
}

string_view trimSpaces(string_view text) {
    text = trimLeft(text);
    return text.substr(0, text.find_last_not_of(' ') + 1);
}

bool startsWithIgnoreCase(string_view text, string_view prefix) {
    return text.size() >= prefix.size() && equalsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

std::string toUpperAscii(string_view text) {
    std::string upper(text);
    for (char& c : upper) {
        c = toUpper(c);
    }
    return upper;
}

bool fail(Command& command, CommandError error, string_view detail) {
    command.error = error;
    command.error_detail.assign(detail);
    return false;
}

// Index of the first `stop` at or after `pos` that is outside a quoted string, or npos. Inside
// quotes a backslash escapes the next byte.
size_t findUnquoted(string_view text, char stop, size_t pos = 0) {
    bool quoted = false;
    for (; pos < text.size(); ++pos) {
        const char c = text[pos];
        if (quoted && c == '\\') {
            ++pos;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == stop) {
            return pos;
        }
    }
    return kNpos;
}

// --- addresses --------------------------------------------------------------------------------

bool isDotAtom(string_view text) {
    if (text.empty() || text.front() == '.' || text.back() == '.') {
        return false;
    }
    for (size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = text[i];
        if (c == '.' ? text[i - 1] == '.' : !isAtext(c)) {
            return false;
        }
    }
    return true;
}

// Length of the quoted string at the start of `text`, quotes included; 0 when malformed.
size_t quotedStringLength(string_view text) {
    for (size_t pos = 1; pos < text.size(); ++pos) {
        const unsigned char c = text[pos];
        if (c == '"') {
            return pos + 1;
        }
        if (c == '\\') {
            if (pos + 1 == text.size() || text[pos + 1] < 32 || text[pos + 1] > 126) {
                return 0;
            }
            ++pos;
        } else if (!isQtext(c)) {
            return 0;
        }
    }
    return 0;
}

// Letters, digits, hyphens and UTF-8 bytes in non-empty dot-separated labels. One trailing dot
// (the DNS root) is accepted: the relay policy decides what it means.
bool isDomainName(string_view domain) {
    if (!domain.empty() && domain.back() == '.') {
        domain.remove_suffix(1);
    }
    size_t label = 0;
    for (const unsigned char c : domain) {
        if (c == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
        } else if (isDomainByte(c)) {
            ++label;
        } else {
            return false;
        }
    }
    return label > 0;
}

// "[192.0.2.1]" or "[IPv6:2001:db8::1]".
bool isAddressLiteral(string_view text) {
    if (text.size() < 3 || text.front() != '[' || text.back() != ']') {
        return false;
    }
    string_view inner = text.substr(1, text.size() - 2);
    int family = AF_INET;
    if (startsWithIgnoreCase(inner, "IPv6:")) {
        family = AF_INET6;
        inner.remove_prefix(5);
    }
    char address[INET6_ADDRSTRLEN];
    if (inner.size() >= sizeof(address)) {
        return false;
    }
    inner.copy(address, inner.size());
    address[inner.size()] = '\0';
    unsigned char binary[sizeof(in6_addr)];
    return inet_pton(family, address, binary) == 1;
}

bool isDomain(string_view text) {
    return !text.empty() && text.front() == '[' ? isAddressLiteral(text) : isDomainName(text);
}

// "@a,@b" (RFC 5321 A-d-l, obsolete but still to be accepted).
bool isSourceRoute(string_view route) {
    while (true) {
        const size_t comma = route.find(',');
        const string_view hop = route.substr(0, comma);
        if (hop.size() < 2 || hop.front() != '@' || !isDomain(hop.substr(1))) {
            return false;
        }
        if (comma == kNpos) {
            return true;
        }
        route.remove_prefix(comma + 1);
    }
}

// The ':' that ends a source route, skipping those inside IPv6 literals.
size_t sourceRouteEnd(string_view text) {
    bool literal = false;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '[' || text[i] == ']') {
            literal = text[i] == '[';
        } else if (text[i] == ':' && !literal) {
            return i;
        }
    }
    return kNpos;
}

// Parses "local@domain" or a bare local part (e.g. "postmaster") into `path`. Returns the reason
// it is malformed, or an empty view. `bad` is the verb's generic wording.
string_view parseMailbox(string_view mailbox, string_view bad, Path& path) {
    const bool quoted = !mailbox.empty() && mailbox.front() == '"';
    size_t local_length = quoted ? quotedStringLength(mailbox) : mailbox.find('@');
    local_length = std::min(local_length, mailbox.size());
    const string_view local = mailbox.substr(0, local_length);
    if (local.empty() || (!quoted && !isDotAtom(local))) {
        return bad;
    }
    const string_view rest = mailbox.substr(local_length);
    if (!rest.empty() && (rest.front() != '@' || !isDomain(rest.substr(1)))) {
        return bad;
    }
    if (local.size() > kMaxLocalPart) {
        return "Local part too long";
    }
    if (rest.size() > kMaxDomain + 1) {
        return "Domain too long";
    }
    path.address.assign(mailbox);
    path.local_part.assign(local);
    path.domain.assign(rest.empty() ? rest : rest.substr(1));
    return {};
}

// Parses a non-empty path (without its angle brackets) into `path`.
string_view parsePath(string_view text, string_view bad, Path& path) {
    if (text.size() + 2 > kMaxPath) {
        return "Path too long";
    }
    string_view mailbox = text;
    if (text.front() == '@') {
        const size_t colon = sourceRouteEnd(text);
        if (colon == kNpos || !isSourceRoute(text.substr(0, colon))) {
            return bad;
        }
        path.source_route.assign(text.substr(0, colon));
        mailbox = text.substr(colon + 1);
    }
    return parseMailbox(mailbox, bad, path);
}

// Splits "<path> params" or the liberal "user@host params" into the path text (brackets removed)
// and the rest. Returns the reason it is malformed, or an empty view.
string_view splitPath(string_view text, string_view bad, string_view& path, string_view& rest) {
    if (text.front() != '<') {
        const size_t end = findUnquoted(text, ' ');
        path = text.substr(0, end);
        rest = end == kNpos ? string_view{} : text.substr(end);
        if (findUnquoted(path, '<') != kNpos) {
            return "Unbalanced '<'";
        }
        return findUnquoted(path, '>') != kNpos ? "Unbalanced '>'" : string_view{};
    }
    const size_t close = findUnquoted(text, '>', 1);
    if (close == kNpos || findUnquoted(text.substr(0, close), '<', 1) != kNpos) {
        return "Unbalanced '<'";
    }
    path = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() == '>') {
        return "Unbalanced '>'";
    }
    return !rest.empty() && rest.front() != ' ' ? bad : string_view{};
}

// --- ESMTP parameters -------------------------------------------------------------------------

bool parseParameter(string_view token, Parameter& parameter) {
    const size_t equals = token.find('=');
    const string_view keyword = token.substr(0, equals);
    if (keyword.empty() || !isAlnum(keyword.front())) {
        return false;
    }
    for (const unsigned char c : keyword) {
        if (!isAlnum(c) && c != '-') {
            return false;
        }
    }
    parameter.keyword = toUpperAscii(keyword);
    if (equals == kNpos) {
        return true;
    }
    const string_view value = token.substr(equals + 1);
    if (value.empty()) {
        return false;
    }
    for (const unsigned char c : value) {
        if (!isParamValueByte(c)) {
            return false;
        }
    }
    parameter.value.emplace(value);
    return true;
}

// "SIZE=123 BODY=8BITMIME SMTPUTF8", separated by one or more spaces.
bool parseParameters(string_view text, std::vector<Parameter>& parameters) {
    while (true) {
        text = trimLeft(text);
        if (text.empty()) {
            return true;
        }
        const size_t end = std::min(text.find(' '), text.size());
        Parameter parameter;
        if (!parseParameter(text.substr(0, end), parameter)) {
            return false;
        }
        parameters.push_back(std::move(parameter));
        text.remove_prefix(end);
    }
}

// --- arguments per verb -----------------------------------------------------------------------

// "FROM:<path> params" / "TO:<path> params"; spaces after the colon are tolerated.
bool parseMailArgument(Command& command, string_view argument, bool rcpt) {
    const string_view keyword = rcpt ? "TO:" : "FROM:";
    const string_view usage = rcpt ? "Syntax: RCPT TO:<address>" : "Syntax: MAIL FROM:<address>";
    const string_view bad = rcpt ? "Bad recipient address syntax" : "Bad sender address syntax";
    argument = trimSpaces(argument);
    if (!startsWithIgnoreCase(argument, keyword)) {
        return fail(command, CommandError::Syntax, usage);
    }
    argument = trimLeft(argument.substr(keyword.size()));
    if (argument.empty()) {
        return fail(command, CommandError::Syntax, usage);
    }
    string_view path_text;
    string_view rest;
    string_view error = splitPath(argument, bad, path_text, rest);
    if (error.empty() && path_text.empty() && rcpt) {
        error = bad;
    }
    if (error.empty() && !path_text.empty()) {
        error = parsePath(path_text, bad, command.path);
    }
    if (!error.empty()) {
        return fail(command, CommandError::BadPath, error);
    }
    if (!parseParameters(rest, command.params)) {
        return fail(command, CommandError::BadParameter, "Bad ESMTP parameter syntax");
    }
    return true;
}

// One printable token: a domain or an address literal, checked liberally.
bool isHostnameArgument(string_view argument) {
    if (argument.empty()) {
        return false;
    }
    for (const unsigned char c : argument) {
        if (c < 0x21 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

// "size" or "size LAST" (RFC 3030).
bool isBdatArgument(string_view argument) {
    size_t digits = 0;
    while (digits < argument.size() && isDigit(argument[digits])) {
        ++digits;
    }
    const string_view rest = argument.substr(digits);
    if (digits == 0 || digits > 19 || (!rest.empty() && rest.front() != ' ')) {
        return false;
    }
    return rest.empty() || equalsIgnoreCase(trimLeft(rest), "LAST");
}

bool syntaxError(Command& command, const VerbInfo& info, string_view usage) {
    std::string detail = "Syntax: ";
    detail.append(info.name).append(usage);
    return fail(command, CommandError::Syntax, detail);
}

bool parseArgument(Command& command, const VerbInfo& info, string_view raw) {
    const string_view argument = trimSpaces(raw);
    switch (info.rule) {
        case ArgRule::None:
            return argument.empty() || syntaxError(command, info, " takes no argument");
        case ArgRule::Any:
            return true;
        case ArgRule::Required:
            return !argument.empty() || syntaxError(command, info, " needs an argument");
        case ArgRule::Hostname:
            return isHostnameArgument(argument) || syntaxError(command, info, " hostname");
        case ArgRule::MailFrom:
        case ArgRule::RcptTo:
            return parseMailArgument(command, raw, info.rule == ArgRule::RcptTo);
        case ArgRule::Bdat:
            return isBdatArgument(argument) || syntaxError(command, info, " size [LAST]");
    }
    return true;
}

// CR, LF and NUL are refused everywhere; 8-bit bytes only inside MAIL and RCPT arguments.
bool checkBytes(Command& command, string_view line, const VerbInfo* info) {
    bool nul = false;
    bool eight_bit = false;
    for (const unsigned char c : line) {
        if (c == '\r' || c == '\n') {
            return fail(command, CommandError::BareLineEnding, "Bare CR or LF in command line");
        }
        nul = nul || c == 0;
        eight_bit = eight_bit || c >= 0x80;
    }
    if (nul) {
        return fail(command, CommandError::NulByte, "NUL byte in command line");
    }
    const bool path_verb =
        info != nullptr && (info->rule == ArgRule::MailFrom || info->rule == ArgRule::RcptTo);
    if (eight_bit && !path_verb) {
        return fail(command, CommandError::EightBit, "8-bit characters in command line");
    }
    return true;
}

const VerbInfo* findVerb(string_view verb_text) {
    for (const VerbInfo& info : kVerbs) {
        if (equalsIgnoreCase(verb_text, info.name)) {
            return &info;
        }
    }
    return nullptr;
}

}  // namespace

Command parseCommand(string_view line) {
    Command command;
    const size_t space = line.find(' ');
    const string_view argument = space == kNpos ? string_view{} : line.substr(space + 1);
    command.verb_text.assign(line.substr(0, space));
    command.argument.assign(argument);
    const VerbInfo* info = findVerb(command.verb_text);
    if (info != nullptr) {
        command.verb = info->verb;
    }
    if (!checkBytes(command, line, info)) {
        return command;
    }
    if (info == nullptr) {
        fail(command, CommandError::Unrecognized,
             line.empty() ? "Empty command line" : "Command not recognized");
        return command;
    }
    parseArgument(command, *info, argument);
    return command;
}

size_t findLineEnd(string_view buffer, bool& terminator_ok) {
    terminator_ok = false;
    if (buffer.empty()) {
        return 0;
    }
    const void* found = std::memchr(buffer.data(), '\n', buffer.size());
    if (found == nullptr) {
        return 0;
    }
    const size_t lf = static_cast<size_t>(static_cast<const char*>(found) - buffer.data());
    terminator_ok = lf > 0 && buffer[lf - 1] == '\r';
    return lf + 1;
}

bool equalsIgnoreCase(string_view a, string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (toUpper(a[i]) != toUpper(b[i])) {
            return false;
        }
    }
    return true;
}

std::string toLowerAscii(string_view text) {
    std::string lower(text);
    for (char& c : lower) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return lower;
}

bool hasNonAscii(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) {
            return true;
        }
    }
    return false;
}

}  // namespace mailgate::smtp
