#include "core/net/connection_rate.hpp"

#include <gtest/gtest.h>

#include "core/net/client_key.hpp"

namespace mailgate::net {
namespace {

using namespace std::chrono_literals;
using Verdict = ConnectionRate::Verdict;

// A burst of `limit` connections passes, the next is refused, and the bucket refills at
// limit/window: one more connection after window/limit.
TEST(ConnectionRateTest, BurstThenRefill) {
    ConnectionRate rate;
    const auto start = ConnectionRate::Clock::time_point{} + 1h;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(rate.tryAcquire("192.0.2.1", 3, 60s, start), Verdict::Allowed) << i;
    }
    EXPECT_EQ(rate.tryAcquire("192.0.2.1", 3, 60s, start + 1s), Verdict::Refused);
    EXPECT_EQ(rate.tryAcquire("192.0.2.2", 3, 60s, start + 1s), Verdict::Allowed);
    EXPECT_EQ(rate.tryAcquire("192.0.2.1", 3, 60s, start + 19s), Verdict::Refused);
    EXPECT_EQ(rate.tryAcquire("192.0.2.1", 3, 60s, start + 21s), Verdict::Allowed);
    EXPECT_EQ(rate.tryAcquire("192.0.2.1", 3, 60s, start + 22s), Verdict::Refused);
}

// Refused attempts do not use up tokens: a client hammering at the limit still gets its share.
TEST(ConnectionRateTest, RefusalsAreFree) {
    ConnectionRate rate;
    const auto start = ConnectionRate::Clock::time_point{} + 1h;
    EXPECT_EQ(rate.tryAcquire("k", 1, 10s, start), Verdict::Allowed);
    for (int i = 1; i < 100; ++i) {
        EXPECT_EQ(rate.tryAcquire("k", 1, 10s, start + i * 99ms), Verdict::Refused);
    }
    EXPECT_EQ(rate.tryAcquire("k", 1, 10s, start + 10100ms), Verdict::Allowed);
}

// Limit 0 means no limit and keeps no state.
TEST(ConnectionRateTest, ZeroIsOff) {
    ConnectionRate rate;
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(rate.tryAcquire("k", 0, 60s), Verdict::Allowed);
    }
    EXPECT_EQ(rate.size(), 0u);
}

// The table never grows beyond its bound: refilled buckets are dropped to make room; when none
// has refilled, newcomers are let in uncounted.
TEST(ConnectionRateTest, MemoryIsBounded) {
    ConnectionRate rate(4);
    const auto start = ConnectionRate::Clock::time_point{} + 1h;
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(rate.tryAcquire("a" + std::to_string(i), 2, 60s, start), Verdict::Allowed);
    }
    EXPECT_EQ(rate.tryAcquire("new", 2, 60s, start + 2s), Verdict::Untracked);
    EXPECT_EQ(rate.size(), 4u);
    // At 30 s each bucket (2 per minute, one used) is full again: the table is pruned.
    EXPECT_EQ(rate.tryAcquire("new", 2, 60s, start + 30s), Verdict::Allowed);
    EXPECT_EQ(rate.size(), 1u);
    for (int i = 0; i < 100; ++i) {
        rate.tryAcquire("b" + std::to_string(i), 2, 60s, start + 31s);
    }
    EXPECT_LE(rate.size(), 4u);
}

// IPv4 and IPv4-mapped addresses are keyed alike; IPv6 by its network of the configured size.
TEST(ClientKeyTest, GroupsIpv6ByPrefix) {
    const auto key = [](const char* text, unsigned prefix) {
        return clientKey(asio::ip::make_address(text), prefix);
    };
    EXPECT_EQ(key("192.0.2.1", 64), "192.0.2.1");
    EXPECT_EQ(key("::ffff:192.0.2.1", 64), "192.0.2.1");
    EXPECT_EQ(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64), "2001:db8:1:2::/64");
    EXPECT_EQ(key("2001:db8:1:2::1", 64), key("2001:db8:1:2:ffff::9", 64));
    EXPECT_NE(key("2001:db8:1:2::1", 64), key("2001:db8:1:3::1", 64));
    EXPECT_EQ(key("2001:db8:1:2::1", 48), "2001:db8:1::/48");
    EXPECT_EQ(key("2001:db8:1:2::1", 61), "2001:db8:1::/61");
    EXPECT_EQ(key("2001:db8:1:2::1", 128), "2001:db8:1:2::1");
    EXPECT_EQ(key("::1", 64), "::/64");
}

}  // namespace
}  // namespace mailgate::net
