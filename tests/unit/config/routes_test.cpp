// The backend keys of issue 6 (type lmtp, unix sockets, balance, retry_delay, forward_client,
// reuse caps, lmtp_multi_recipient) and `routes`: defaults, values and located errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
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
    return loadConfigText("server:\n  hostname: mx.example.test\n" + yaml, "test.yaml");
}

std::vector<std::string> errors(const LoadResult& result) {
    std::vector<std::string> lines;
    for (const ConfigError& error : result.errors) {
        lines.push_back(error.toString());
    }
    return lines;
}

TEST(BackendKeysTest, Defaults) {
    LoadResult result = load("backend:\n  servers: [\"127.0.0.1:10025\"]\n");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
    const BackendConfig& backend = result.config.backend;
    EXPECT_EQ(backend.balance, Balance::Failover);
    EXPECT_EQ(backend.retry_delay, 30s);
    EXPECT_EQ(backend.forward_client, ForwardClient::Auto);
    EXPECT_EQ(backend.max_messages_per_connection, 100u);
    EXPECT_EQ(backend.max_connection_age, 5min);
    EXPECT_EQ(backend.lmtp_multi_recipient, LmtpMultiRecipient::Split);
    EXPECT_TRUE(result.config.routes.empty());
}

TEST(BackendKeysTest, Values) {
    LoadResult result = load(R"(
backend:
  type: lmtp
  servers: ["unix:/run/dovecot/lmtp", "127.0.0.1:24"]
  balance: round_robin
  retry_delay: 0
  forward_client: xforward
  max_messages_per_connection: 0
  max_connection_age: 0
  lmtp_multi_recipient: merge
)");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
    const BackendConfig& backend = result.config.backend;
    EXPECT_EQ(backend.type, BackendType::Lmtp);
    ASSERT_EQ(backend.servers.size(), 2u);
    EXPECT_TRUE(backend.servers[0].isUnix());
    EXPECT_EQ(backend.servers[0].path, "/run/dovecot/lmtp");
    EXPECT_EQ(backend.servers[0].toString(), "unix:/run/dovecot/lmtp");
    EXPECT_EQ(backend.servers[1].toString(), "127.0.0.1:24");
    EXPECT_EQ(backend.balance, Balance::RoundRobin);
    EXPECT_EQ(backend.retry_delay, 0ms);
    EXPECT_EQ(backend.forward_client, ForwardClient::Xforward);
    EXPECT_EQ(backend.max_messages_per_connection, 0u);
    EXPECT_EQ(backend.max_connection_age, 0ms);
    EXPECT_EQ(backend.lmtp_multi_recipient, LmtpMultiRecipient::Merge);
}

TEST(BackendKeysTest, Errors) {
    LoadResult result = load(R"(
backend:
  servers: ["unix:relative.sock", "unix:"]
  balance: random
  retry_delay: 5
  forward_client: yes
  max_messages_per_connection: -1
  max_connection_age: 25h
  lmtp_multi_recipient: merge
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre("test.yaml:4:13: backend.servers[0]: invalid endpoint 'unix:relative.sock': "
                    "a unix socket is written unix:/absolute/path (at most 107 characters)",
                    "test.yaml:4:35: backend.servers[1]: invalid endpoint 'unix:': a unix socket "
                    "is written unix:/absolute/path (at most 107 characters)",
                    "test.yaml:5:12: backend.balance: expected one of failover, round_robin, got "
                    "'random'",
                    "test.yaml:6:16: backend.retry_delay: expected a duration like 500ms, 30s, 5m "
                    "or 1h, got '5' (add a unit: ms, s, m or h)",
                    "test.yaml:7:19: backend.forward_client: expected one of auto, xclient, "
                    "xforward, off, got 'yes'",
                    "test.yaml:8:32: backend.max_messages_per_connection: expected a "
                    "non-negative integer, got '-1'",
                    "test.yaml:9:23: backend.max_connection_age: must be at most 24h, got '25h'",
                    "test.yaml:10:25: backend.lmtp_multi_recipient: only used when backend.type "
                    "is lmtp"));
}

TEST(BackendKeysTest, UnixSocketsOnlyForBackends) {
    LoadResult result = loadConfigText(
        "server:\n  listen: [\"unix:/tmp/x.sock\"]\nbackend:\n  servers: [\"127.0.0.1:25\"]\n",
        "test.yaml");
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(errors(result)[0], ::testing::HasSubstr("server.listen[0]: invalid endpoint"));
}

TEST(BackendKeysTest, LmtpNeedsServers) {
    EXPECT_THAT(errors(load("backend:\n  type: lmtp\n")),
                ElementsAre("test.yaml:3:1: backend.servers: required when backend.type is lmtp"));
    // (the line of `backend:`, where a missing key is reported)
}

TEST(RoutesTest, Values) {
    LoadResult result = load(R"(
backend:
  servers: ["127.0.0.1:10025"]
routes:
  - domains: ["Example.ORG", ".sub.example.org"]
    backend:
      type: lmtp
      servers: ["127.0.0.1:24"]
      retry_delay: 10s
  - domains: archive.example
    backend: {type: maildir, path: /var/mail/archive, helo_name: gw.example.test}
)");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
    const auto& routes = result.config.routes;
    ASSERT_EQ(routes.size(), 2u);
    EXPECT_THAT(routes[0].domains, ElementsAre("example.org", ".sub.example.org"));
    EXPECT_EQ(routes[0].backend.type, BackendType::Lmtp);
    EXPECT_EQ(routes[0].backend.retry_delay, 10s);
    EXPECT_EQ(routes[0].backend.helo_name, "mx.example.test");  // server.hostname
    EXPECT_THAT(routes[1].domains, ElementsAre("archive.example"));
    EXPECT_EQ(routes[1].backend.type, BackendType::Maildir);
    EXPECT_EQ(routes[1].backend.helo_name, "gw.example.test");
}

TEST(RoutesTest, Errors) {
    LoadResult result = load(R"(
backend:
  servers: ["127.0.0.1:10025"]
routes:
  - domains: ["example.org", "bad domain", "..x"]
    backend: {type: smtp}
  - domains: []
  - backend: {servers: ["127.0.0.1:26"], colour: red}
  - domains: [EXAMPLE.org]
    backend: {servers: ["127.0.0.1:27"]}
  - just a string
)");
    EXPECT_THAT(
        errors(result),
        ElementsAre(
            "test.yaml:6:30: routes[0].domains[1]: 'bad domain' is not a domain name (write "
            "example.org for the domain, .example.org for its subdomains)",
            "test.yaml:6:44: routes[0].domains[2]: '..x' is not a domain name (write "
            "example.org for the domain, .example.org for its subdomains)",
            "test.yaml:7:5: routes[0].backend.servers: required when routes[0].backend.type is "
            "smtp",
            "test.yaml:8:5: routes[1].backend: required",
            "test.yaml:8:14: routes[1].domains: expected at least one domain",
            "test.yaml:9:5: routes[2].domains: required",
            "test.yaml:9:42: unknown key 'colour' in 'routes[2].backend'",
            "test.yaml:10:15: routes[3].domains[0]: 'example.org' is already routed by routes[0]",
            "test.yaml:12:5: routes[4]: expected a map of settings, got 'just a string'"));
}

}  // namespace
}  // namespace mailgate::config
