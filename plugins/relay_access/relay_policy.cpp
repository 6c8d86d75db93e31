#include "relay_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <utility>

namespace mailgate::relay_access {
namespace {

constexpr int kMappedPrefix = 96;  // ::ffff:0:0/96 holds the IPv4-mapped addresses

char toLowerAscii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return toLowerAscii(x) == toLowerAscii(y);
           });
}

std::string toLower(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(), toLowerAscii);
    return lower;
}

bool isMapped(const IpBytes& bytes) {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::equal(std::begin(kPrefix), std::end(kPrefix), bytes.begin());
}

// An address as written: `written_as_ipv4` tells "10.0.0.1" from "::ffff:10.0.0.1".
struct RawAddress {
    IpBytes bytes{};
    bool written_as_ipv4 = false;
};

std::optional<RawAddress> parseRawAddress(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    const std::string terminated(text);  // inet_pton wants a NUL-terminated string
    RawAddress raw;
    if (inet_pton(AF_INET, terminated.c_str(), raw.bytes.data() + 12) == 1) {
        raw.bytes[10] = 0xff;
        raw.bytes[11] = 0xff;
        raw.written_as_ipv4 = true;
        return raw;
    }
    if (inet_pton(AF_INET6, terminated.c_str(), raw.bytes.data()) == 1) {
        return raw;
    }
    return std::nullopt;
}

// One to three decimal digits, at most `max`.
std::optional<int> parsePrefixLength(std::string_view text, int max) {
    if (text.empty() || text.size() > 3) {
        return std::nullopt;
    }
    int value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    if (value > max) {
        return std::nullopt;
    }
    return value;
}

// Clears the bits after `prefix_length`; returns whether any was set.
bool maskHostBits(IpBytes& bytes, int prefix_length) {
    bool changed = false;
    for (int i = 0; i < 16; ++i) {
        const int bits_kept = std::clamp(prefix_length - i * 8, 0, 8);
        const auto mask = static_cast<uint8_t>(bits_kept == 0 ? 0 : 0xff << (8 - bits_kept));
        const auto masked = static_cast<uint8_t>(bytes[i] & mask);
        changed = changed || masked != bytes[i];
        bytes[i] = masked;
    }
    return changed;
}

bool isDomainByte(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || byte >= 0x80;
}

bool hasRoutingCharacter(std::string_view local_part) {
    return local_part.find_first_of("%!@") != std::string_view::npos;
}

}  // namespace

NetworkParseResult parseNetwork(std::string_view text) {
    NetworkParseResult result;
    const size_t slash = text.find('/');
    const auto raw = parseRawAddress(text.substr(0, slash));
    if (!raw) {
        result.error = "\"" + std::string(text) + "\" is not an IP address or network";
        return result;
    }
    const int max_prefix = raw->written_as_ipv4 ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const auto parsed = parsePrefixLength(text.substr(slash + 1), max_prefix);
        if (!parsed) {
            result.error = "bad prefix length in \"" + std::string(text) + "\": must be 0 to " +
                           std::to_string(max_prefix) +
                           (raw->written_as_ipv4 ? " for IPv4" : " for IPv6");
            return result;
        }
        prefix = *parsed;
    }
    Network network;
    network.address.bytes = raw->bytes;
    network.prefix_length = raw->written_as_ipv4 ? prefix + kMappedPrefix : prefix;
    network.address.ipv4 =
        raw->written_as_ipv4 || (isMapped(raw->bytes) && network.prefix_length >= kMappedPrefix);
    result.host_bits_masked = maskHostBits(network.address.bytes, network.prefix_length);
    result.network = network;
    return result;
}

std::optional<IpAddress> parseClientAddress(std::string_view text) {
    const auto raw = parseRawAddress(text.substr(0, text.find('%')));
    if (!raw) {
        return std::nullopt;
    }
    return IpAddress{raw->bytes, isMapped(raw->bytes)};
}

bool networkContains(const Network& network, const IpAddress& address) {
    if (network.address.ipv4 != address.ipv4) {
        return false;
    }
    IpBytes masked = address.bytes;
    maskHostBits(masked, network.prefix_length);
    return masked == network.address.bytes;
}

std::string formatNetwork(const Network& network) {
    char text[INET6_ADDRSTRLEN] = {};
    const auto& bytes = network.address.bytes;
    if (network.address.ipv4) {
        inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
        return std::string(text) + "/" + std::to_string(network.prefix_length - kMappedPrefix);
    }
    inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(network.prefix_length);
}

