#include "relay_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace mailgate::relay_access {
namespace {

Network network(std::string_view text) {
    const auto parsed = parseNetwork(text);
    EXPECT_TRUE(parsed.network.has_value()) << text << ": " << parsed.error;
    return parsed.network.value_or(Network{});
}

bool contains(std::string_view network_text, std::string_view client) {
    const auto address = parseClientAddress(client);
    EXPECT_TRUE(address.has_value()) << client;
    return address && networkContains(network(network_text), *address);
}

DomainPattern pattern(std::string_view text) {
    const auto parsed = parseDomainPattern(text);
    EXPECT_TRUE(parsed.pattern.has_value()) << text << ": " << parsed.error;
    return parsed.pattern.value_or(DomainPattern{});
}

// The policy of the README example, for an untrusted client.
RelayPolicy examplePolicy() {
    return RelayPolicy({network("127.0.0.0/8"), network("::1/128"), network("192.0.2.7")},
                       {pattern("example.test"), pattern(".example.org")});
}

constexpr std::string_view kUntrusted = "203.0.113.9";

bool accepted(std::string_view recipient, std::string_view client = kUntrusted) {
    return examplePolicy().decide(client, recipient).accepted;
}

RelayReason reason(std::string_view recipient, std::string_view client = kUntrusted) {
    return examplePolicy().decide(client, recipient).reason;
}

// --- networks ---------------------------------------------------------------------------------

// A /32 holds exactly one IPv4 address; a bare address means the same.
TEST(RelayNetworkTest, Ipv4SlashThirtyTwoAndBareAddress) {
    EXPECT_TRUE(contains("192.0.2.7/32", "192.0.2.7"));
    EXPECT_FALSE(contains("192.0.2.7/32", "192.0.2.6"));
    EXPECT_FALSE(contains("192.0.2.7/32", "192.0.2.8"));
    EXPECT_TRUE(contains("192.0.2.7", "192.0.2.7"));
    EXPECT_FALSE(contains("192.0.2.7", "192.0.2.70"));
    EXPECT_EQ(formatNetwork(network("192.0.2.7")), "192.0.2.7/32");
}

// IPv4 /0 holds every IPv4 client, mapped ones too, but no native IPv6 client.
TEST(RelayNetworkTest, Ipv4SlashZero) {
    EXPECT_TRUE(contains("0.0.0.0/0", "0.0.0.0"));
    EXPECT_TRUE(contains("0.0.0.0/0", "255.255.255.255"));
    EXPECT_TRUE(contains("0.0.0.0/0", "::ffff:198.51.100.1"));
    EXPECT_FALSE(contains("0.0.0.0/0", "2001:db8::1"));
    EXPECT_FALSE(contains("0.0.0.0/0", "::1"));
}

// IPv6 /0 holds every IPv6 client but does not leak trust to IPv4 clients via the mapped range.
TEST(RelayNetworkTest, Ipv6SlashZeroExcludesIpv4) {
    EXPECT_TRUE(contains("::/0", "::1"));
    EXPECT_TRUE(contains("::/0", "2001:db8::1"));
    EXPECT_FALSE(contains("::/0", "192.0.2.1"));
    EXPECT_FALSE(contains("::/0", "::ffff:192.0.2.1"));
    EXPECT_FALSE(contains("::/1", "::ffff:192.0.2.1"));
}

// A /128 and a bare IPv6 address hold exactly one address, whatever its spelling.
TEST(RelayNetworkTest, Ipv6SlashOneTwentyEight) {
    EXPECT_TRUE(contains("::1/128", "::1"));
    EXPECT_TRUE(contains("::1/128", "0:0:0:0:0:0:0:1"));
    EXPECT_FALSE(contains("::1/128", "::2"));
    EXPECT_FALSE(contains("::1/128", "::"));
    EXPECT_TRUE(contains("2001:DB8::7", "2001:db8::7"));
    EXPECT_FALSE(contains("2001:db8::7", "2001:db8::7:0"));
    EXPECT_EQ(formatNetwork(network("2001:DB8::7")), "2001:db8::7/128");
}

// Prefixes that do not end on an octet boundary split the address inside a byte.
TEST(RelayNetworkTest, NonOctetAlignedPrefixes) {
    EXPECT_TRUE(contains("198.51.100.0/23", "198.51.100.0"));
    EXPECT_TRUE(contains("198.51.100.0/23", "198.51.101.255"));
    EXPECT_FALSE(contains("198.51.100.0/23", "198.51.99.255"));
    EXPECT_FALSE(contains("198.51.100.0/23", "198.51.102.0"));
    EXPECT_TRUE(contains("10.0.0.0/9", "10.127.255.255"));
    EXPECT_FALSE(contains("10.0.0.0/9", "10.128.0.0"));
    EXPECT_TRUE(contains("192.0.2.4/31", "192.0.2.5"));
    EXPECT_FALSE(contains("192.0.2.4/31", "192.0.2.6"));
    EXPECT_TRUE(contains("128.0.0.0/1", "255.0.0.1"));
    EXPECT_FALSE(contains("128.0.0.0/1", "127.255.255.255"));
    EXPECT_TRUE(contains("2001:db8::/29", "2001:dbf:ffff::1"));
    EXPECT_FALSE(contains("2001:db8::/29", "2001:dc0::"));
    EXPECT_FALSE(contains("2001:db8::/29", "2001:db7:ffff::"));
    EXPECT_TRUE(contains("fe80::/10", "febf::1"));
    EXPECT_FALSE(contains("fe80::/10", "fec0::1"));
    EXPECT_TRUE(contains("2001:db8::/127", "2001:db8::1"));
    EXPECT_FALSE(contains("2001:db8::/127", "2001:db8::2"));
}

// Host bits after the prefix are accepted, cleared, and flagged so the plugin can warn.
TEST(RelayNetworkTest, HostBitsAreMasked) {
    const auto v4 = parseNetwork("10.1.2.3/8");
    ASSERT_TRUE(v4.network.has_value());
    EXPECT_TRUE(v4.host_bits_masked);
    EXPECT_EQ(formatNetwork(*v4.network), "10.0.0.0/8");
    EXPECT_TRUE(contains("10.1.2.3/8", "10.200.0.1"));

    const auto slash23 = parseNetwork("198.51.101.77/23");
    ASSERT_TRUE(slash23.network.has_value());
    EXPECT_TRUE(slash23.host_bits_masked);
    EXPECT_EQ(formatNetwork(*slash23.network), "198.51.100.0/23");

    const auto v6 = parseNetwork("2001:db8:1:2::1/32");
    ASSERT_TRUE(v6.network.has_value());
    EXPECT_TRUE(v6.host_bits_masked);
    EXPECT_EQ(formatNetwork(*v6.network), "2001:db8::/32");

    const auto zero = parseNetwork("1.2.3.4/0");
    ASSERT_TRUE(zero.network.has_value());
    EXPECT_EQ(formatNetwork(*zero.network), "0.0.0.0/0");

    EXPECT_FALSE(parseNetwork("10.0.0.0/8").host_bits_masked);
    EXPECT_FALSE(parseNetwork("192.0.2.7").host_bits_masked);
}

// Malformed prefixes and addresses are errors, never silently widened or narrowed.
TEST(RelayNetworkTest, BadNetworksAreErrors) {
    for (const std::string_view bad : {"10.0.0.0/33",
                                       "::/129",
                                       "10.0.0.0/",
                                       "10.0.0.0/-1",
                                       "10.0.0.0/+8",
                                       "10.0.0.0/8/8",
                                       "10.0.0.0/ 8",
                                       "10.0.0.0/8 ",
                                       " 10.0.0.0/8",
                                       "10.0.0.0/abc",
                                       "10.0.0.0/0x8",
                                       "/8",
                                       "",
                                       "10.0.0",
                                       "10.0.0.256",
                                       "010.0.0.1",
                                       "1::2::3",
                                       "::1/1000",
                                       "fe80::1%eth0/64",
                                       "example.test",
                                       "[::1]",
                                       "10.0.0.0/255.0.0.0"}) {
        const auto parsed = parseNetwork(bad);
        EXPECT_FALSE(parsed.network.has_value()) << bad;
        EXPECT_FALSE(parsed.error.empty()) << bad;
    }
    EXPECT_NE(parseNetwork("10.0.0.0/33").error.find("0 to 32"), std::string::npos);
    EXPECT_NE(parseNetwork("::/129").error.find("0 to 128"), std::string::npos);
}

// A client address "::ffff:a.b.c.d" is the IPv4 client a.b.c.d, however it is spelled.
TEST(RelayNetworkTest, MappedClientMatchesIpv4Networks) {
    EXPECT_TRUE(contains("127.0.0.0/8", "::ffff:127.0.0.1"));
    EXPECT_TRUE(contains("127.0.0.0/8", "::FFFF:7f00:1"));
    EXPECT_TRUE(contains("192.0.2.7", "::ffff:192.0.2.7"));
    EXPECT_FALSE(contains("192.0.2.7", "::ffff:192.0.2.8"));
    EXPECT_FALSE(contains("::1/128", "::ffff:127.0.0.1"));
}

// A mapped network written in IPv6 form with a prefix of 96 or more is the IPv4 network it names.
TEST(RelayNetworkTest, MappedNetworkIsIpv4) {
    EXPECT_TRUE(contains("::ffff:192.0.2.0/120", "192.0.2.200"));
    EXPECT_FALSE(contains("::ffff:192.0.2.0/120", "192.0.3.1"));
    EXPECT_EQ(formatNetwork(network("::ffff:192.0.2.0/120")), "192.0.2.0/24");
    EXPECT_EQ(formatNetwork(network("::ffff:0:0/96")), "0.0.0.0/0");
}

// Client addresses with a zone id still match; text that is no address matches nothing.
TEST(RelayNetworkTest, ClientAddressForms) {
    EXPECT_TRUE(contains("fe80::/10", "fe80::1%eth0"));
    EXPECT_FALSE(parseClientAddress("").has_value());
    EXPECT_FALSE(parseClientAddress("localhost").has_value());
    EXPECT_FALSE(parseClientAddress("[::1]").has_value());
    EXPECT_FALSE(examplePolicy().isTrustedClient(""));
    EXPECT_FALSE(examplePolicy().isTrustedClient("unix:/run/socket"));
}

// --- domains ----------------------------------------------------------------------------------

// A plain pattern matches its domain only, in any letter case.
TEST(RelayDomainTest, ExactDomainMatchesCaseInsensitively) {
    const auto exact = pattern("Example.TEST");
    EXPECT_EQ(exact.domain, "example.test");
    EXPECT_FALSE(exact.subdomains_only);
    EXPECT_TRUE(domainMatches(exact, "example.test"));
    EXPECT_TRUE(domainMatches(exact, "EXAMPLE.test"));
    EXPECT_FALSE(domainMatches(exact, "a.example.test"));
    EXPECT_FALSE(domainMatches(exact, "xexample.test"));
    EXPECT_FALSE(domainMatches(exact, "example.test.evil"));
    EXPECT_FALSE(domainMatches(exact, "example.tes"));
}

// A leading dot matches subdomains at any depth but not the domain itself.
TEST(RelayDomainTest, LeadingDotMatchesSubdomainsOnly) {
    const auto subdomains = pattern(".example.org");
    EXPECT_EQ(subdomains.domain, "example.org");
    EXPECT_TRUE(subdomains.subdomains_only);
    EXPECT_TRUE(domainMatches(subdomains, "a.example.org"));
    EXPECT_TRUE(domainMatches(subdomains, "b.a.example.org"));
    EXPECT_TRUE(domainMatches(subdomains, "A.Example.ORG"));
    EXPECT_FALSE(domainMatches(subdomains, "example.org"));
    EXPECT_FALSE(domainMatches(subdomains, "badexample.org"));
    EXPECT_FALSE(domainMatches(subdomains, "a.example.org.evil"));
}

// Listing both forms covers a domain and all its subdomains.
TEST(RelayDomainTest, BothFormsTogether) {
    const RelayPolicy policy({}, {pattern("example.org"), pattern(".example.org")});
    EXPECT_TRUE(policy.isLocalDomain("example.org"));
    EXPECT_TRUE(policy.isLocalDomain("mx.example.org"));
    EXPECT_FALSE(policy.isLocalDomain("example.net"));
}

// Config entries that are not domain names are errors.
TEST(RelayDomainTest, BadPatternsAreErrors) {
    for (const std::string_view bad :
         {"", ".", "..example.org", "example..org", "example.org.", ".example.org.", "[192.0.2.1]",
          "user@example.org", "exa mple.org", "*.example.org", "example.org/24"}) {
        const auto parsed = parseDomainPattern(bad);
        EXPECT_FALSE(parsed.pattern.has_value()) << bad;
        EXPECT_FALSE(parsed.error.empty()) << bad;
    }
}

// Recipients split at the last '@' outside quotes.
TEST(RelayDomainTest, SplitRecipient) {
    const auto plain = splitRecipient("user@example.test");
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(plain->local_part, "user");
    EXPECT_EQ(plain->domain, "example.test");
    EXPECT_TRUE(plain->has_domain);

    const auto quoted = splitRecipient("\"user@other\"@example.test");
    ASSERT_TRUE(quoted.has_value());
    EXPECT_EQ(quoted->local_part, "\"user@other\"");
    EXPECT_EQ(quoted->domain, "example.test");

    const auto escaped = splitRecipient("\"a\\\"@b\"@example.test");
    ASSERT_TRUE(escaped.has_value());
    EXPECT_EQ(escaped->local_part, "\"a\\\"@b\"");

    const auto bare = splitRecipient("postmaster");
    ASSERT_TRUE(bare.has_value());
    EXPECT_FALSE(bare->has_domain);

    const auto quoted_only = splitRecipient("\"user@example.test\"");
    ASSERT_TRUE(quoted_only.has_value());
    EXPECT_FALSE(quoted_only->has_domain);

    EXPECT_FALSE(splitRecipient("\"open@example.test").has_value());
    EXPECT_FALSE(splitRecipient("\"open\\\"@example.test").has_value());
}

// --- decisions --------------------------------------------------------------------------------

// An ordinary recipient in a local domain is accepted from anywhere, in any letter case.
TEST(RelayDecisionTest, LocalRecipientAccepted) {
    EXPECT_TRUE(accepted("user@example.test"));
    EXPECT_EQ(reason("user@example.test"), RelayReason::LocalDomain);
    EXPECT_TRUE(accepted("user@EXAMPLE.Test"));
    EXPECT_TRUE(accepted("USER@example.test"));
    EXPECT_TRUE(accepted("user@a.example.org"));
    EXPECT_TRUE(accepted("first.last+tag@b.a.EXAMPLE.org"));
    EXPECT_TRUE(accepted("\"john smith\"@example.test"));
    EXPECT_TRUE(accepted("postmaster@example.test"));
}

// RFC 5321 requires the bare "postmaster" to be accepted, in any case; no other bare local part.
TEST(RelayDecisionTest, BarePostmasterOnly) {
    EXPECT_TRUE(accepted("postmaster"));
    EXPECT_TRUE(accepted("PostMaster"));
    EXPECT_EQ(reason("postmaster"), RelayReason::Postmaster);
    EXPECT_FALSE(accepted("user"));
    EXPECT_EQ(reason("user"), RelayReason::NoDomain);
    EXPECT_FALSE(accepted("\"postmaster\""));
    EXPECT_FALSE(accepted("postmaster@other.example"));
    EXPECT_FALSE(accepted(""));
}

// Percent-hack: user%other@local would be relayed by the backend to other.
TEST(RelayDecisionTest, PercentHackRefused) {
    EXPECT_FALSE(accepted("user%other@example.test"));
    EXPECT_EQ(reason("user%other@example.test"), RelayReason::RoutingLocalPart);
    EXPECT_FALSE(accepted("user%other.example@a.example.org"));
}

// Bang path: other!user@local would be relayed by UUCP-style routing.
TEST(RelayDecisionTest, BangPathRefused) {
    EXPECT_FALSE(accepted("other!user@example.test"));
    EXPECT_EQ(reason("other!user@example.test"), RelayReason::RoutingLocalPart);
}

// A quoted local part hiding '@', '%' or '!' is refused like the unquoted forms.
TEST(RelayDecisionTest, QuotedRoutingRefused) {
    EXPECT_FALSE(accepted("\"user@other\"@example.test"));
    EXPECT_EQ(reason("\"user@other\"@example.test"), RelayReason::RoutingLocalPart);
    EXPECT_FALSE(accepted("\"user%other\"@example.test"));
    EXPECT_FALSE(accepted("\"other!user\"@example.test"));
    EXPECT_FALSE(accepted("\"user\\@other\"@example.test"));
    EXPECT_FALSE(accepted("user@other@example.test"));
}

// What is left of "<@local:user@other>" once the core removes the source route: foreign.
TEST(RelayDecisionTest, SourceRoutedForeignRecipientRefused) {
    EXPECT_FALSE(accepted("user@other.example"));
    EXPECT_EQ(reason("user@other.example"), RelayReason::ForeignDomain);
    // Had the route not been removed, the '@' in the local part still refuses it.
    EXPECT_FALSE(accepted("@example.test:user@other.example"));
}

// Address literals are never local, even for an address of this host.
TEST(RelayDecisionTest, AddressLiteralsRefused) {
    EXPECT_FALSE(accepted("user@[192.0.2.1]"));
    EXPECT_EQ(reason("user@[192.0.2.1]"), RelayReason::IpLiteral);
    EXPECT_FALSE(accepted("user@[IPv6:::1]"));
    EXPECT_EQ(reason("user@[IPv6:::1]"), RelayReason::IpLiteral);
}

// A trailing dot or an empty label makes the domain malformed, local or not.
TEST(RelayDecisionTest, MalformedDomainsRefused) {
    EXPECT_FALSE(accepted("user@example.test."));
    EXPECT_EQ(reason("user@example.test."), RelayReason::MalformedDomain);
    EXPECT_FALSE(accepted("user@other.example."));
    EXPECT_FALSE(accepted("user@a..example.org"));
    EXPECT_FALSE(accepted("user@.example.org"));
    EXPECT_FALSE(accepted("user@.example.test"));
    EXPECT_FALSE(accepted("user@exa mple.test"));
    EXPECT_FALSE(accepted("user@"));
    EXPECT_EQ(reason("user@"), RelayReason::NoDomain);
}

// Foreign domains are refused in any letter case, including look-alikes of a local domain.
TEST(RelayDecisionTest, ForeignDomainsRefused) {
    EXPECT_FALSE(accepted("USER@OTHER.EXAMPLE"));
    EXPECT_EQ(reason("USER@OTHER.EXAMPLE"), RelayReason::ForeignDomain);
    EXPECT_FALSE(accepted("user@example.org"));  // only its subdomains are local
    EXPECT_FALSE(accepted("user@a.example.test"));
    EXPECT_FALSE(accepted("user@example.test.other.example"));
    EXPECT_FALSE(accepted("user@badexample.org"));
}

// Addresses that cannot be parsed are refused.
TEST(RelayDecisionTest, MalformedAddressesRefused) {
    EXPECT_FALSE(accepted("\"user@example.test"));
    EXPECT_EQ(reason("\"user@example.test"), RelayReason::MalformedAddress);
    EXPECT_FALSE(accepted("@example.test"));
    EXPECT_EQ(reason("@example.test"), RelayReason::MalformedAddress);
}

// A trusted client may relay anywhere, whether it connects over IPv4, IPv6 or mapped IPv4.
TEST(RelayDecisionTest, TrustedClientRelaysAnything) {
    EXPECT_TRUE(accepted("user@other.example", "127.0.0.1"));
    EXPECT_EQ(reason("user@other.example", "127.0.0.1"), RelayReason::TrustedClient);
    EXPECT_TRUE(accepted("user%other@example.test", "127.3.4.5"));
    EXPECT_TRUE(accepted("user@other.example", "::1"));
    EXPECT_TRUE(accepted("user@other.example", "::ffff:127.0.0.1"));
    EXPECT_TRUE(accepted("user@other.example", "192.0.2.7"));
    EXPECT_TRUE(accepted("user@other.example", "::ffff:192.0.2.7"));
    EXPECT_FALSE(accepted("user@other.example", "192.0.2.8"));
    EXPECT_FALSE(accepted("user@other.example", "::2"));
}

// With no configuration nothing is relayed; only the bare postmaster gets through.
TEST(RelayDecisionTest, EmptyPolicyRelaysNothing) {
    const RelayPolicy empty;
    EXPECT_FALSE(empty.decide("127.0.0.1", "user@example.test").accepted);
    EXPECT_FALSE(empty.decide("::1", "user@localhost").accepted);
    EXPECT_TRUE(empty.decide("127.0.0.1", "postmaster").accepted);
}

// Every reason has a phrase for the log line.
TEST(RelayDecisionTest, EveryReasonDescribed) {
    for (const auto value :
         {RelayReason::TrustedClient, RelayReason::LocalDomain, RelayReason::Postmaster,
          RelayReason::MalformedAddress, RelayReason::NoDomain, RelayReason::IpLiteral,
          RelayReason::MalformedDomain, RelayReason::RoutingLocalPart,
          RelayReason::ForeignDomain}) {
        EXPECT_FALSE(describe(value).empty());
    }
}

}  // namespace
}  // namespace mailgate::relay_access
