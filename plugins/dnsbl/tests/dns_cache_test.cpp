// The answer cache: TTL, size cap, least recently used first out.
#include "dns_cache.hpp"

#include <gtest/gtest.h>

namespace mailgate::dnsbl {
namespace {

using std::chrono::seconds;
const auto kStart = DnsCache::Clock::time_point{} + std::chrono::hours(1);

// An answer is found until its TTL has passed.
TEST(DnsCache, ExpiresAfterTtl) {
    DnsCache cache(10);
    cache.store("1.0.0.127.zen.test", CachedAnswer{{0x7f000002u}}, seconds(60), kStart);
    const auto hit = cache.find("1.0.0.127.zen.test", kStart + seconds(59));
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->addresses, std::vector<std::uint32_t>{0x7f000002u});
    EXPECT_FALSE(cache.find("1.0.0.127.zen.test", kStart + seconds(60)));
    EXPECT_EQ(cache.size(), 0u);  // the expired entry is dropped
}

// "Not listed" is cached too (no addresses).
TEST(DnsCache, NegativeAnswer) {
    DnsCache cache(10);
    cache.store("2.0.0.127.zen.test", CachedAnswer{}, seconds(5), kStart);
    const auto hit = cache.find("2.0.0.127.zen.test", kStart);
    ASSERT_TRUE(hit);
    EXPECT_TRUE(hit->addresses.empty());
}

// At the cap, the entry used least recently is dropped.
TEST(DnsCache, SizeCapDropsLeastRecentlyUsed) {
    DnsCache cache(2);
    cache.store("a", CachedAnswer{}, seconds(60), kStart);
    cache.store("b", CachedAnswer{}, seconds(60), kStart);
    EXPECT_TRUE(cache.find("a", kStart));  // "b" is now the oldest use
    cache.store("c", CachedAnswer{}, seconds(60), kStart);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_TRUE(cache.find("a", kStart));
    EXPECT_FALSE(cache.find("b", kStart));
    EXPECT_TRUE(cache.find("c", kStart));
}

// Storing a name again replaces it; size 0 or TTL 0 stores nothing.
TEST(DnsCache, ReplaceAndDisabled) {
    DnsCache cache(2);
    cache.store("a", CachedAnswer{{1}}, seconds(60), kStart);
    cache.store("a", CachedAnswer{{2}}, seconds(60), kStart);
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(cache.find("a", kStart)->addresses, std::vector<std::uint32_t>{2});
    cache.store("z", CachedAnswer{}, seconds(0), kStart);
    EXPECT_FALSE(cache.find("z", kStart));
    DnsCache off(0);
    off.store("a", CachedAnswer{}, seconds(60), kStart);
    EXPECT_FALSE(off.find("a", kStart));
}

}  // namespace
}  // namespace mailgate::dnsbl
