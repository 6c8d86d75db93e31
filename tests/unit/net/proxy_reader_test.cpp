#include "core/net/proxy_reader.hpp"

#include <gtest/gtest.h>

#include <string>

#include "socket_pair.hpp"

namespace mailgate::net {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

config::Network network(const std::string& text) {
    config::Network parsed;
    EXPECT_EQ(config::parseNetwork(text, parsed), "");
    return parsed;
}

// A connected pair of loopback sockets; `peer` plays the load balancer.
struct SocketPair : test_support::SocketPair {
    ProxyOutcome read(std::chrono::milliseconds timeout = 2s) {
        ProxyOutcome outcome;
        asio::co_spawn(
            context,
            [&]() -> awaitable<void> { outcome = co_await readProxyHeader(server, timeout); },
            asio::detached);
        context.run_for(5s);
        return outcome;
    }
};

// IPv4-mapped IPv6 addresses match IPv4 networks; families never mix otherwise.
TEST(ProxyReaderTest, InNetworks) {
    const std::vector<config::Network> networks{network("10.0.0.0/8"), network("2001:db8::/32")};
    EXPECT_TRUE(inNetworks(asio::ip::make_address("10.1.2.3"), networks));
    EXPECT_TRUE(inNetworks(asio::ip::make_address("::ffff:10.1.2.3"), networks));
    EXPECT_TRUE(inNetworks(asio::ip::make_address("2001:db8::1"), networks));
    EXPECT_FALSE(inNetworks(asio::ip::make_address("11.0.0.1"), networks));
    EXPECT_FALSE(inNetworks(asio::ip::make_address("2001:db9::1"), networks));
    EXPECT_FALSE(inNetworks(asio::ip::make_address("::a00:1"), networks));
    EXPECT_FALSE(inNetworks(asio::ip::make_address("10.0.0.1"), {}));
}

// A version 2 header is read exactly: the bytes behind it stay in the socket for the session.
TEST(ProxyReaderTest, V2IsReadExactly) {
    SocketPair pair;
    const std::string header = "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"s +
                               "\xc0\x00\x02\x01\xc6\x33\x64\x07\xd4\x31\x00\x19"s;
    asio::write(pair.peer, asio::buffer(header + "AFTER"));
    const ProxyOutcome outcome = pair.read();
    ASSERT_TRUE(outcome.header) << outcome.error;
    EXPECT_EQ(outcome.header->source->address.to_string(), "192.0.2.1");
    char rest[5];
    asio::read(pair.server, asio::buffer(rest));
    EXPECT_EQ(std::string(rest, 5), "AFTER");
}

// A version 1 header with client bytes behind it: the client talked before the greeting.
TEST(ProxyReaderTest, V1WithEarlyTalk) {
    SocketPair pair;
    asio::write(pair.peer, asio::buffer("PROXY TCP4 192.0.2.1 192.0.2.2 1 25\r\nEHLO x\r\n"s));
    const ProxyOutcome outcome = pair.read();
    EXPECT_FALSE(outcome.header);
    EXPECT_EQ(outcome.error, "client data right after the PROXY header, before the greeting");
}

// Half a header, then silence: refused at the timeout.
TEST(ProxyReaderTest, Timeout) {
    SocketPair pair;
    asio::write(pair.peer, asio::buffer("PROXY TCP4 192."s));
    const auto started = std::chrono::steady_clock::now();
    const ProxyOutcome outcome = pair.read(300ms);
    EXPECT_FALSE(outcome.header);
    EXPECT_EQ(outcome.error, "no complete PROXY header in time");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

// The peer closes halfway through the header.
TEST(ProxyReaderTest, ClosedEarly) {
    SocketPair pair;
    asio::write(pair.peer, asio::buffer("\r\n\r\n\0\r\n"s));
    pair.peer.close();
    const ProxyOutcome outcome = pair.read();
    EXPECT_FALSE(outcome.header);
    EXPECT_EQ(outcome.error, "connection closed before the PROXY header ended");
}

// A malformed header is refused with the parser's reason.
TEST(ProxyReaderTest, Malformed) {
    SocketPair pair;
    asio::write(pair.peer, asio::buffer("EHLO client.example\r\n"s));
    const ProxyOutcome outcome = pair.read();
    EXPECT_FALSE(outcome.header);
    EXPECT_EQ(outcome.error, "malformed PROXY header: not a PROXY protocol header");
}

}  // namespace
}  // namespace mailgate::net
