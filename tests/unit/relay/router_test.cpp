#include "core/relay/router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/relay/smtp_backend.hpp"

namespace mailgate::relay {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

config::Config configWith(std::vector<std::string> servers, config::Balance balance) {
    config::Config config;
    for (const std::string& text : servers) {
        config::Endpoint endpoint;
        EXPECT_TRUE(config::parseEndpoint(text, endpoint));
        config.backend.servers.push_back(endpoint);
    }
    config.backend.balance = balance;
    return config;
}

std::vector<std::string> order(const Router& router, size_t route = 0) {
    std::vector<std::string> names;
    for (const config::Endpoint* server : router.serverOrder(route)) {
        names.push_back(server->toString());
    }
    return names;
}

TEST(DomainMatchesTest, ExactAndSubdomains) {
    EXPECT_TRUE(domainMatches("example.org", "example.org"));
    EXPECT_FALSE(domainMatches("example.org", "sub.example.org"));
    EXPECT_FALSE(domainMatches("example.org", "xexample.org"));
    EXPECT_TRUE(domainMatches(".example.org", "sub.example.org"));
    EXPECT_TRUE(domainMatches(".example.org", "a.b.example.org"));
    EXPECT_FALSE(domainMatches(".example.org", "example.org"));
    EXPECT_FALSE(domainMatches(".example.org", "badexample.org"));
}

TEST(RouterTest, RouteForRecipient) {
    config::Config config = configWith({"127.0.0.1:25"}, config::Balance::Failover);
    config.routes.push_back({{"example.org"}, {}});
    config.routes.push_back({{".example.org", "other.test"}, {}});
    ServerHealth health;
    Router router(config, health);
    EXPECT_EQ(router.size(), 3u);
    EXPECT_EQ(router.routeFor("a@example.org"), 1u);
    EXPECT_EQ(router.routeFor("a@EXAMPLE.Org"), 1u);
    EXPECT_EQ(router.routeFor("a@sub.example.org"), 2u);
    EXPECT_EQ(router.routeFor("\"x@y\"@other.test"), 2u);
    EXPECT_EQ(router.routeFor("a@elsewhere.test"), 0u);
    EXPECT_EQ(router.routeFor("postmaster"), 0u);
    EXPECT_EQ(router.name(0), "backend");
    EXPECT_EQ(router.name(2), "routes[1]");
}

TEST(RouterTest, FailoverSkipsDownServersUntilAllAreDown) {
    const config::Config config =
        configWith({"10.0.0.1:25", "10.0.0.2:25", "10.0.0.3:25"}, config::Balance::Failover);
    ServerHealth health;
    Router router(config, health);
    EXPECT_THAT(order(router), ElementsAre("10.0.0.1:25", "10.0.0.2:25", "10.0.0.3:25"));
    health.markFailed("10.0.0.1:25", 1h);
    EXPECT_THAT(order(router), ElementsAre("10.0.0.2:25", "10.0.0.3:25", "10.0.0.1:25"));
    health.markFailed("10.0.0.3:25", 1h);
    health.markFailed("10.0.0.2:25", 2h);
    // All down: still all tried, the soonest retry first.
    EXPECT_THAT(order(router), ElementsAre("10.0.0.1:25", "10.0.0.3:25", "10.0.0.2:25"));
    health.markUp("10.0.0.2:25");
    EXPECT_THAT(order(router), ElementsAre("10.0.0.2:25", "10.0.0.1:25", "10.0.0.3:25"));
}

TEST(RouterTest, RetryDelayExpires) {
    const config::Config config =
        configWith({"10.0.0.1:25", "10.0.0.2:25"}, config::Balance::Failover);
    ServerHealth health;
    Router router(config, health);
    health.markFailed("10.0.0.1:25", 30ms);
    EXPECT_TRUE(health.isDown("10.0.0.1:25"));
    EXPECT_THAT(order(router), ElementsAre("10.0.0.2:25", "10.0.0.1:25"));
    std::this_thread::sleep_for(40ms);
    EXPECT_FALSE(health.isDown("10.0.0.1:25"));
    EXPECT_THAT(order(router), ElementsAre("10.0.0.1:25", "10.0.0.2:25"));
    health.markFailed("10.0.0.1:25", 0ms);  // retry_delay 0: never marked down
    EXPECT_FALSE(health.isDown("10.0.0.1:25"));
}

TEST(RouterTest, RoundRobinTakesTurns) {
    const config::Config config =
        configWith({"10.0.0.1:25", "10.0.0.2:25", "10.0.0.3:25"}, config::Balance::RoundRobin);
    ServerHealth health;
    Router router(config, health);
    EXPECT_THAT(order(router), ElementsAre("10.0.0.1:25", "10.0.0.2:25", "10.0.0.3:25"));
    EXPECT_THAT(order(router), ElementsAre("10.0.0.2:25", "10.0.0.3:25", "10.0.0.1:25"));
    EXPECT_THAT(order(router), ElementsAre("10.0.0.3:25", "10.0.0.1:25", "10.0.0.2:25"));
    EXPECT_THAT(order(router), ElementsAre("10.0.0.1:25", "10.0.0.2:25", "10.0.0.3:25"));
}

TEST(RouterTest, HealthIsSharedAcrossThreads) {
    ServerHealth health;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&health, t] {
            for (int i = 0; i < 1000; ++i) {
                const std::string name = "10.0.0." + std::to_string(i % 7) + ":25";
                if ((i + t) % 2 == 0) {
                    health.markFailed(name, 1h);
                } else {
                    health.markUp(name);
                }
                (void)health.isDown(name);
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    SUCCEED();
}

TEST(XtextTest, EncodesSpecials) {
    EXPECT_EQ(xtext("client.example"), "client.example");
    EXPECT_EQ(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
    EXPECT_EQ(xtext("\x01\x7f"), "+01+7F");
    EXPECT_EQ(xtext("[UNAVAILABLE]"), "[UNAVAILABLE]");
}

TEST(AttributeCommandsTest, OnlyAdvertisedAndSplitAt512) {
    const std::vector<std::pair<std::string, std::string>> attributes{
        {"HELO", std::string(250, 'h')},
        {"PROTO", "ESMTP"},
        {"LOGIN", "x"},
        {"NAME", std::string(250, 'n')},
        {"ADDR", "IPV6:2001:db8::1"}};
    const auto lines = attributeCommands("XCLIENT", attributes, {"NAME", "ADDR", "PROTO", "HELO"});
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "XCLIENT HELO=" + std::string(250, 'h') + " PROTO=ESMTP\r\n");
    EXPECT_EQ(lines[1], "XCLIENT NAME=" + std::string(250, 'n') + " ADDR=IPV6:2001:db8::1\r\n");
    for (const auto& line : lines) {
        EXPECT_LE(line.size(), 512u);
    }
    EXPECT_TRUE(attributeCommands("XFORWARD", attributes, {}).empty());
}

}  // namespace
}  // namespace mailgate::relay
