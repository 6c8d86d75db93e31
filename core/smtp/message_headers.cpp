#include "core/smtp/message_headers.hpp"

namespace mailgate::smtp {
namespace {

// Length of the line at `pos` including its CRLF, or up to the end of content without one.
size_t lineLength(std::string_view content, size_t pos) {
    const size_t lf = content.find('\n', pos);
    return lf == std::string_view::npos ? content.size() - pos : lf + 1 - pos;
}

bool isContinuation(std::string_view content, size_t pos) {
    return pos < content.size() && (content[pos] == ' ' || content[pos] == '\t');
}

std::string_view trimLineEnd(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

bool validHeaderName(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f || c == ':') {
            return false;
        }
    }
    return true;
}

bool validHeaderValue(std::string_view value) {
    for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\0') {
            return false;
        }
        if (value[i] == '\r') {
            if (i + 2 >= value.size() || value[i + 1] != '\n' ||
                (value[i + 2] != ' ' && value[i + 2] != '\t')) {
                return false;
            }
            ++i;
        } else if (value[i] == '\n') {
            return false;
        }
    }
    return true;
}

HeaderSection parseHeaderSection(std::string_view content) {
    HeaderSection section;
    section.fields.reserve(16);  // most messages have 5 to 30 fields: few regrowths
    size_t pos = 0;
    while (pos < content.size() && section.fields.size() < kMaxHeaderFields) {
        const size_t length = lineLength(content, pos);
        const std::string_view line = content.substr(pos, length);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || !validHeaderName(line.substr(0, colon))) {
            break;  // the blank line, or body text without a separating blank line
        }
        size_t end = pos + length;
        while (isContinuation(content, end)) {
            end += lineLength(content, end);
        }
        if (end > kMaxHeaderBytes) {
            break;
        }
        const std::string_view field = content.substr(pos, end - pos);
        section.fields.push_back({field.substr(0, colon), trimLineEnd(field.substr(colon + 1))});
        pos = end;
        section.end = end;
    }
    return section;
}

}  // namespace mailgate::smtp
