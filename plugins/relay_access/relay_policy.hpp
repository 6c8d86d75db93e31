#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The relay decision, free of SDK types so that it can be unit-tested on its own.
namespace mailgate::relay_access {

using IpBytes = std::array<uint8_t, 16>;

// An IP address. IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d) so one comparison serves both
// families; `ipv4` says which family the address belongs to.
struct IpAddress {
    IpBytes bytes{};
    bool ipv4 = false;
};

// An IP network with its host bits cleared. For IPv4 `prefix_length` counts from the start of
// the mapped form, so 10.0.0.0/8 is stored with prefix_length 104.
struct Network {
    IpAddress address;
    int prefix_length = 0;
};

struct NetworkParseResult {
    std::optional<Network> network;
    std::string error;              // why parsing failed, when `network` is empty
    bool host_bits_masked = false;  // "10.1.2.3/8" was read as 10.0.0.0/8
};

// Parses "192.0.2.0/24", "2001:db8::/32" or a single address (a /32 or /128). An IPv4-mapped
// IPv6 network of prefix 96 or more ("::ffff:192.0.2.0/120") is read as the IPv4 network it
// names. No surrounding blanks, no zone id.
NetworkParseResult parseNetwork(std::string_view text);

// Parses a client address as the host gives it: IPv4, IPv6, or IPv4-mapped IPv6 (which becomes
// IPv4). A zone id ("fe80::1%eth0") is ignored.
std::optional<IpAddress> parseClientAddress(std::string_view text);

// An IPv4 network only contains IPv4 addresses and an IPv6 network only IPv6 ones: "::/0" does
// not trust every IPv4 client through the mapped range.
bool networkContains(const Network& network, const IpAddress& address);

// "10.0.0.0/8", "2001:db8::/32".
std::string formatNetwork(const Network& network);

// A local domain: "example.test" matches that domain only; ".example.org" matches every
// subdomain of example.org (at any depth) but not example.org itself.
struct DomainPattern {
    std::string domain;  // lower case, without the leading dot
    bool subdomains_only = false;
};

struct DomainParseResult {
    std::optional<DomainPattern> pattern;
    std::string error;  // why parsing failed, when `pattern` is empty
};

DomainParseResult parseDomainPattern(std::string_view text);

// Case-insensitive (ASCII). `domain` must already be syntactically valid (isValidDomain).
bool domainMatches(const DomainPattern& pattern, std::string_view domain);

// Dot-separated non-empty labels of letters, digits, '-', '_' or UTF-8 bytes; no leading or
// trailing dot.
bool isValidDomain(std::string_view domain);

// A recipient split at its last '@' outside a quoted string.
struct RecipientParts {
    std::string_view local_part;  // as written, quotes included
    std::string_view domain;
    bool has_domain = false;
};

// Empty when the quotes do not balance.
std::optional<RecipientParts> splitRecipient(std::string_view recipient);

enum class RelayReason {
    TrustedClient,     // accepted: the client is in trusted_networks
    LocalDomain,       // accepted: the recipient is in a local domain
    Postmaster,        // accepted: the bare local part "postmaster" (RFC 5321 section 4.5.1)
    MalformedAddress,  // refused: unbalanced quotes or an empty local part
    NoDomain,          // refused: no domain and not "postmaster"
    IpLiteral,         // refused: the domain is an address literal "[...]"
    MalformedDomain,   // refused: trailing dot, empty label or a character a domain cannot have
    RoutingLocalPart,  // refused: '%', '!' or '@' in the local part, quoted or not
    ForeignDomain,     // refused: the domain is not local
};

struct RelayDecision {
    bool accepted = false;
    RelayReason reason = RelayReason::ForeignDomain;
};

// A short phrase for logs: "local part contains a routing character".
std::string_view describe(RelayReason reason);

// The policy of one plugin instance. Immutable after construction, so it may be shared by all
// sessions on all threads.
class RelayPolicy {
  public:
    RelayPolicy() = default;
    RelayPolicy(std::vector<Network> trusted_networks, std::vector<DomainPattern> local_domains);

    bool isTrustedClient(std::string_view client_address) const;
    bool isLocalDomain(std::string_view domain) const;

    // `recipient` is the address without angle brackets and without source route.
    RelayDecision decide(std::string_view client_address, std::string_view recipient) const;

  private:
    RelayDecision decideRecipient(std::string_view recipient) const;

    std::vector<Network> trusted_networks_;
    std::vector<DomainPattern> local_domains_;
};

}  // namespace mailgate::relay_access