DomainParseResult parseDomainPattern(std::string_view text) {
    DomainParseResult result;
    DomainPattern pattern;
    std::string_view domain = text;
    if (!domain.empty() && domain.front() == '.') {
        pattern.subdomains_only = true;
        domain.remove_prefix(1);
    }
    if (!isValidDomain(domain)) {
        result.error = "\"" + std::string(text) +
                       "\" is not a domain name (non-empty labels of letters, digits and '-' "
                       "separated by dots; a leading dot for subdomains only)";
        return result;
    }
    pattern.domain = toLower(domain);
    result.pattern = std::move(pattern);
    return result;
}

bool domainMatches(const DomainPattern& pattern, std::string_view domain) {
    const std::string_view wanted = pattern.domain;
    if (!pattern.subdomains_only) {
        return equalsIgnoreCase(domain, wanted);
    }
    if (domain.size() < wanted.size() + 2) {  // at least "x." before the suffix
        return false;
    }
    const size_t dot = domain.size() - wanted.size() - 1;
    return domain[dot] == '.' && equalsIgnoreCase(domain.substr(dot + 1), wanted);
}

bool isValidDomain(std::string_view domain) {
    if (domain.empty() || domain.front() == '.' || domain.back() == '.' ||
        domain.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(domain.begin(), domain.end(),
                       [](char c) { return c == '.' || isDomainByte(c); });
}

std::optional<RecipientParts> splitRecipient(std::string_view recipient) {
    bool quoted = false;
    size_t at = std::string_view::npos;
    for (size_t i = 0; i < recipient.size(); ++i) {
        const char c = recipient[i];
        if (quoted) {
            if (c == '\\') {
                ++i;  // quoted pair: the next character is literal
            } else if (c == '"') {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == '@') {
            at = i;
        }
    }
    if (quoted) {
        return std::nullopt;
    }
    if (at == std::string_view::npos) {
        return RecipientParts{recipient, {}, false};
    }
    return RecipientParts{recipient.substr(0, at), recipient.substr(at + 1), true};
}

std::string_view describe(RelayReason reason) {
    switch (reason) {
        case RelayReason::TrustedClient:
            return "client is in trusted_networks";
        case RelayReason::LocalDomain:
            return "recipient is in a local domain";
        case RelayReason::Postmaster:
            return "bare postmaster";
        case RelayReason::MalformedAddress:
            return "malformed address";
        case RelayReason::NoDomain:
            return "recipient has no domain";
        case RelayReason::IpLiteral:
            return "domain is an address literal";
        case RelayReason::MalformedDomain:
            return "malformed domain";
        case RelayReason::RoutingLocalPart:
            return "local part contains '%', '!' or '@'";
        case RelayReason::ForeignDomain:
            return "domain is not local";
    }
    return "domain is not local";
}

RelayPolicy::RelayPolicy(std::vector<Network> trusted_networks,
                         std::vector<DomainPattern> local_domains)
    : trusted_networks_(std::move(trusted_networks)), local_domains_(std::move(local_domains)) {}

bool RelayPolicy::isTrustedClient(std::string_view client_address) const {
    const auto address = parseClientAddress(client_address);
    if (!address) {
        return false;
    }
    return std::any_of(trusted_networks_.begin(), trusted_networks_.end(),
                       [&](const Network& network) { return networkContains(network, *address); });
}

bool RelayPolicy::isLocalDomain(std::string_view domain) const {
    return std::any_of(
        local_domains_.begin(), local_domains_.end(),
        [&](const DomainPattern& pattern) { return domainMatches(pattern, domain); });
}

RelayDecision RelayPolicy::decide(std::string_view client_address,
                                  std::string_view recipient) const {
    if (isTrustedClient(client_address)) {
        return {true, RelayReason::TrustedClient};
    }
    return decideRecipient(recipient);
}

RelayDecision RelayPolicy::decideRecipient(std::string_view recipient) const {
    const auto parts = splitRecipient(recipient);
    if (!parts) {
        return {false, RelayReason::MalformedAddress};
    }
    if (!parts->has_domain) {
        if (equalsIgnoreCase(parts->local_part, "postmaster")) {
            return {true, RelayReason::Postmaster};
        }
        return {false,
                parts->local_part.empty() ? RelayReason::MalformedAddress : RelayReason::NoDomain};
    }
    if (parts->local_part.empty()) {
        return {false, RelayReason::MalformedAddress};
    }
    if (hasRoutingCharacter(parts->local_part)) {
        return {false, RelayReason::RoutingLocalPart};
    }
    if (parts->domain.empty()) {
        return {false, RelayReason::NoDomain};
    }
    if (parts->domain.front() == '[') {
        return {false, RelayReason::IpLiteral};
    }
    if (!isValidDomain(parts->domain)) {
        return {false, RelayReason::MalformedDomain};
    }
    if (!isLocalDomain(parts->domain)) {
        return {false, RelayReason::ForeignDomain};
    }
    return {true, RelayReason::LocalDomain};
}

}  // namespace mailgate::relay_access
