// The YAML subtree: every key, its default, and every mistake reported at its path.
#include "dnsbl_config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace mailgate::dnsbl {
namespace {

using Issues = std::vector<std::pair<std::string, std::string>>;

Issues errorsOf(const std::string& yaml) {
    Issues issues;
    for (const auto& error : parseDnsblConfig(yaml).errors) {
        issues.emplace_back(error.path, error.message);
    }
    return issues;
}

// The path of the only error, or a description of what came instead.
std::string onlyErrorPath(const std::string& yaml) {
    const Issues issues = errorsOf(yaml);
    if (issues.size() != 1) {
        std::string all = std::to_string(issues.size()) + " errors:";
        for (const auto& [path, message] : issues) {
            all += " [" + path + ": " + message + "]";
        }
        return all;
    }
    return issues[0].first;
}

// Every key set.
TEST(DnsblConfig, FullExample) {
    const auto parsed = parseDnsblConfig(R"yaml(
resolver: "127.0.0.1:5353"
timeout: 1500ms
threshold: 5
action: tempfail
reply: {code: 450, enhanced: "4.7.1", text: "Listed: {client} in {zones} ({sender_domain})"}
cache: {max_entries: 100, max_ttl: 10m, negative_ttl: 30s}
zones:
  - zone: Zen.Test.
    weight: 10
    returns: ["127.0.0.2", "127.0.0.0/24"]
    symbol: ZEN
  - zone: wl.test
    weight: -20.5
  - zone: dbl.test
    lookup: sender_domain
)yaml");
    ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].path << ": " << parsed.errors[0].message;
    const DnsblConfig& config = parsed.config;
    EXPECT_EQ(config.resolver, "127.0.0.1:5353");
    EXPECT_EQ(config.timeout.count(), 1500);
    EXPECT_EQ(config.threshold, 5);
    EXPECT_EQ(config.action, Action::Tempfail);
    EXPECT_EQ(config.reply.code, 450);
    EXPECT_EQ(config.reply.enhanced, "4.7.1");
    EXPECT_EQ(config.reply.text, "Listed: {client} in {zones} ({sender_domain})");
    EXPECT_EQ(config.cache.max_entries, 100u);
    EXPECT_EQ(config.cache.max_ttl.count(), 600);
    EXPECT_EQ(config.cache.negative_ttl.count(), 30);
    ASSERT_EQ(config.zones.size(), 3u);
    EXPECT_EQ(config.zones[0].zone, "zen.test");
    EXPECT_EQ(config.zones[0].lookup, Lookup::ClientIp);
    EXPECT_EQ(config.zones[0].weight, 10);
    EXPECT_EQ(config.zones[0].returns.size(), 2u);
    EXPECT_EQ(config.zones[0].symbol, "ZEN");
    EXPECT_EQ(config.zones[1].weight, -20.5);
    EXPECT_EQ(config.zones[1].symbol, "DNSWL_WL_TEST");
    EXPECT_EQ(config.zones[2].lookup, Lookup::SenderDomain);
    EXPECT_EQ(config.zones[2].symbol, "DNSBL_DBL_TEST");
    EXPECT_TRUE(config.hasLookup(Lookup::SenderDomain));
}

// Only a zone given: everything else has its default.
TEST(DnsblConfig, Defaults) {
    const auto parsed = parseDnsblConfig("zones: [{zone: zen.test}]");
    ASSERT_TRUE(parsed.errors.empty());
    const DnsblConfig& config = parsed.config;
    EXPECT_EQ(config.resolver, "");
    EXPECT_EQ(config.timeout.count(), 2000);
    EXPECT_EQ(config.threshold, 1);
    EXPECT_EQ(config.action, Action::Reject);
    EXPECT_EQ(config.reply.code, 554);
    EXPECT_EQ(config.reply.enhanced, "5.7.1");
    EXPECT_EQ(config.reply.text, "Service unavailable; client [{client}] blocked using {zones}");
    EXPECT_EQ(config.cache.max_entries, 10000u);
    EXPECT_EQ(config.cache.max_ttl.count(), 3600);
    EXPECT_EQ(config.cache.negative_ttl.count(), 300);
    ASSERT_EQ(config.zones.size(), 1u);
    EXPECT_EQ(config.zones[0].weight, 1);
    ASSERT_EQ(config.zones[0].returns.size(), 1u);
    EXPECT_EQ(config.zones[0].returns[0].address, 0x7f000000u);
    EXPECT_EQ(config.zones[0].returns[0].prefix_length, 8);
    EXPECT_FALSE(config.hasLookup(Lookup::SenderDomain));
}

// Tempfail gets a 4xx reply by default.
TEST(DnsblConfig, TempfailDefaultReply) {
    const auto parsed = parseDnsblConfig("action: tempfail\nzones: [{zone: zen.test}]");
    ASSERT_TRUE(parsed.errors.empty());
    EXPECT_EQ(parsed.config.reply.code, 451);
    EXPECT_EQ(parsed.config.reply.enhanced, "4.7.1");
}

