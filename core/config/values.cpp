#include "core/config/values.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace mailgate::config {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

bool isAlnum(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Splits "25MiB" into "25" and "MiB".
std::pair<std::string_view, std::string_view> splitNumber(std::string_view text) {
    size_t end = 0;
    while (end < text.size() && isDigit(text[end])) {
        ++end;
    }
    return {text.substr(0, end), text.substr(end)};
}

// Digits only, no sign; false when empty or too large for uint64_t.
bool parseDigits(std::string_view digits, uint64_t& value) {
    if (digits.empty()) {
        return false;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return ec == std::errc() && end == digits.data() + digits.size();
}

// Multiplies `value` by `factor`; false on overflow of `limit`.
bool scale(uint64_t value, uint64_t factor, uint64_t limit, uint64_t& result) {
    if (value > limit / factor) {
        return false;
    }
    result = value * factor;
    return true;
}

bool isIpv4Like(std::string_view host) {
    return std::all_of(host.begin(), host.end(), [](char c) { return isDigit(c) || c == '.'; });
}

bool isAddress(int family, std::string_view host) {
    std::array<unsigned char, 16> buffer{};
    return inet_pton(family, std::string(host).c_str(), buffer.data()) == 1;
}

// Why `host` (written without brackets) cannot be a host name or IPv4 address, or "".
std::string hostProblem(std::string_view host) {
    if (host.empty()) {
        return "the host is empty; expected host:port";
    }
    if (host.find(':') != std::string_view::npos) {
        return "IPv6 addresses must be written in brackets, like [::1]:25";
    }
    if (isIpv4Like(host)) {
        return isAddress(AF_INET, host) ? "" : "'" + std::string(host) + "' is not an IPv4 address";
    }
    if (!detail::isDomainName(host)) {
        return "'" + std::string(host) + "' is not a valid host name";
    }
    return "";
}

// Ports are written without sign or leading zeros so that toString() gives the text back.
bool parsePort(std::string_view text, uint16_t& port) {
    uint64_t value = 0;
    if (text.size() > 5 || text.starts_with('0') || !parseDigits(text, value) || value > 65535) {
        return false;
    }
    port = static_cast<uint16_t>(value);
    return true;
}

}  // namespace

std::string Endpoint::toString() const {
    if (!path.empty()) {
        return "unix:" + path;
    }
    std::string text = host.find(':') == std::string::npos ? host : "[" + host + "]";
    return text + ":" + std::to_string(port);
}

bool parseSize(const std::string& text, uint64_t& bytes) {
    static constexpr std::array<std::pair<std::string_view, uint64_t>, 8> kUnits{{
        {"", 1},
        {"B", 1},
        {"K", kKiB},
        {"KiB", kKiB},
        {"M", kMiB},
        {"MiB", kMiB},
        {"G", kGiB},
        {"GiB", kGiB},
    }};
    auto [digits, unit] = splitNumber(text);
    uint64_t value = 0;
    if (!parseDigits(digits, value)) {
        return false;
    }
    for (const auto& [name, factor] : kUnits) {
        if (unit == name) {
            return scale(value, factor, std::numeric_limits<uint64_t>::max(), bytes);
        }
    }
    return false;
}

bool parseDuration(const std::string& text, std::chrono::milliseconds& duration) {
    static constexpr std::array<std::pair<std::string_view, uint64_t>, 4> kUnits{{
        {"ms", 1},
        {"s", 1000},
        {"m", 60 * 1000},
        {"h", 60 * 60 * 1000},
    }};
    if (text == "0") {
        duration = std::chrono::milliseconds(0);
        return true;
    }
    auto [digits, unit] = splitNumber(text);
    uint64_t value = 0;
    if (!parseDigits(digits, value)) {
        return false;
    }
    constexpr auto kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    for (const auto& [name, factor] : kUnits) {
        uint64_t ms = 0;
        if (unit == name) {
            if (!scale(value, factor, kLimit, ms)) {
                return false;
            }
            duration = std::chrono::milliseconds(static_cast<int64_t>(ms));
            return true;
        }
    }
    return false;
}

bool parseEndpoint(const std::string& text, Endpoint& endpoint) {
    return detail::endpointProblem(text, endpoint).empty();
}

namespace detail {

bool isDomainName(std::string_view text) {
    if (text.empty() || text.size() > 253) {
        return false;
    }
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = std::min(text.find('.', start), text.size());
        std::string_view label = text.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        if (!std::all_of(label.begin(), label.end(),
                         [](char c) { return isAlnum(c) || c == '-'; })) {
            return false;
        }
        start = end + 1;
    }
    return true;
}

std::string endpointProblem(std::string_view text, Endpoint& endpoint) {
    std::string_view host;
    std::string_view port;
    bool bracketed = text.starts_with('[');
    if (bracketed) {
        size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return "missing ']' after the IPv6 address";
        }
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            return "expected [IPv6 address]:port";
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (!isAddress(AF_INET6, host)) {
            return "'" + std::string(host) + "' is not an IPv6 address";
        }
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return "expected host:port";
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (std::string problem = hostProblem(host); !problem.empty()) {
            return problem;
        }
    }
    Endpoint parsed{std::string(host), 0, {}};
    if (!parsePort(port, parsed.port)) {
        return "the port must be a number from 1 to 65535";
    }
    endpoint = std::move(parsed);
    return "";
}

std::string formatSize(uint64_t bytes) {
    if (bytes != 0 && bytes % kGiB == 0) {
        return std::to_string(bytes / kGiB) + "GiB";
    }
    if (bytes != 0 && bytes % kMiB == 0) {
        return std::to_string(bytes / kMiB) + "MiB";
    }
    if (bytes != 0 && bytes % kKiB == 0) {
        return std::to_string(bytes / kKiB) + "KiB";
    }
    return std::to_string(bytes);
}

std::string formatDuration(std::chrono::milliseconds duration) {
    auto ms = duration.count();
    if (ms != 0 && ms % 3'600'000 == 0) {
        return std::to_string(ms / 3'600'000) + "h";
    }
    if (ms != 0 && ms % 60'000 == 0) {
        return std::to_string(ms / 60'000) + "m";
    }
    if (ms != 0 && ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    return ms == 0 ? "0" : std::to_string(ms) + "ms";
}

}  // namespace detail
}  // namespace mailgate::config
