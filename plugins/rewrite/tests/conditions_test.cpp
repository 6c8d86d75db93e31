#include "conditions.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailgate::rewrite {
namespace {

Network network(const char* text) {
    std::string error;
    const auto parsed = parseNetwork(text, error);
    EXPECT_TRUE(parsed.has_value()) << text << ": " << error;
    return parsed.value_or(Network{});
}

bool inNetwork(const char* net, const char* address) {
    const auto parsed = parseAddress(address);
    EXPECT_TRUE(parsed.has_value()) << address;
    return parsed && contains(network(net), *parsed);
}

// IPv4 and IPv6 networks, single addresses, host bits cleared, IPv4-mapped clients.
TEST(ConditionsTest, Networks) {
    EXPECT_TRUE(inNetwork("192.0.2.0/24", "192.0.2.200"));
    EXPECT_FALSE(inNetwork("192.0.2.0/24", "192.0.3.1"));
    EXPECT_TRUE(inNetwork("192.0.2.77/24", "192.0.2.1"));
    EXPECT_TRUE(inNetwork("192.0.2.7", "192.0.2.7"));
    EXPECT_FALSE(inNetwork("192.0.2.7", "192.0.2.8"));
    EXPECT_TRUE(inNetwork("192.0.2.0/24", "::ffff:192.0.2.9"));
    EXPECT_TRUE(inNetwork("2001:db8::/32", "2001:db8:1::5"));
    EXPECT_FALSE(inNetwork("2001:db8::/32", "2001:db9::5"));
    EXPECT_TRUE(inNetwork("::1", "::1"));
    EXPECT_TRUE(inNetwork("0.0.0.0/0", "203.0.113.5"));
    EXPECT_FALSE(inNetwork("0.0.0.0/0", "2001:db8::1"));
}

// Bad networks name the text and the allowed prefix lengths.
TEST(ConditionsTest, BadNetworks) {
    for (const char* text : {"", "300.1.1.1", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x",
                             "10.0.0.0/-1", "example.org", "fe80::1%eth0"}) {
        std::string error;
        EXPECT_FALSE(parseNetwork(text, error).has_value()) << text;
        EXPECT_FALSE(error.empty()) << text;
    }
    std::string error;
    EXPECT_FALSE(parseNetwork("10.0.0.0/40", error));
    EXPECT_NE(error.find("0 to 32"), std::string::npos) << error;
}

// A domain matches itself; a leading dot matches subdomains only; case is ignored.
TEST(ConditionsTest, DomainPatterns) {
    std::string error;
    const auto exact = parseDomainPattern("Example.ORG", error);
    ASSERT_TRUE(exact);
    EXPECT_TRUE(matches(*exact, "example.org"));
    EXPECT_TRUE(matches(*exact, "EXAMPLE.org"));
    EXPECT_FALSE(matches(*exact, "a.example.org"));
    const auto sub = parseDomainPattern(".example.org", error);
    ASSERT_TRUE(sub);
    EXPECT_TRUE(matches(*sub, "a.example.org"));
    EXPECT_TRUE(matches(*sub, "b.A.Example.org"));
    EXPECT_FALSE(matches(*sub, "example.org"));
    EXPECT_FALSE(matches(*sub, "badexample.org"));
    for (const char* bad : {"", ".", "a..b", "a.", "..a", "a b", "@a", "[1.2.3.4]"}) {
        EXPECT_FALSE(parseDomainPattern(bad, error)) << bad;
    }
}

// Every given list must match; within a list, any item.
TEST(ConditionsTest, AllListsMustHold) {
    std::string error;
    Conditions when;
    when.sender_domains.push_back(*parseDomainPattern("in.example", error));
    when.recipient_domains.push_back(*parseDomainPattern("out.example", error));
    when.client_networks.push_back(network("10.0.0.0/8"));
    const std::vector<std::string_view> rcpts = {"a@other.example", "b@out.example"};
    Context context{"s@IN.example", &rcpts, parseAddress("10.1.2.3")};
    EXPECT_TRUE(when.holds(context));
    context.client = parseAddress("192.0.2.1");
    EXPECT_FALSE(when.holds(context));
    context.client = parseAddress("10.1.2.3");
    context.sender = "";
    EXPECT_FALSE(when.holds(context)) << "the null sender has no domain";
    context.sender = "s@in.example";
    const std::vector<std::string_view> other = {"a@other.example"};
    context.recipients = &other;
    EXPECT_FALSE(when.holds(context));
    EXPECT_TRUE(Conditions{}.holds(Context{}));
}

}  // namespace
}  // namespace mailgate::rewrite