// Without zones there is nothing to do: a config error.
TEST(DnsblConfig, ZonesRequired) {
    EXPECT_EQ(onlyErrorPath(""), "zones");
    EXPECT_EQ(onlyErrorPath("threshold: 2"), "zones");
    EXPECT_EQ(onlyErrorPath("zones: []"), "zones");
    EXPECT_EQ(onlyErrorPath("zones: zen.test"), "zones");
}

// Each mistake is reported at its own path.
TEST(DnsblConfig, LocatedErrors) {
    const std::string zone = "\nzones: [{zone: zen.test}]";
    EXPECT_EQ(onlyErrorPath("resolver: localhost" + zone), "resolver");
    EXPECT_EQ(onlyErrorPath("resolver: [1]" + zone), "resolver");
    EXPECT_EQ(onlyErrorPath("timeout: 2" + zone), "timeout");
    EXPECT_EQ(onlyErrorPath("timeout: 5ms" + zone), "timeout");
    EXPECT_EQ(onlyErrorPath("timeout: 61s" + zone), "timeout");
    EXPECT_EQ(onlyErrorPath("threshold: 0" + zone), "threshold");
    EXPECT_EQ(onlyErrorPath("threshold: lots" + zone), "threshold");
    EXPECT_EQ(onlyErrorPath("action: drop" + zone), "action");
    EXPECT_EQ(onlyErrorPath("reply: {code: 451}" + zone), "reply.code");
    EXPECT_EQ(onlyErrorPath("reply: {code: 299}" + zone), "reply.code");
    EXPECT_EQ(onlyErrorPath("reply: {code: 591}" + zone), "reply.code");
    EXPECT_EQ(onlyErrorPath("reply: {code: 550, enhanced: 4.7.1}" + zone), "reply.enhanced");
    EXPECT_EQ(onlyErrorPath("reply: {enhanced: 5.x.1}" + zone), "reply.enhanced");
    EXPECT_EQ(onlyErrorPath("reply: {text: \"in {zone}\"}" + zone), "reply.text");
    EXPECT_EQ(onlyErrorPath("reply: {text: \"\"}" + zone), "reply.text");
    EXPECT_EQ(onlyErrorPath("reply: {txt: x}" + zone), "reply.txt");
    EXPECT_EQ(onlyErrorPath("cache: {max_entries: -1}" + zone), "cache.max_entries");
    EXPECT_EQ(onlyErrorPath("cache: {max_entries: 1.5}" + zone), "cache.max_entries");
    EXPECT_EQ(onlyErrorPath("cache: {max_ttl: 1y}" + zone), "cache.max_ttl");
    EXPECT_EQ(onlyErrorPath("cache: {negative_ttl: 200h}" + zone), "cache.negative_ttl");
    EXPECT_EQ(onlyErrorPath("cache: 5" + zone), "cache");
    EXPECT_EQ(onlyErrorPath("bogus: 1" + zone), "bogus");
}

TEST(DnsblConfig, ZoneErrors) {
    EXPECT_EQ(onlyErrorPath("zones: [{weight: 2}]"), "zones[0]");
    EXPECT_EQ(onlyErrorPath("zones: [zen.test]"), "zones[0]");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test}, {zone: \"bad zone\"}]"), "zones[1].zone");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test, lookup: helo}]"), "zones[0].lookup");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test, weight: heavy}]"), "zones[0].weight");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test, weight: 1001}]"), "zones[0].weight");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test, returns: []}]"), "zones[0].returns");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test, returns: [127.0.0.2, 127.0.0.300]}]"),
              "zones[0].returns[1]");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test, symbol: \"has space\"}]"), "zones[0].symbol");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test, colour: red}]"), "zones[0].colour");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test}, {zone: ZEN.test}]"), "zones[1].zone");
}

// The same zone may serve both lookups.
TEST(DnsblConfig, SameZoneForBothLookups) {
    EXPECT_TRUE(errorsOf("zones: [{zone: l.test}, {zone: l.test, lookup: sender_domain}]").empty());
}

// Several mistakes are all reported, and broken YAML is one error at the subtree.
TEST(DnsblConfig, AllErrorsAndBrokenYaml) {
    EXPECT_EQ(errorsOf("timeout: x\naction: y\nzones: [{zone: zen.test, weight: z}]").size(), 3u);
    EXPECT_EQ(onlyErrorPath("zones: [{zone: zen.test}"), "");
    EXPECT_EQ(onlyErrorPath("zones: [{zone: a.test}]\nzones: [{zone: b.test}]"), "zones");
}

TEST(ParseDuration, Units) {
    std::chrono::milliseconds value{};
    ASSERT_TRUE(parseDuration("250ms", value));
    EXPECT_EQ(value.count(), 250);
    ASSERT_TRUE(parseDuration("2m", value));
    EXPECT_EQ(value.count(), 120000);
    EXPECT_FALSE(parseDuration("2", value));
    EXPECT_FALSE(parseDuration("s", value));
    EXPECT_FALSE(parseDuration("-1s", value));
    EXPECT_FALSE(parseDuration("1.5s", value));
}

}  // namespace
}  // namespace mailgate::dnsbl
