// Query names, answer networks and resolver addresses.
#include "query_names.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailgate::dnsbl {
namespace {

// IPv4 is reversed octet by octet.
TEST(ReversedClientAddress, Ipv4) {
    EXPECT_EQ(reversedClientAddress("127.0.0.1"), "1.0.0.127");
    EXPECT_EQ(reversedClientAddress("192.0.2.99"), "99.2.0.192");
}

// IPv6 is reversed nibble by nibble, all 32 of them, in lower case.
TEST(ReversedClientAddress, Ipv6Nibbles) {
    EXPECT_EQ(reversedClientAddress("2001:DB8::1"),
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2");
    EXPECT_EQ(reversedClientAddress("::1"),
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0");
    EXPECT_EQ(reversedClientAddress("fe80::1%eth0")->substr(0, 2), "1.");
}

// An IPv4-mapped IPv6 client is looked up as IPv4.
TEST(ReversedClientAddress, MappedIsIpv4) {
    EXPECT_EQ(reversedClientAddress("::ffff:192.0.2.1"), "1.2.0.192");
}

TEST(ReversedClientAddress, NotAnAddress) {
    EXPECT_FALSE(reversedClientAddress(""));
    EXPECT_FALSE(reversedClientAddress("localhost"));
    EXPECT_FALSE(reversedClientAddress("1.2.3"));
    EXPECT_FALSE(reversedClientAddress("1.2.3.4.5"));
}

// The sender's domain, lower case; nothing for what cannot be looked up.
TEST(SenderDomain, Extracted) {
    EXPECT_EQ(senderDomain("user@Example.ORG"), "example.org");
    EXPECT_EQ(senderDomain("\"a@b\"@spam.test"), "spam.test");
    EXPECT_FALSE(senderDomain(""));
    EXPECT_FALSE(senderDomain("postmaster"));
    EXPECT_FALSE(senderDomain("user@[192.0.2.1]"));
    EXPECT_FALSE(senderDomain("user@bad..test"));
    EXPECT_FALSE(senderDomain("user@trailing.test."));
    EXPECT_FALSE(senderDomain("user@sp ace.test"));
    EXPECT_FALSE(senderDomain("user@" + std::string(64, 'a') + ".test"));
}

TEST(NormalizedDomain, TrailingDotAndCase) {
    EXPECT_EQ(normalizedDomain("Zen.Spamhaus.ORG."), "zen.spamhaus.org");
    EXPECT_FALSE(normalizedDomain("."));
    EXPECT_FALSE(normalizedDomain(".zen.test"));
    EXPECT_FALSE(normalizedDomain("zen/test"));
}

// Names longer than 253 octets are not asked.
TEST(QueryName, Bounded) {
    EXPECT_EQ(queryName("1.0.0.127", "zen.test"), "1.0.0.127.zen.test");
    EXPECT_FALSE(queryName(std::string(250, 'a'), "zen.test"));
}

// Answers are matched against addresses and networks.
TEST(Ipv4Network, ParseAndContain) {
    const auto single = parseIpv4Network("127.0.0.2");
    ASSERT_TRUE(single);
    EXPECT_TRUE(networkContains(*single, 0x7f000002u));
    EXPECT_FALSE(networkContains(*single, 0x7f000003u));
    const auto net = parseIpv4Network("127.0.0.9/24");  // host bits cleared
    ASSERT_TRUE(net);
    EXPECT_TRUE(networkContains(*net, 0x7f0000ffu));
    EXPECT_FALSE(networkContains(*net, 0x7f000100u));
    const auto all = parseIpv4Network("0.0.0.0/0");
    ASSERT_TRUE(all);
    EXPECT_TRUE(networkContains(*all, 0xffffffffu));
    for (const char* bad : {"", "127.0.0", "127.0.0.1/33", "127.0.0.1/", "127.0.0.1/+8",
                            "127.0.0.1/a", "::1", "127.0.0.1 "}) {
        EXPECT_FALSE(parseIpv4Network(bad)) << bad;
    }
    EXPECT_EQ(formatIpv4(0x7f000002u), "127.0.0.2");
}

TEST(ResolverAddress, Forms) {
    for (const char* good : {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:53"}) {
        EXPECT_TRUE(isValidResolverAddress(good)) << good;
    }
    for (const char* bad : {"", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "[::1",
                            "[::1]:x", "::1:53:", "1.2.3.4:+53"}) {
        EXPECT_FALSE(isValidResolverAddress(bad)) << bad;
    }
}

}  // namespace
}  // namespace mailgate::dnsbl
