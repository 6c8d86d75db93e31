#include "core/auth/sasl.hpp"

#include <array>

namespace mailgate::auth {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
    const size_t at = kAlphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

}  // namespace

std::optional<std::string> decodeBase64(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        std::array<int, 4> v{};
        size_t padding = 0;
        for (size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            if (c == '=' && last && j >= 2) {
                ++padding;
                v[j] = 0;
                continue;
            }
            if (padding > 0) {
                return std::nullopt;  // data after '='
            }
            v[j] = sextet(c);
            if (v[j] < 0) {
                return std::nullopt;
            }
        }
        const unsigned triple = (static_cast<unsigned>(v[0]) << 18) |
                                (static_cast<unsigned>(v[1]) << 12) |
                                (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
        out += static_cast<char>((triple >> 16) & 0xff);
        if (padding < 2) {
            out += static_cast<char>((triple >> 8) & 0xff);
        }
        if (padding < 1) {
            out += static_cast<char>(triple & 0xff);
        }
    }
    return out;
}

std::string encodeBase64(std::string_view bytes) {
    std::string out;
    for (size_t i = 0; i < bytes.size(); i += 3) {
        const size_t n = std::min<size_t>(3, bytes.size() - i);
        unsigned triple = 0;
        for (size_t j = 0; j < 3; ++j) {
            triple = (triple << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
        }
        for (size_t j = 0; j < 4; ++j) {
            out += j <= n ? kAlphabet[(triple >> (18 - 6 * j)) & 0x3f] : '=';
        }
    }
    return out;
}

std::optional<PlainCredentials> parsePlain(std::string_view message) {
    const size_t first = message.find('\0');
    if (first == std::string_view::npos) {
        return std::nullopt;
    }
    const size_t second = message.find('\0', first + 1);
    if (second == std::string_view::npos ||
        message.find('\0', second + 1) != std::string_view::npos) {
        return std::nullopt;
    }
    PlainCredentials credentials{std::string(message.substr(0, first)),
                                 std::string(message.substr(first + 1, second - first - 1)),
                                 std::string(message.substr(second + 1))};
    if (credentials.authcid.empty()) {
        return std::nullopt;
    }
    return credentials;
}

}  // namespace mailgate::auth
