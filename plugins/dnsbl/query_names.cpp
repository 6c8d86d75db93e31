#include "query_names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace mailgate::dnsbl {
namespace {

constexpr std::size_t kMaxName = 253;
constexpr std::size_t kMaxLabel = 63;

std::optional<std::uint32_t> parseIpv4(std::string_view text) {
    if (text.empty() || text.size() >= INET_ADDRSTRLEN) {
        return std::nullopt;
    }
    const std::string terminated(text);
    in_addr address{};
    if (inet_pton(AF_INET, terminated.c_str(), &address) != 1) {
        return std::nullopt;
    }
    return ntohl(address.s_addr);
}

bool isLabelChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool isValidPort(std::string_view text) {
    unsigned port = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    return error == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535 &&
           text.front() != '+';
}

bool isIpv6(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return false;
    }
    const std::string terminated(text);
    in6_addr address{};
    return inet_pton(AF_INET6, terminated.c_str(), &address) == 1;
}

}  // namespace

std::optional<Ipv4Network> parseIpv4Network(std::string_view text) {
    const auto slash = text.find('/');
    const auto address = parseIpv4(text.substr(0, slash));
    if (!address) {
        return std::nullopt;
    }
    Ipv4Network network{*address, 32};
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        int prefix = -1;
        const auto [end, error] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
            prefix < 0 || prefix > 32 || digits.front() == '+') {
            return std::nullopt;
        }
        network.prefix_length = prefix;
    }
    const std::uint32_t mask =
        network.prefix_length == 0 ? 0u : ~std::uint32_t{0} << (32 - network.prefix_length);
    network.address &= mask;
    return network;
}

bool networkContains(const Ipv4Network& network, std::uint32_t address) {
    const std::uint32_t mask =
        network.prefix_length == 0 ? 0u : ~std::uint32_t{0} << (32 - network.prefix_length);
    return (address & mask) == network.address;
}

std::string formatIpv4(std::uint32_t address) {
    return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
           std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

std::optional<std::string> reversedClientAddress(std::string_view client_address) {
    if (const auto v4 = parseIpv4(client_address)) {
        return formatIpv4((*v4 >> 24) | ((*v4 >> 8) & 0xff00) | ((*v4 << 8) & 0xff0000) |
                          (*v4 << 24));
    }
    const std::string_view without_zone = client_address.substr(0, client_address.find('%'));
    if (!isIpv6(without_zone)) {
        return std::nullopt;
    }
    const std::string terminated(without_zone);
    std::array<unsigned char, 16> bytes{};
    inet_pton(AF_INET6, terminated.c_str(), bytes.data());
    constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped.begin(), kMapped.end(), bytes.begin())) {
        return std::to_string(bytes[15]) + "." + std::to_string(bytes[14]) + "." +
               std::to_string(bytes[13]) + "." + std::to_string(bytes[12]);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string name;
    name.reserve(63);
    for (auto byte = bytes.rbegin(); byte != bytes.rend(); ++byte) {
        if (!name.empty()) {
            name += '.';
        }
        name += kHex[*byte & 0x0f];
        name += '.';
        name += kHex[*byte >> 4];
    }
    return name;
}

std::optional<std::string> normalizedDomain(std::string_view text) {
    if (!text.empty() && text.back() == '.') {
        text.remove_suffix(1);
    }
    if (text.empty() || text.size() > kMaxName) {
        return std::nullopt;
    }
    std::string domain;
    domain.reserve(text.size());
    std::size_t label = 0;
    for (const char c : text) {
        if (c == '.') {
            if (label == 0) {
                return std::nullopt;
            }
            label = 0;
        } else if (!isLabelChar(c) || ++label > kMaxLabel) {
            return std::nullopt;
        }
        domain += lower(c);
    }
    if (label == 0) {
        return std::nullopt;
    }
    return domain;
}

std::optional<std::string> senderDomain(std::string_view mail_from) {
    const auto at = mail_from.rfind('@');
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view domain = mail_from.substr(at + 1);
    if (!domain.empty() && domain.back() == '.') {
        return std::nullopt;  // a trailing dot is not valid in an address
    }
    return normalizedDomain(domain);
}

std::optional<std::string> queryName(std::string_view prefix, std::string_view zone) {
    if (prefix.size() + 1 + zone.size() > kMaxName) {
        return std::nullopt;
    }
    std::string name;
    name.reserve(prefix.size() + 1 + zone.size());
    name.append(prefix).append(".").append(zone);
    return name;
}

bool isValidResolverAddress(std::string_view text) {
    if (parseIpv4(text) || isIpv6(text)) {
        return true;
    }
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || !isIpv6(text.substr(1, close - 1))) {
            return false;
        }
        const std::string_view rest = text.substr(close + 1);
        return rest.empty() || (rest.front() == ':' && isValidPort(rest.substr(1)));
    }
    const auto colon = text.rfind(':');
    return colon != std::string_view::npos && parseIpv4(text.substr(0, colon)) &&
           isValidPort(text.substr(colon + 1));
}

}  // namespace mailgate::dnsbl
