#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The names asked of a DNS list and the meaning of its answers; no DNS, no SDK types.
namespace mailgate::dnsbl {

// An IPv4 network for the answers a list gives ("127.0.0.2" is a /32).
struct Ipv4Network {
    std::uint32_t address = 0;  // host byte order, host bits cleared
    int prefix_length = 32;
};

std::optional<Ipv4Network> parseIpv4Network(std::string_view text);
bool networkContains(const Ipv4Network& network, std::uint32_t address);
std::string formatIpv4(std::uint32_t address);

// The client address reversed for a DNS list: "192.0.2.1" gives "1.2.0.192", "2001:db8::1"
// gives the 32 nibbles "1.0.0.0...8.b.d.0.1.0.0.2". An IPv4-mapped IPv6 address is IPv4.
// Empty for anything that is not an IP address.
std::optional<std::string> reversedClientAddress(std::string_view client_address);

// A domain name usable in a query: labels of letters, digits, '-' and '_', 1 to 63 octets each,
// separated by single dots. Returns it in lower case without a trailing dot, or nothing.
std::optional<std::string> normalizedDomain(std::string_view text);

// The domain of an envelope sender ("user@Example.ORG" gives "example.org"); nothing for the
// null sender, a missing domain, an address literal or a malformed domain.
std::optional<std::string> senderDomain(std::string_view mail_from);

// "prefix.zone" when it fits the 253 octets of a domain name.
std::optional<std::string> queryName(std::string_view prefix, std::string_view zone);

// "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353": true when it is one of these forms.
bool isValidResolverAddress(std::string_view text);

}  // namespace mailgate::dnsbl
