#include "core/smtp/reply.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace mailgate::smtp {

namespace {

// Text lines must never carry a line ending onto the wire (reply injection); CR and LF become
// spaces.
void appendSanitized(std::string& out, std::string_view text) {
    const size_t start = out.size();
    out.append(text);
    for (size_t i = start; i < out.size(); ++i) {
        if (out[i] == '\r' || out[i] == '\n') {
            out[i] = ' ';
        }
    }
}

void appendCode(std::string& out, int code) {
    char digits[16];
    auto result = std::to_chars(digits, digits + sizeof(digits), code);
    out.append(digits, result.ptr);
}

void appendLine(std::string& out, int code, std::string_view enhanced, std::string_view text,
                bool last) {
    appendCode(out, code);
    const bool has_text = !enhanced.empty() || !text.empty();
    if (!last) {
        out.push_back('-');
    } else if (has_text) {
        out.push_back(' ');
    }
    if (!enhanced.empty()) {
        appendSanitized(out, enhanced);
        if (!text.empty()) {
            out.push_back(' ');
        }
    }
    appendSanitized(out, text);
    out.append("\r\n");
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

// One line of a server reply, without its line ending.
struct ReplyLine {
    int code = 0;
    bool last = false;
    std::string_view text;
};

bool splitReplyLine(std::string_view line, ReplyLine& parsed) {
    if (line.size() < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2])) {
        return false;
    }
    parsed.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (parsed.code < 200 || parsed.code > 599) {
        return false;
    }
    if (line.size() == 3) {
        parsed.last = true;
        parsed.text = {};
        return true;
    }
    if (line[3] != '-' && line[3] != ' ') {
        return false;
    }
    parsed.last = line[3] == ' ';
    parsed.text = line.substr(4);
    return parsed.text.find('\r') == std::string_view::npos;
}

// Takes the next line off `wire` at `pos`, without its CRLF (or bare LF, which some backends
// send); the last line may lack a line ending.
std::string_view takeLine(std::string_view wire, size_t& pos) {
    size_t end = wire.find('\n', pos);
    size_t next = end == std::string_view::npos ? wire.size() : end + 1;
    if (end == std::string_view::npos) {
        end = wire.size();
    }
    if (end > pos && wire[end - 1] == '\r') {
        --end;
    }
    std::string_view line = wire.substr(pos, end - pos);
    pos = next;
    return line;
}

// Length of "d.ddd.ddd" at the start of text when it is followed by a space or the end, else 0.
size_t enhancedCodeLength(std::string_view text) {
    if (text.size() < 5 || !isDigit(text[0]) || text[1] != '.') {
        return 0;
    }
    size_t pos = 2;
    for (int part = 0; part < 2; ++part) {
        size_t digits = 0;
        while (pos < text.size() && isDigit(text[pos]) && digits < 4) {
            ++pos;
            ++digits;
        }
        if (digits == 0 || digits > 3) {
            return 0;
        }
        if (part == 0) {
            if (pos >= text.size() || text[pos] != '.') {
                return 0;
            }
            ++pos;
        }
    }
    return pos == text.size() || text[pos] == ' ' ? pos : 0;
}

// Splits the enhanced code off every line that carries it. The code is the first one found whose
// class matches the reply's (2.x.x for 2xx, 4.x.x for 4xx, 5.x.x for 5xx); servers put it on
// every line (RFC 2034), some only on the first or the last.
void splitEnhancedCode(Reply& reply) {
    const char reply_class = static_cast<char>('0' + reply.code / 100);
    if (reply_class != '2' && reply_class != '4' && reply_class != '5') {
        return;
    }
    for (const std::string& line : reply.lines) {
        const size_t length = enhancedCodeLength(line);
        if (length != 0 && line[0] == reply_class) {
            reply.enhanced.assign(line, 0, length);
            break;
        }
    }
    const size_t length = reply.enhanced.size();
    if (length == 0) {
        return;
    }
    for (std::string& line : reply.lines) {
        if (enhancedCodeLength(line) == length && line.compare(0, length, reply.enhanced) == 0) {
            line.erase(0, std::min(line.size(), length + 1));
        }
    }
}

// A line that is (the start of) a reply line: three digits, then a separator or the line end.
bool startsLikeReplyLine(std::string_view rest) {
    const size_t digits = std::min<size_t>(rest.size(), 3);
    for (size_t i = 0; i < digits; ++i) {
        if (!isDigit(rest[i])) {
            return false;
        }
    }
    if (rest.size() <= 3) {
        return true;
    }
    const char separator = rest[3];
    return separator == '-' || separator == ' ' || separator == '\r' || separator == '\n';
}

}  // namespace

Reply::Reply(int code, std::string enhanced, std::string text)
    : code(code), enhanced(std::move(enhanced)) {
    lines.push_back(std::move(text));
}

Reply::Reply(int code, std::string enhanced, std::vector<std::string> lines)
    : code(code), enhanced(std::move(enhanced)), lines(std::move(lines)) {}

Reply::Reply(int code, std::string enhanced, std::initializer_list<std::string> lines)
    : code(code), enhanced(std::move(enhanced)), lines(lines) {}

std::string Reply::toWire() const {
    std::string out;
    appendWire(out);
    return out;
}

void Reply::appendWire(std::string& out) const {
    if (lines.empty()) {
        appendLine(out, code, enhanced, {}, true);
        return;
    }
    for (size_t i = 0; i < lines.size(); ++i) {
        appendLine(out, code, enhanced, lines[i], i + 1 == lines.size());
    }
}

void appendReplyLine(std::string& out, int code, std::string_view enhanced, std::string_view text) {
    appendLine(out, code, enhanced, text, true);
}

std::string Reply::summary() const {
    std::string out;
    appendCode(out, code);
    if (!enhanced.empty()) {
        out.push_back(' ');
        appendSanitized(out, enhanced);
    }
    std::string text;
    for (size_t i = 0; i < lines.size(); ++i) {
        text.append(i == 0 ? "" : "; ").append(lines[i]);
    }
    if (!text.empty()) {
        out.push_back(' ');
        appendSanitized(out, text);
    }
    return out;
}

bool parseReply(std::string_view wire, Reply& reply) {
    Reply parsed;
    bool last_seen = false;
    size_t pos = 0;
    while (pos < wire.size()) {
        ReplyLine line;
        if (last_seen || !splitReplyLine(takeLine(wire, pos), line)) {
            return false;
        }
        if (!parsed.lines.empty() && line.code != parsed.code) {
            return false;
        }
        parsed.code = line.code;
        parsed.lines.emplace_back(line.text);
        last_seen = line.last;
    }
    if (!last_seen) {
        return false;
    }
    splitEnhancedCode(parsed);
    reply = std::move(parsed);
    return true;
}

size_t completeReplyLength(std::string_view buffer, size_t max_line) {
    size_t pos = 0;
    while (true) {
        const std::string_view rest = buffer.substr(pos);
        if (!startsLikeReplyLine(rest)) {
            return std::string_view::npos;
        }
        const size_t window = std::min(rest.size(), max_line);
        const void* lf = window == 0 ? nullptr : std::memchr(rest.data(), '\n', window);
        if (lf == nullptr) {
            return rest.size() >= max_line ? std::string_view::npos : 0;
        }
        pos += static_cast<size_t>(static_cast<const char*>(lf) - rest.data()) + 1;
        if (rest[3] != '-') {
            return pos;
        }
    }
}

}  // namespace mailgate::smtp
