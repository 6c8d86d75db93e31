// The abuse-limit keys: server.proxy_protocol and the per-address rate limit in limits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace mailgate::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

LoadResult load(std::string yaml) {
    if (!yaml.empty() && yaml.front() == '\n') {
        yaml.erase(0, 1);
    }
    return loadConfigText(yaml, "test.yaml");
}

std::vector<std::string> errors(const LoadResult& result) {
    std::vector<std::string> lines;
    for (const ConfigError& error : result.errors) {
        lines.push_back(error.toString());
    }
    return lines;
}

bool networkContains(const Network& network, const std::string& address) {
    uint8_t bytes[16] = {};
    const bool v6 = address.find(':') != std::string::npos;
    inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes);
    return network.contains(bytes, v6);
}

// Defaults: no PROXY listener, no rate limit, IPv6 grouped by /64.
TEST(AbuseConfigTest, Defaults) {
    const LoadResult result = load("backend:\n  servers: [\"127.0.0.1:10025\"]\n");
    ASSERT_TRUE(result.ok()) << errors(result).front();
    EXPECT_TRUE(result.config.server.proxy_protocol.listeners.empty());
    EXPECT_EQ(result.config.server.proxy_protocol.timeout, 5s);
    EXPECT_EQ(result.config.limits.max_connection_rate_per_ip, 0u);
    EXPECT_EQ(result.config.limits.connection_rate_window, 1min);
    EXPECT_EQ(result.config.limits.ipv6_prefix_length, 64u);
}

// Every key read.
TEST(AbuseConfigTest, ReadsEveryKey) {
    const LoadResult result = load(R"(
server:
  listen: ["127.0.0.1:2525", "127.0.0.1:2526", "[::1]:2526"]
  proxy_protocol:
    listeners: ["127.0.0.1:2526", "[::1]:2526"]
    trusted_networks: ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::/0"]
    timeout: 2s
limits:
  max_connection_rate_per_ip: 60
  connection_rate_window: 30s
  ipv6_prefix_length: 48
backend:
  servers: ["127.0.0.1:10025"]
)");
    ASSERT_TRUE(result.ok()) << errors(result).front();
    const ProxyProtocolConfig& proxy = result.config.server.proxy_protocol;
    ASSERT_EQ(proxy.listeners.size(), 2u);
    EXPECT_EQ(proxy.listeners[1].toString(), "[::1]:2526");
    ASSERT_EQ(proxy.trusted_networks.size(), 4u);
    EXPECT_EQ(proxy.trusted_networks[0].text, "10.0.0.0/8");
    EXPECT_EQ(proxy.trusted_networks[1].prefix, 32u);
    EXPECT_EQ(proxy.timeout, 2s);
    EXPECT_EQ(result.config.limits.max_connection_rate_per_ip, 60u);
    EXPECT_EQ(result.config.limits.connection_rate_window, 30s);
    EXPECT_EQ(result.config.limits.ipv6_prefix_length, 48u);
}

// Membership of addresses in networks, at prefix boundaries, for both families.
TEST(AbuseConfigTest, NetworkContains) {
    Network net;
    ASSERT_EQ(parseNetwork("10.1.0.0/17", net), "");
    EXPECT_TRUE(networkContains(net, "10.1.127.255"));
    EXPECT_FALSE(networkContains(net, "10.1.128.0"));
    EXPECT_FALSE(networkContains(net, "::ffff:10.1.0.1"));  // families never mix
    ASSERT_EQ(parseNetwork("2001:db8:ff00::/40", net), "");
    EXPECT_TRUE(networkContains(net, "2001:db8:ff00::1"));
    EXPECT_FALSE(networkContains(net, "2001:db8:fe00::1"));
    ASSERT_EQ(parseNetwork("0.0.0.0/0", net), "");
    EXPECT_TRUE(networkContains(net, "203.0.113.9"));
    ASSERT_EQ(parseNetwork("192.0.2.7", net), "");
    EXPECT_TRUE(networkContains(net, "192.0.2.7"));
    EXPECT_FALSE(networkContains(net, "192.0.2.6"));
}

