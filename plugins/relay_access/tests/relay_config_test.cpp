#include "relay_config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailgate::relay_access {
namespace {

std::string errorPaths(const ConfigParseResult& result) {
    std::string paths;
    for (const auto& error : result.errors) {
        paths += "[" + error.path + "]";
    }
    return paths;
}

// No config at all: nothing trusted, nothing local, the default reply text.
TEST(RelayConfigTest, EmptyConfigGivesDefaults) {
    for (const char* text : {"", "~", "null", "{}", "# only a comment\n"}) {
        const auto result = parseRelayConfig(text);
        EXPECT_TRUE(result.errors.empty()) << text << ": " << errorPaths(result);
        EXPECT_TRUE(result.config.trusted_networks.empty());
        EXPECT_TRUE(result.config.local_domains.empty());
        EXPECT_EQ(result.config.reject_message, "Relay access denied");
    }
}

// The documented example is read completely.
TEST(RelayConfigTest, FullExample) {
    const auto result = parseRelayConfig(R"(
trusted_networks: ["127.0.0.0/8", "::1/128", "192.0.2.7"]
local_domains: ["example.test", ".example.org"]
reject_message: "No relaying here"
)");
    ASSERT_TRUE(result.errors.empty()) << errorPaths(result);
    EXPECT_TRUE(result.warnings.empty());
    ASSERT_EQ(result.config.trusted_networks.size(), 3u);
    EXPECT_EQ(formatNetwork(result.config.trusted_networks[2]), "192.0.2.7/32");
    ASSERT_EQ(result.config.local_domains.size(), 2u);
    EXPECT_TRUE(result.config.local_domains[1].subdomains_only);
    EXPECT_EQ(result.config.reject_message, "No relaying here");
}

// Block-style lists and keys with no value (empty lists) are fine too.
TEST(RelayConfigTest, BlockListsAndEmptyValues) {
    const auto block = parseRelayConfig(R"(
trusted_networks:
  - 10.0.0.0/8
  - "2001:db8::/32"
local_domains:
)");
    ASSERT_TRUE(block.errors.empty()) << errorPaths(block);
    EXPECT_EQ(block.config.trusted_networks.size(), 2u);
    EXPECT_TRUE(block.config.local_domains.empty());
}

// A bad network is reported at its index, and the others are still checked.
TEST(RelayConfigTest, BadNetworkReportedAtItsIndex) {
    const auto result = parseRelayConfig(
        R"(trusted_networks: ["127.0.0.0/8", "300.1.1.1", "::/0", "10.0.0.0/40"])");
    ASSERT_EQ(result.errors.size(), 2u);
    EXPECT_EQ(result.errors[0].path, "trusted_networks[1]");
    EXPECT_NE(result.errors[0].message.find("300.1.1.1"), std::string::npos);
    EXPECT_EQ(result.errors[1].path, "trusted_networks[3]");
    EXPECT_NE(result.errors[1].message.find("0 to 32"), std::string::npos);
}

// A bad domain is reported at its index.
TEST(RelayConfigTest, BadDomainReportedAtItsIndex) {
    const auto result = parseRelayConfig(R"(local_domains: ["example.test", "example..org"])");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].path, "local_domains[1]");
}

// Host bits are accepted with a warning naming the network actually used.
TEST(RelayConfigTest, HostBitsGiveWarning) {
    const auto result = parseRelayConfig(R"(trusted_networks: ["10.0.0.0/8", "192.0.2.77/24"])");
    ASSERT_TRUE(result.errors.empty()) << errorPaths(result);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(result.warnings[0].path, "trusted_networks[1]");
    EXPECT_NE(result.warnings[0].message.find("192.0.2.0/24"), std::string::npos);
}

// Unknown and duplicate keys are errors at the key.
TEST(RelayConfigTest, UnknownAndDuplicateKeys) {
    const auto unknown = parseRelayConfig("trusted_network: [\"127.0.0.1\"]\n");
    ASSERT_EQ(unknown.errors.size(), 1u);
    EXPECT_EQ(unknown.errors[0].path, "trusted_network");
    EXPECT_NE(unknown.errors[0].message.find("unknown key"), std::string::npos);

    const auto duplicate = parseRelayConfig("local_domains: [a.test]\nlocal_domains: [b.test]\n");
    ASSERT_FALSE(duplicate.errors.empty());
    EXPECT_EQ(duplicate.errors[0].path, "local_domains");
}

// allow_authenticated is a boolean, false by default.
TEST(RelayConfigTest, AllowAuthenticated) {
    EXPECT_FALSE(parseRelayConfig("").config.allow_authenticated);
    EXPECT_TRUE(parseRelayConfig("allow_authenticated: true\n").config.allow_authenticated);
    EXPECT_FALSE(parseRelayConfig("allow_authenticated: false\n").config.allow_authenticated);
    EXPECT_EQ(errorPaths(parseRelayConfig("allow_authenticated: yes\n")), "[allow_authenticated]");
    EXPECT_EQ(errorPaths(parseRelayConfig("allow_authenticated: [true]\n")),
              "[allow_authenticated]");
}

// Values of the wrong shape are errors at the key or the item.
TEST(RelayConfigTest, WrongShapes) {
    EXPECT_EQ(errorPaths(parseRelayConfig("trusted_networks: 127.0.0.1\n")), "[trusted_networks]");
    EXPECT_EQ(errorPaths(parseRelayConfig("local_domains: {a: b}\n")), "[local_domains]");
    EXPECT_EQ(errorPaths(parseRelayConfig("local_domains: [[a.test]]\n")), "[local_domains[0]]");
    EXPECT_EQ(errorPaths(parseRelayConfig("reject_message: [a]\n")), "[reject_message]");
    EXPECT_EQ(errorPaths(parseRelayConfig("reject_message:\n")), "[reject_message]");
    EXPECT_EQ(errorPaths(parseRelayConfig("- a\n- b\n")), "[]");
    EXPECT_EQ(errorPaths(parseRelayConfig("just text\n")), "[]");
}

// The reply text must fit on one SMTP reply line.
TEST(RelayConfigTest, RejectMessageValidated) {
    EXPECT_EQ(errorPaths(parseRelayConfig("reject_message: \"two\\nlines\"\n")),
              "[reject_message]");
    EXPECT_EQ(errorPaths(parseRelayConfig("reject_message: \"\"\n")), "[reject_message]");
    EXPECT_EQ(errorPaths(parseRelayConfig("reject_message: " + std::string(201, 'x') + "\n")),
              "[reject_message]");
    EXPECT_TRUE(parseRelayConfig("reject_message: " + std::string(200, 'x') + "\n").errors.empty());
}

// YAML that does not parse is one error for the whole subtree, not an exception.
TEST(RelayConfigTest, InvalidYaml) {
    const auto result = parseRelayConfig("trusted_networks: [\"127.0.0.1\"\n");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].path, "");
    EXPECT_NE(result.errors[0].message.find("invalid YAML"), std::string::npos);
}

}  // namespace
}  // namespace mailgate::relay_access
