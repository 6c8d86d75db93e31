// The `scanners:` list: defaults per type, every key, and located errors.
#include "scanner_config.hpp"

#include <gtest/gtest.h>

#include "spam_config.hpp"
#include "test_support.hpp"

namespace mailgate::spam_score {
namespace {

using testing::configFrom;
using testing::errorsOf;

// Only type and address are needed; the rest has defaults that differ by type.
TEST(ScannerConfigTest, Defaults) {
    const SpamConfig config = configFrom(R"(
scanners:
  - {type: spamd, address: "127.0.0.1:783"}
  - {type: rspamd, address: "[::1]:11333"}
)");
    ASSERT_EQ(config.scanners.size(), 2u);
    const ScannerConfig& spamd = config.scanners[0];
    EXPECT_EQ(spamd.type, ScannerType::Spamd);
    EXPECT_EQ(spamd.name, "SPAMD");
    EXPECT_EQ(spamd.symbol_prefix, "SA:");
    EXPECT_EQ(spamd.timeout, std::chrono::seconds(10));
    EXPECT_EQ(spamd.on_failure, OnFailure::Ignore);
    EXPECT_DOUBLE_EQ(spamd.weight, 1.0);
    EXPECT_EQ(spamd.max_size, 1024u * 1024);
    ASSERT_EQ(spamd.addresses.size(), 1u);
    EXPECT_EQ(spamd.addresses[0].text, "127.0.0.1:783");
    const ScannerConfig& rspamd = config.scanners[1];
    EXPECT_EQ(rspamd.name, "RSPAMD");
    EXPECT_EQ(rspamd.symbol_prefix, "RS:");
    EXPECT_TRUE(rspamd.envelope);
    EXPECT_TRUE(rspamd.follow_action);
    ASSERT_EQ(rspamd.addresses.size(), 1u);
    EXPECT_EQ(rspamd.addresses[0].text, "[::1]:11333");
    EXPECT_TRUE(configFrom("hostname: mx.example").scanners.empty());
}

TEST(ScannerConfigTest, EveryKey) {
    const SpamConfig config = configFrom(R"(
scanners:
  - type: rspamd
    address: "localhost:11333"
    name: RS_MAIN
    symbol_prefix: "R."
    timeout: 500ms
    on_failure: tempfail
    weight: 0.5
    max_size: 10MB
    envelope: false
    follow_action: no
)");
    ASSERT_EQ(config.scanners.size(), 1u);
    const ScannerConfig& scanner = config.scanners[0];
    EXPECT_EQ(scanner.name, "RS_MAIN");
    EXPECT_EQ(scanner.symbol_prefix, "R.");
    EXPECT_EQ(scanner.address, "localhost:11333");
    EXPECT_FALSE(scanner.addresses.empty());
    EXPECT_EQ(scanner.timeout, std::chrono::milliseconds(500));
    EXPECT_EQ(scanner.on_failure, OnFailure::Tempfail);
    EXPECT_DOUBLE_EQ(scanner.weight, 0.5);
    EXPECT_EQ(scanner.max_size, 10u * 1024 * 1024);
    EXPECT_FALSE(scanner.envelope);
    EXPECT_FALSE(scanner.follow_action);
}

// Each mistake is reported at its own path, all of them at once.
TEST(ScannerConfigTest, Errors) {
    const auto errors = errorsOf(R"(
scanners:
  - {address: "127.0.0.1:783"}
  - {type: clamd, address: "127.0.0.1:783"}
  - {type: spamd}
  - {type: spamd, address: "127.0.0.1", name: "SA-1"}
  - {type: spamd, address: "127.0.0.1:0", symbol_prefix: "a b"}
  - {type: spamd, address: "127.0.0.1:99999", timeout: 10}
  - {type: spamd, address: "::1:783", timeout: 11m, weight: 101}
  - {type: spamd, address: "[::1]783", max_size: 100, on_failure: reject}
  - {type: spamd, address: "127.0.0.1:783", envelope: true, follow_action: false, port: 1}
  - {type: rspamd, address: "127.0.0.1:1", envelope: maybe, timeout: 0ms}
  - {type: rspamd, address: "127.0.0.1:2", weight: -1}
)");
    const std::vector<std::string> expected = {
        "scanners[0].type: needs a type (spamd or rspamd)",
        "scanners[1].type: must be spamd or rspamd",
        "scanners[2].address: needs an address (host:port)",
        "scanners[3].address: must be host:port or [IPv6]:port",
        "scanners[3].name: must be 1 to 32 letters, digits or _",
        "scanners[4].address: must be host:port or [IPv6]:port with a port from 1 to 65535",
        "scanners[4].symbol_prefix: must be at most 16 letters, digits or _ : . -",
        "scanners[5].address: must be host:port or [IPv6]:port with a port from 1 to 65535",
        "scanners[5].timeout: must be a duration above 0 and at most 10m (\"500ms\", \"10s\", "
        "\"1m\")",
        "scanners[6].address: must be host:port or [IPv6]:port",
        "scanners[6].timeout: must be a duration above 0 and at most 10m (\"500ms\", \"10s\", "
        "\"1m\")",
        "scanners[6].weight: must be from 0 to 100",
        "scanners[7].address: must be host:port or [IPv6]:port",
        "scanners[7].max_size: must be from 1KB to 1GB",
        "scanners[7].on_failure: must be ignore or tempfail",
        "scanners[8].port: unknown key (expected type, address, name, symbol_prefix, timeout, "
        "on_failure, weight, max_size, envelope, follow_action)",
        "scanners[8].envelope: is only for type rspamd",
        "scanners[8].follow_action: is only for type rspamd",
        "scanners[9].timeout: must be a duration above 0 and at most 10m (\"500ms\", \"10s\", "
        "\"1m\")",
        "scanners[9].envelope: must be true or false",
        "scanners[10].weight: must be from 0 to 100",
    };
    for (const auto& error : expected) {
        EXPECT_NE(std::find(errors.begin(), errors.end(), error), errors.end()) << error;
    }
    for (const auto& error : errors) {  // the rest: entries left with a default name
        if (std::find(expected.begin(), expected.end(), error) == expected.end()) {
            EXPECT_NE(error.find("another scanner already has the name"), std::string::npos)
                << error;
        }
    }
}

// Two scanners of one type need different names (their symbols would mix).
TEST(ScannerConfigTest, DuplicateNames) {
    EXPECT_EQ(errorsOf(R"(
scanners:
  - {type: spamd, address: "127.0.0.1:783"}
  - {type: spamd, address: "127.0.0.1:784"}
  - {type: spamd, address: "127.0.0.1:785", name: SPAMD2}
)"),
              std::vector<std::string>{"scanners[1].name: another scanner already has the name "
                                       "SPAMD (set a different name)"});
    EXPECT_EQ(errorsOf("scanners: {type: spamd}"),
              std::vector<std::string>{"scanners: must be a list of scanners"});
}

// max_concurrent_scans: 64 by default, 1 to 4096.
TEST(ScannerConfigTest, MaxConcurrentScans) {
    EXPECT_EQ(configFrom("hostname: mx").max_concurrent_scans, 64u);
    EXPECT_EQ(configFrom("max_concurrent_scans: 5").max_concurrent_scans, 5u);
    EXPECT_EQ(
        errorsOf("max_concurrent_scans: 0"),
        std::vector<std::string>{"max_concurrent_scans: must be a whole number from 1 to 4096"});
}

TEST(ScannerConfigTest, Durations) {
    EXPECT_EQ(parseDuration("250ms"), std::chrono::milliseconds(250));
    EXPECT_EQ(parseDuration("10s"), std::chrono::seconds(10));
    EXPECT_EQ(parseDuration("2m"), std::chrono::minutes(2));
    EXPECT_EQ(parseDuration("10"), std::nullopt);
    EXPECT_EQ(parseDuration("1h"), std::nullopt);
    EXPECT_EQ(parseDuration("s"), std::nullopt);
    EXPECT_EQ(parseDuration("1.5s"), std::nullopt);
}

}  // namespace
}  // namespace mailgate::spam_score
