#include "header_addresses.hpp"

namespace mailgate::rewrite {
namespace {

bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool endsWord(char c) {
    return isSpace(c) || c == '"' || c == '(' || c == ')' || c == '<' || c == '>' || c == ',' ||
           c == ';' || c == ':';
}

// Index just past the quoted string or comment that starts at `start`.
size_t skipDelimited(std::string_view value, size_t start) {
    const char open = value[start];
    const char close = open == '"' ? '"' : ')';
    int depth = 1;
    size_t i = start + 1;
    for (; i < value.size() && depth > 0; ++i) {
        if (value[i] == '\\') {
            ++i;
        } else if (value[i] == close) {
            --depth;
        } else if (open == '(' && value[i] == '(') {
            ++depth;
        }
    }
    return i;
}

// The address inside angle brackets: blanks trimmed, a source route (@a,@b:) dropped.
std::optional<AddressSpan> angleAddress(std::string_view value, size_t begin, size_t end) {
    while (begin < end && isSpace(value[begin])) {
        ++begin;
    }
    while (end > begin && isSpace(value[end - 1])) {
        --end;
    }
    if (begin < end && value[begin] == '@') {
        const auto colon = value.find(':', begin);
        if (colon == std::string_view::npos || colon >= end) {
            return std::nullopt;
        }
        begin = colon + 1;
    }
    const auto at = value.substr(begin, end - begin).rfind('@');
    if (at == std::string_view::npos || at == 0 || begin + at + 1 >= end) {
        return std::nullopt;
    }
    return AddressSpan{begin, end - begin};
}

class Scanner {
  public:
    explicit Scanner(std::string_view value) : value_(value) {}

    std::vector<AddressSpan> run() {
        for (size_t i = 0; i < value_.size();) {
            i = step(i);
        }
        flush();
        return found_;
    }

  private:
    size_t step(size_t i) {
        const char c = value_[i];
        if (c == '"' || c == '(') {
            return skipDelimited(value_, i);
        }
        if (c == '<') {
            const auto close = value_.find('>', i + 1);
            candidates_.clear();  // words before <...> are a display name
            angle_seen_ = true;
            if (close == std::string_view::npos) {
                return value_.size();
            }
            if (const auto span = angleAddress(value_, i + 1, close)) {
                found_.push_back(*span);
            }
            return close + 1;
        }
        if (c == ',' || c == ';') {
            flush();
            return i + 1;
        }
        if (c == ':') {
            candidates_.clear();  // a group's display name
            return i + 1;
        }
        if (isSpace(c) || c == '>' || c == ')') {
            return i + 1;
        }
        size_t end = i;
        while (end < value_.size() && !endsWord(value_[end])) {
            ++end;
        }
        const std::string_view word = value_.substr(i, end - i);
        const auto at = word.rfind('@');
        if (at != std::string_view::npos && at != 0 && at + 1 < word.size()) {
            candidates_.push_back({i, end - i});
        }
        return end;
    }

    // End of one mailbox: a bare address counts only when there were no angle brackets.
    void flush() {
        if (!angle_seen_ && candidates_.size() == 1) {
            found_.push_back(candidates_.front());
        }
        candidates_.clear();
        angle_seen_ = false;
    }

    std::string_view value_;
    std::vector<AddressSpan> found_;
    std::vector<AddressSpan> candidates_;
    bool angle_seen_ = false;
};

}  // namespace

std::vector<AddressSpan> findAddresses(std::string_view value) {
    return Scanner(value).run();
}

std::optional<std::string> rewriteAddresses(
    std::string_view value,
    const std::function<std::optional<std::string>(std::string_view)>& map) {
    std::string out;
    size_t copied = 0;
    bool changed = false;
    for (const AddressSpan& span : findAddresses(value)) {
        const auto replacement = map(value.substr(span.offset, span.length));
        if (!replacement) {
            continue;
        }
        out.append(value.substr(copied, span.offset - copied));
        out += *replacement;
        copied = span.offset + span.length;
        changed = true;
    }
    if (!changed) {
        return std::nullopt;
    }
    out.append(value.substr(copied));
    return out;
}

}  // namespace mailgate::rewrite
