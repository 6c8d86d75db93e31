#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// When a rule applies: the envelope's domains and the client's network.
namespace mailgate::rewrite {

// An IPv4 or IPv6 network. IPv4 is kept as an IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/96+n), so
// one comparison serves both families.
struct Network {
    std::array<std::uint8_t, 16> address{};
    unsigned prefix = 0;  // 0..128 over the mapped form
};

// "192.0.2.0/24", "2001:db8::/32", "192.0.2.7" (/32), "::1" (/128). Host bits are cleared.
// nullopt with `error` set when the text is not one of those.
std::optional<Network> parseNetwork(std::string_view text, std::string& error);
// A client address as the host gives it ("192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1").
std::optional<std::array<std::uint8_t, 16>> parseAddress(std::string_view text);
bool contains(const Network& network, const std::array<std::uint8_t, 16>& address);

// "example.org" matches that domain; ".example.org" every subdomain but not example.org itself.
// Lower-cased at load; compared ignoring ASCII case.
struct DomainPattern {
    std::string domain;
    bool subdomains_only = false;
};
std::optional<DomainPattern> parseDomainPattern(std::string_view text, std::string& error);
bool matches(const DomainPattern& pattern, std::string_view domain);

// What a rule's conditions look at. `recipients` are the envelope recipients as the client gave
// them; for a recipient-map rule tried on one recipient, that recipient alone.
struct Context {
    std::string_view sender;  // empty: the null sender
    const std::vector<std::string_view>* recipients = nullptr;
    std::optional<std::array<std::uint8_t, 16>> client;
};

// Every list that is given must match (an item of it); an empty Conditions always holds.
struct Conditions {
    std::vector<DomainPattern> sender_domains;
    std::vector<DomainPattern> recipient_domains;
    std::vector<Network> client_networks;

    bool empty() const {
        return sender_domains.empty() && recipient_domains.empty() && client_networks.empty();
    }
    bool holds(const Context& context) const;
};

// The domain of an address (after its last '@'), or empty.
std::string_view domainOf(std::string_view address);
bool equalsIgnoreCase(std::string_view a, std::string_view b);
std::string toLower(std::string_view text);

}  // namespace mailgate::rewrite
