#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/config/config.hpp"

namespace mailgate::config {
namespace {

using namespace std::chrono_literals;

std::optional<uint64_t> size(const std::string& text) {
    uint64_t bytes = 0;
    return parseSize(text, bytes) ? std::optional(bytes) : std::nullopt;
}

std::optional<std::chrono::milliseconds> duration(const std::string& text) {
    std::chrono::milliseconds value{};
    return parseDuration(text, value) ? std::optional(value) : std::nullopt;
}

std::optional<Endpoint> endpoint(const std::string& text) {
    Endpoint value;
    return parseEndpoint(text, value) ? std::optional(value) : std::nullopt;
}

// A bare integer is bytes, and B, K/KiB, M/MiB, G/GiB are binary multiples.
TEST(ConfigValuesTest, SizeAcceptsBytesAndBinaryUnits) {
    EXPECT_EQ(size("0"), 0u);
    EXPECT_EQ(size("1000"), 1000u);
    EXPECT_EQ(size("512B"), 512u);
    EXPECT_EQ(size("10K"), 10u * 1024);
    EXPECT_EQ(size("10KiB"), 10u * 1024);
    EXPECT_EQ(size("25M"), 25u * 1024 * 1024);
    EXPECT_EQ(size("25MiB"), 25u * 1024 * 1024);
    EXPECT_EQ(size("2G"), 2ull * 1024 * 1024 * 1024);
    EXPECT_EQ(size("2GiB"), 2ull * 1024 * 1024 * 1024);
    EXPECT_EQ(size("18446744073709551615"), UINT64_MAX);
}

// Signs, fractions, spaces, decimal or lowercase units and overflow are all malformed.
TEST(ConfigValuesTest, SizeRejectsMalformedText) {
    for (const char* text :
         {"", "MiB", "-1", "+1", "1.5MiB", "25MB", "25KB", "25GB", "25 MiB", "25mib", "25k",
          "25KiBs", "0x10", " 25", "18446744073709551616", "17179869184GiB"}) {
        EXPECT_EQ(size(text), std::nullopt) << text;
    }
}

// A failed parse leaves the output untouched.
TEST(ConfigValuesTest, FailedParsesKeepTheOutput) {
    uint64_t bytes = 7;
    EXPECT_FALSE(parseSize("x", bytes));
    EXPECT_EQ(bytes, 7u);
    std::chrono::milliseconds value = 7ms;
    EXPECT_FALSE(parseDuration("x", value));
    EXPECT_EQ(value, 7ms);
    Endpoint kept{"kept", 7, {}};
    EXPECT_FALSE(parseEndpoint("x", kept));
    EXPECT_EQ(kept.toString(), "kept:7");
}

// Durations take ms, s, m or h; "0" alone needs no unit.
TEST(ConfigValuesTest, DurationAcceptsEachUnit) {
    EXPECT_EQ(duration("0"), 0ms);
    EXPECT_EQ(duration("0s"), 0ms);
    EXPECT_EQ(duration("250ms"), 250ms);
    EXPECT_EQ(duration("30s"), 30s);
    EXPECT_EQ(duration("5m"), 5min);
    EXPECT_EQ(duration("1h"), 1h);
    EXPECT_EQ(duration("48h"), 48h);  // the 24h bound is the loader's, not the parser's
}

// A number without unit, other units, signs, fractions and overflow are malformed.
TEST(ConfigValuesTest, DurationRejectsMalformedText) {
    for (const char* text : {"", "5", "00", "s", "1.5s", "-1s", "+1s", "5 m", "5min", "1d", "5S",
                             "10sec", "9999999999999999999h"}) {
        EXPECT_EQ(duration(text), std::nullopt) << text;
    }
}

// Host names, IPv4 and bracketed IPv6 parse, and toString gives the same text back.
TEST(ConfigValuesTest, EndpointParsesAndPrintsBack) {
    for (const char* text : {"127.0.0.1:25", "localhost:2525", "mx-1.example.test:587", "[::1]:25",
                             "[::]:25", "[2001:db8::1]:10025", "a:65535", "h:1"}) {
        std::optional<Endpoint> parsed = endpoint(text);
        ASSERT_TRUE(parsed.has_value()) << text;
        EXPECT_EQ(parsed->toString(), text);
    }
    EXPECT_EQ(endpoint("[::1]:25")->host, "::1");
    EXPECT_EQ(endpoint("[::1]:25")->port, 25);
    EXPECT_EQ(endpoint("10.0.0.2:10025")->host, "10.0.0.2");
    EXPECT_EQ(endpoint("10.0.0.2:10025")->port, 10025);
}

// An IPv6 host set in code is printed in brackets.
TEST(ConfigValuesTest, EndpointToStringBracketsIpv6) {
    EXPECT_EQ((Endpoint{"fe80::1", 25, {}}).toString(), "[fe80::1]:25");
    EXPECT_EQ((Endpoint{"mx.example.test", 25, {}}).toString(), "mx.example.test:25");
}

// Missing parts, bad ports, unbracketed IPv6 and bad host names are malformed.
TEST(ConfigValuesTest, EndpointRejectsMalformedText) {
    for (const char* text : {"",
                             "foo",
                             "foo:",
                             ":25",
                             "host:0",
                             "host:65536",
                             "host:99999999",
                             "host:025",
                             "host:+25",
                             "host:-1",
                             "host:25x",
                             "host: 25",
                             "::1:25",
                             "::1",
                             "[::1]",
                             "[::1",
                             "[::1]25",
                             "[]:25",
                             "[1.2.3.4]:25",
                             "[not-v6]:25",
                             "999.1.1.1:25",
                             "1.2.3:25",
                             "bad_host:25",
                             "-a.example:25",
                             "a-.example:25",
                             "a..b:25",
                             "a.:25",
                             "host name:25"}) {
        EXPECT_FALSE(endpoint(text).has_value()) << text;
    }
}

}  // namespace
}  // namespace mailgate::config
