#include "mime_text.hpp"

#include <gmime/gmime.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>

namespace mailgate::spam_score {
namespace {

struct GFree {
    void operator()(void* p) const { g_free(p); }
};
using GString = std::unique_ptr<char, GFree>;

struct Unref {
    void operator()(void* p) const { g_object_unref(p); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, Unref>;

char asciiLower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Counts "content-type:" at line starts (ASCII case ignored): an upper bound on the parts.
std::size_t countContentTypes(std::string_view text, std::size_t stop_after) {
    static constexpr std::string_view kField = "content-type:";
    std::size_t count = 0;
    for (std::size_t pos = 0; pos + kField.size() <= text.size() && count <= stop_after;) {
        bool match = true;
        for (std::size_t i = 0; i < kField.size() && match; ++i) {
            match = asciiLower(text[pos + i]) == kField[i];
        }
        count += match ? 1 : 0;
        const std::size_t lf = text.find('\n', pos);
        if (lf == std::string_view::npos) {
            break;
        }
        pos = lf + 1;
    }
    return count;
}

class PartWalker {
  public:
    PartWalker(const MimeLimits& limits, MessageFacts& facts) : limits_(limits), facts_(facts) {}

    void walk(GMimeObject* object, std::size_t depth) {
        if (object == nullptr || depth > limits_.max_depth || parts_ >= limits_.max_parts) {
            return;
        }
        ++parts_;
        if (GMIME_IS_MULTIPART(object)) {
            GMimeMultipart* multipart = GMIME_MULTIPART(object);
            const int count = g_mime_multipart_get_count(multipart);
            for (int i = 0; i < count && parts_ < limits_.max_parts; ++i) {
                walk(g_mime_multipart_get_part(multipart, i), depth + 1);
            }
            return;
        }
        if (GMIME_IS_MESSAGE_PART(object)) {
            GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
            walk(inner != nullptr ? g_mime_message_get_mime_part(inner) : nullptr, depth + 1);
            return;
        }
        addLeaf(object);
    }

  private:
    void addLeaf(GMimeObject* object) {
        GMimeContentType* type = g_mime_object_get_content_type(object);
        const GString mime_type(type != nullptr ? g_mime_content_type_get_mime_type(type)
                                                : nullptr);
        std::string lowered = mime_type ? mime_type.get() : "text/plain";
        for (char& c : lowered) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        facts_.content_types.push_back(lowered);
        if (!GMIME_IS_TEXT_PART(object) || text_size_ >= limits_.max_text_size) {
            return;
        }
        // Decoding (transfer encoding, then charset to UTF-8) is linear in the part's size,
        // which the host's message size limit bounds.
        const GString text(g_mime_text_part_get_text(GMIME_TEXT_PART(object)));
        if (!text) {
            return;
        }
        std::string decoded(text.get());
        if (decoded.size() > limits_.max_text_size - text_size_) {
            decoded.resize(limits_.max_text_size - text_size_);
        }
        text_size_ += decoded.size();
        facts_.text_parts.push_back(std::move(decoded));
    }

    const MimeLimits& limits_;
    MessageFacts& facts_;
    std::size_t parts_ = 0;
    std::size_t text_size_ = 0;
};

void rawBodyAsText(std::string_view body, const MimeLimits& limits, MessageFacts& facts) {
    facts.text_parts.emplace_back(body.substr(0, limits.max_text_size));
}

// Eight octets at a time: this runs over every message's whole body.
bool isAscii(std::string_view text) {
    constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
    std::uint64_t seen = 0;
    std::size_t pos = 0;
    for (; pos + sizeof seen <= text.size(); pos += sizeof seen) {
        std::uint64_t word;
        std::memcpy(&word, text.data() + pos, sizeof word);
        seen |= word;
    }
    for (; pos < text.size(); ++pos) {
        seen |= static_cast<unsigned char>(text[pos]);
    }
    return (seen & kHighBits) == 0;
}

std::string_view trimmed(std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// "text/plain", alone or with charset us-ascii or utf-8 as its one parameter.
bool isPlainTextType(std::string_view value) {
    const std::size_t semicolon = value.find(';');
    if (!equalsIgnoreCase(trimmed(value.substr(0, semicolon)), "text/plain")) {
        return false;
    }
    if (semicolon == std::string_view::npos) {
        return true;
    }
    const std::string_view parameter = value.substr(semicolon + 1);
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos ||
        !equalsIgnoreCase(trimmed(parameter.substr(0, equals)), "charset")) {
        return false;
    }
    std::string_view charset = trimmed(parameter.substr(equals + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
        charset = charset.substr(1, charset.size() - 2);
    }
    return equalsIgnoreCase(charset, "us-ascii") || equalsIgnoreCase(charset, "utf-8");
}

bool isIdentityEncoding(std::string_view value) {
    value = trimmed(value);
    return equalsIgnoreCase(value, "7bit") || equalsIgnoreCase(value, "8bit") ||
           equalsIgnoreCase(value, "binary");
}

}  // namespace

bool isPlainAsciiText(std::string_view mime_headers, std::string_view body) {
    if (body.empty() || !isAscii(body)) {
        return false;
    }
    bool has_type = false;
    while (!mime_headers.empty()) {
        const std::size_t end = mime_headers.find("\r\n");
        const std::string_view line = mime_headers.substr(0, end);
        mime_headers.remove_prefix(end == std::string_view::npos ? mime_headers.size() : end + 2);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || line.find('\n') != std::string_view::npos) {
            return false;  // a folded value or a stray line: GMime reads it
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = line.substr(colon + 1);
        if (equalsIgnoreCase(name, "Content-Type")) {
            if (has_type || !isPlainTextType(value)) {
                return false;
            }
            has_type = true;
        } else if (equalsIgnoreCase(name, "Content-Transfer-Encoding")) {
            if (!isIdentityEncoding(value)) {
                return false;
            }
        } else if (!equalsIgnoreCase(name, "MIME-Version")) {
            return false;
        }
    }
    return true;
}

void initMime() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

bool decodeMimeText(std::string_view mime_headers, std::string_view body, const MimeLimits& limits,
                    MessageFacts& facts) {
    if (isPlainAsciiText(mime_headers, body)) {
        facts.content_types.emplace_back("text/plain");
        rawBodyAsText(body, limits, facts);
        return true;
    }
    return decodeMimeTextWithGMime(mime_headers, body, limits, facts);
}

bool decodeMimeTextWithGMime(std::string_view mime_headers, std::string_view body,
                             const MimeLimits& limits, MessageFacts& facts) {
    // GMime parses nested multiparts recursively: refuse what could be deep before parsing.
    if (countContentTypes(body, limits.max_parts) >= limits.max_parts) {
        rawBodyAsText(body, limits, facts);
        return false;
    }
    std::string message(mime_headers);
    message += "\r\n";
    message += body;
    GObjectPtr<GMimeStream> stream(
        g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
    GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    GObjectPtr<GMimeMessage> parsed(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!parsed) {
        rawBodyAsText(body, limits, facts);
        return false;
    }
    PartWalker(limits, facts).walk(g_mime_message_get_mime_part(parsed.get()), 0);
    return true;
}

std::string decodeHeaderValue(std::string_view value) {
    std::string unfolded;
    unfolded.reserve(value.size());
    for (const char c : value) {
        if (c != '\r' && c != '\n') {
            unfolded += c;
        }
    }
    unfolded = trimmed(unfolded);
    if (unfolded.find("=?") == std::string::npos) {
        return unfolded;
    }
    const GString decoded(g_mime_utils_header_decode_text(nullptr, unfolded.c_str()));
    return decoded ? std::string(decoded.get()) : unfolded;
}

}  // namespace mailgate::spam_score
