#include "conditions.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace mailgate::rewrite {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool isMapped(const std::array<std::uint8_t, 16>& address) {
    return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.begin());
}

bool validLabelChar(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || byte >= 0x80;
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string toLower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

std::string_view domainOf(std::string_view address) {
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

std::optional<std::array<std::uint8_t, 16>> parseAddress(std::string_view text) {
    if (text.empty() || text.size() > 45) {
        return std::nullopt;
    }
    const std::string terminated(text);
    std::array<std::uint8_t, 16> address{};
    if (inet_pton(AF_INET, terminated.c_str(), address.data() + 12) == 1) {
        std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), address.begin());
        return address;
    }
    if (inet_pton(AF_INET6, terminated.c_str(), address.data()) == 1) {
        return address;
    }
    return std::nullopt;
}

std::optional<Network> parseNetwork(std::string_view text, std::string& error) {
    const auto slash = text.find('/');
    const auto address = parseAddress(text.substr(0, slash));
    if (!address) {
        error = "\"" + std::string(text) + "\" is not an IPv4 or IPv6 address or network";
        return std::nullopt;
    }
    const bool v4 = isMapped(*address) && text.find(':') == std::string_view::npos;
    const unsigned max_prefix = v4 ? 32 : 128;
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        const auto [end, code] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || code != std::errc() || end != digits.data() + digits.size() ||
            prefix > max_prefix) {
            error = "the prefix length of \"" + std::string(text) + "\" must be 0 to " +
                    std::to_string(max_prefix);
            return std::nullopt;
        }
    }
    Network network{*address, v4 ? prefix + 96 : prefix};
    for (unsigned bit = network.prefix; bit < 128; ++bit) {
        network.address[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }
    return network;
}

bool contains(const Network& network, const std::array<std::uint8_t, 16>& address) {
    for (unsigned bit = 0; bit < network.prefix; ++bit) {
        const auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
        if ((network.address[bit / 8] & mask) != (address[bit / 8] & mask)) {
            return false;
        }
    }
    return true;
}

std::optional<DomainPattern> parseDomainPattern(std::string_view text, std::string& error) {
    DomainPattern pattern;
    std::string_view domain = text;
    if (domain.starts_with('.')) {
        pattern.subdomains_only = true;
        domain.remove_prefix(1);
    }
    bool valid = !domain.empty() && domain.size() <= 253 && !domain.starts_with('.') &&
                 !domain.ends_with('.') && domain.find("..") == std::string_view::npos;
    for (const char c : domain) {
        valid = valid && (c == '.' || validLabelChar(c));
    }
    if (!valid) {
        error = "\"" + std::string(text) +
                "\" is not a domain (example.org, or .example.org for "
                "its subdomains)";
        return std::nullopt;
    }
    pattern.domain = toLower(domain);
    return pattern;
}

bool matches(const DomainPattern& pattern, std::string_view domain) {
    if (!pattern.subdomains_only) {
        return equalsIgnoreCase(domain, pattern.domain);
    }
    return domain.size() > pattern.domain.size() + 1 &&
           domain[domain.size() - pattern.domain.size() - 1] == '.' &&
           equalsIgnoreCase(domain.substr(domain.size() - pattern.domain.size()), pattern.domain);
}

namespace {

bool anyMatches(const std::vector<DomainPattern>& patterns, std::string_view domain) {
    return !domain.empty() && std::any_of(patterns.begin(), patterns.end(),
                                          [&](const auto& p) { return matches(p, domain); });
}

}  // namespace

bool Conditions::holds(const Context& context) const {
    if (!sender_domains.empty() && !anyMatches(sender_domains, domainOf(context.sender))) {
        return false;
    }
    if (!recipient_domains.empty()) {
        const bool any = context.recipients != nullptr &&
                         std::any_of(context.recipients->begin(), context.recipients->end(),
                                     [&](std::string_view rcpt) {
                                         return anyMatches(recipient_domains, domainOf(rcpt));
                                     });
        if (!any) {
            return false;
        }
    }
    if (!client_networks.empty()) {
        return context.client.has_value() &&
               std::any_of(
                   client_networks.begin(), client_networks.end(),
                   [&](const Network& network) { return contains(network, *context.client); });
    }
    return true;
}

}  // namespace mailgate::rewrite