// Malformed networks are refused with a reason.
TEST(AbuseConfigTest, BadNetworks) {
    Network net;
    EXPECT_EQ(parseNetwork("10.0.0.0/33", net), "bad prefix length: must be 0 to 32");
    EXPECT_EQ(parseNetwork("::/129", net), "bad prefix length: must be 0 to 128");
    EXPECT_EQ(parseNetwork("10.0.0.0/", net), "bad prefix length: must be 0 to 32");
    EXPECT_EQ(parseNetwork("10.0.0.0/08", net), "bad prefix length: must be 0 to 32");
    EXPECT_EQ(parseNetwork("10.0.0.0/+8", net), "bad prefix length: must be 0 to 32");
    EXPECT_EQ(parseNetwork("10.0.0.1/8", net), "host bits set after the /8 prefix");
    EXPECT_EQ(parseNetwork("2001:db8::1/64", net), "host bits set after the /64 prefix");
    EXPECT_EQ(parseNetwork("10.0.0/8", net), "not an IPv4 address");
    EXPECT_EQ(parseNetwork("lb.example/8", net), "not an IPv4 address");
    EXPECT_EQ(parseNetwork("fe80::1%eth0", net), "not an IPv6 address");
}

// Every mistake in the new keys is reported at its line and column.
TEST(AbuseConfigTest, LocatedErrors) {
    const LoadResult result = load(R"(
server:
  listen: ["127.0.0.1:2525"]
  proxy_protocol:
    listeners: ["127.0.0.1:2526", "bad"]
    trusted_networks: ["10.0.0.1/8", 7]
    timeout: 0
    version: 2
limits:
  max_connection_rate_per_ip: -1
  connection_rate_window: 0
  ipv6_prefix_length: 129
backend:
  servers: ["127.0.0.1:10025"]
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre(
            "test.yaml:4:17: server.proxy_protocol.listeners[0]: '127.0.0.1:2526' is not one of "
            "server.listen",
            "test.yaml:4:35: server.proxy_protocol.listeners[1]: invalid endpoint 'bad': "
            "expected host:port",
            "test.yaml:5:24: server.proxy_protocol.trusted_networks[0]: invalid network "
            "'10.0.0.1/8': host bits set after the /8 prefix",
            "test.yaml:5:38: server.proxy_protocol.trusted_networks[1]: invalid network '7': not "
            "an IPv4 address",
            "test.yaml:6:14: server.proxy_protocol.timeout: must be greater than 0, got '0'",
            "test.yaml:7:5: unknown key 'version' in 'server.proxy_protocol'",
            "test.yaml:9:31: limits.max_connection_rate_per_ip: expected a non-negative integer, "
            "got '-1'",
            "test.yaml:10:27: limits.connection_rate_window: must be greater than 0, got '0'",
            "test.yaml:11:23: limits.ipv6_prefix_length: must be at most 128, got '129'"));
}

// The header timeout is at most a minute: a balancer sends the header at once.
TEST(AbuseConfigTest, ProxyTimeoutBound) {
    const LoadResult result = load(R"(
server:
  proxy_protocol:
    listeners: "127.0.0.1:2525"
    trusted_networks: ["10.0.0.0/8"]
    timeout: 2m
backend:
  servers: ["127.0.0.1:10025"]
)");
    EXPECT_THAT(errors(result),
                ElementsAre("test.yaml:5:14: server.proxy_protocol.timeout: must be at most 1m, "
                            "got '2m'"));
}

// listeners and trusted_networks are both required once the section is there; an empty list
// of networks is refused.
TEST(AbuseConfigTest, ProxySectionNeedsBothLists) {
    const LoadResult missing = load(R"(
server:
  proxy_protocol:
    timeout: 1s
backend:
  servers: ["127.0.0.1:10025"]
)");
    EXPECT_THAT(errors(missing),
                ElementsAre("test.yaml:2:3: server.proxy_protocol.listeners: required: the "
                            "listeners that expect a PROXY header",
                            "test.yaml:2:3: server.proxy_protocol.trusted_networks: required: the "
                            "load balancers allowed to send a PROXY header"));
    const LoadResult empty = load(R"(
server:
  proxy_protocol:
    listeners: "127.0.0.1:2525"
    trusted_networks: []
backend:
  servers: ["127.0.0.1:10025"]
)");
    EXPECT_THAT(errors(empty),
                ElementsAre("test.yaml:4:23: server.proxy_protocol.trusted_networks: expected a "
                            "non-empty list of networks like [\"10.0.0.0/8\"]"));
}

}  // namespace
}  // namespace mailgate::config
