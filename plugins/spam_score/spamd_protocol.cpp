#include "spamd_protocol.hpp"

#include <charconv>
#include <cmath>
#include <optional>

#include "rules.hpp"

namespace mailgate::spam_score {
namespace {

std::string_view trim(std::string_view text) {
    const std::size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) {
        return {};
    }
    return text.substr(start, text.find_last_not_of(" \t\r\n") - start + 1);
}

// One line without its CRLF (or LF); `rest` moves past it. nullopt when no line end is left.
std::optional<std::string_view> takeLine(std::string_view& rest) {
    const std::size_t end = rest.find('\n');
    if (end == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

std::optional<double> parseNumber(std::string_view text) {
    text = trim(text);
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

// "True ; 1004.2 / 5.0"
bool parseSpamLine(std::string_view value, ScanResult& result) {
    const std::size_t semicolon = value.find(';');
    const std::size_t slash = value.find('/', semicolon == std::string_view::npos ? 0 : semicolon);
    if (semicolon == std::string_view::npos || slash == std::string_view::npos) {
        return false;
    }
    const std::string_view verdict = trim(value.substr(0, semicolon));
    if (equalsIgnoreCase(verdict, "True") || equalsIgnoreCase(verdict, "Yes")) {
        result.spam = true;
    } else if (!equalsIgnoreCase(verdict, "False") && !equalsIgnoreCase(verdict, "No")) {
        return false;
    }
    const auto score = parseNumber(value.substr(semicolon + 1, slash - semicolon - 1));
    const auto required = parseNumber(value.substr(slash + 1));
    if (!score || !required) {
        return false;
    }
    result.score = *score;
    result.required = *required;
    return true;
}

void parseSymbols(std::string_view body, ScanResult& result) {
    while (!body.empty() && result.symbols.size() < kMaxScannerSymbols) {
        const std::size_t comma = body.find(',');
        const std::string_view name = trim(body.substr(0, comma));
        if (!name.empty()) {
            result.symbols.push_back({std::string(name), 0, {}});
        }
        if (comma == std::string_view::npos) {
            break;
        }
        body.remove_prefix(comma + 1);
    }
}

}  // namespace

std::string spamdRequestHead(std::uint64_t message_length) {
    return "SYMBOLS SPAMC/1.5\r\nContent-length: " + std::to_string(message_length) + "\r\n\r\n";
}

ScanResult parseSpamdReply(std::string_view reply) {
    std::string_view rest = reply;
    const auto status = takeLine(rest);
    if (!status) {
        return ScanResult::failure(reply.empty() ? "spamd closed the connection without a reply"
                                                 : "spamd reply has no complete status line");
    }
    // "SPAMD/1.1 0 EX_OK"
    const std::size_t space = status->find(' ');
    if (status->substr(0, 6) != "SPAMD/" || space == std::string_view::npos) {
        return ScanResult::failure("not a spamd reply: " + std::string(status->substr(0, 80)));
    }
    const std::string_view code_and_text = trim(status->substr(space + 1));
    if (code_and_text.substr(0, code_and_text.find(' ')) != "0") {
        return ScanResult::failure("spamd answered " + std::string(code_and_text.substr(0, 120)));
    }
    ScanResult result;
    bool have_spam_line = false;
    std::optional<std::uint64_t> length;
    while (true) {
        const auto line = takeLine(rest);
        if (!line) {
            return ScanResult::failure("spamd reply ends inside its header lines");
        }
        if (line->empty()) {
            break;
        }
        const std::size_t colon = line->find(':');
        const std::string_view name = line->substr(0, colon);
        const std::string_view value =
            colon == std::string_view::npos ? std::string_view{} : line->substr(colon + 1);
        if (equalsIgnoreCase(name, "Spam")) {
            if (!parseSpamLine(value, result)) {
                return ScanResult::failure("malformed spamd line: " +
                                           std::string(line->substr(0, 120)));
            }
            have_spam_line = true;
        } else if (equalsIgnoreCase(name, "Content-length")) {
            std::uint64_t parsed = 0;
            const std::string_view digits = trim(value);
            const auto [end, ec] =
                std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
            if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
                return ScanResult::failure("malformed spamd Content-length: " +
                                           std::string(trim(value).substr(0, 40)));
            }
            length = parsed;
        }
    }
    if (!have_spam_line) {
        return ScanResult::failure("spamd reply has no Spam line");
    }
    if (length && rest.size() < *length) {
        return ScanResult::failure("spamd reply is shorter than its Content-length");
    }
    parseSymbols(length ? rest.substr(0, *length) : rest, result);
    result.ok = true;
    return result;
}

}  // namespace mailgate::spam_score
