#include "core/net/transport.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <string>
#include <thread>

#include "socket_pair.hpp"

namespace mailgate::net {
namespace {

using namespace std::chrono_literals;

// The transport writes on `server`; `peer` reads.
using test_support::SocketPair;

struct WriteResult {
    bool done = false;
    error_code error;
};

// As the session and the backend write: what the kernel takes now, then the rest.
awaitable<void> writeAll(Transport& transport, const std::string& data, WriteResult& result) {
    asio::const_buffer pending = asio::buffer(data);
    result.error = transport.sendNow(pending);
    if (!result.error && pending.size() > 0) {
        result.error = co_await transport.write(pending);
    }
    result.done = true;
}

std::string numberedBytes(size_t size) {
    std::string data(size, '\0');
    for (size_t i = 0; i < size; ++i) {
        data[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    return data;
}

TEST(TransportTest, SmallWriteArrives) {
    SocketPair pair;
    Transport transport(pair.server);
    const std::string reply = "250 2.1.0 Ok\r\n";
    WriteResult result;
    asio::co_spawn(pair.context, writeAll(transport, reply, result), asio::detached);
    pair.context.run_for(200ms);
    ASSERT_TRUE(result.done);
    EXPECT_FALSE(result.error);
    std::string received(reply.size(), '\0');
    asio::read(pair.peer, asio::buffer(received));
    EXPECT_EQ(received, reply);
}

// A reply goes out whole from sendNow, before the event loop runs at all.
TEST(TransportTest, SendNowSendsAReplyAtOnce) {
    SocketPair pair;
    Transport transport(pair.server);
    const std::string reply = "354 End data with <CR><LF>.<CR><LF>\r\n";
    asio::const_buffer pending = asio::buffer(reply);
    EXPECT_FALSE(transport.sendNow(pending));
    EXPECT_EQ(pending.size(), 0u);
    std::string received(reply.size(), '\0');
    asio::read(pair.peer, asio::buffer(received));
    EXPECT_EQ(received, reply);
}

// When the kernel takes only part, sendNow keeps the rest in the buffer, never blocking.
TEST(TransportTest, SendNowLeavesWhatTheKernelDidNotTake) {
    SocketPair pair;
    pair.server.set_option(asio::socket_base::send_buffer_size(64 * 1024));
    Transport transport(pair.server);
    const std::string data = numberedBytes(16 * 1024 * 1024);
    asio::const_buffer pending = asio::buffer(data);
    EXPECT_FALSE(transport.sendNow(pending));
    EXPECT_GT(pending.size(), 0u);
    EXPECT_LT(pending.size(), data.size());
    EXPECT_EQ(static_cast<const char*>(pending.data()),
              data.data() + (data.size() - pending.size()));
}

// More than the kernel takes at once: the rest goes out as the peer reads, in order, byte for
// byte, and the write finishes only then.
TEST(TransportTest, WriteLargerThanTheSocketBuffersArrivesWhole) {
    SocketPair pair;
    pair.server.set_option(asio::socket_base::send_buffer_size(64 * 1024));
    pair.peer.set_option(asio::socket_base::receive_buffer_size(64 * 1024));
    Transport transport(pair.server);
    const std::string data = numberedBytes(8 * 1024 * 1024);
    WriteResult result;
    asio::co_spawn(pair.context, writeAll(transport, data, result), asio::detached);
    pair.context.run_for(100ms);
    EXPECT_FALSE(result.done) << "nobody reads yet: the write cannot have finished";

    // Plain recv with a receive timeout: a write that stopped short must not hang the test.
    const timeval five_seconds{5, 0};
    ASSERT_EQ(setsockopt(pair.peer.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds,
                         sizeof five_seconds),
              0);
    std::string received;
    std::thread reader([&] {
        std::string piece(64 * 1024, '\0');
        while (received.size() < data.size()) {
            const ssize_t got = ::recv(pair.peer.native_handle(), piece.data(), piece.size(), 0);
            if (got <= 0) {
                return;
            }
            received.append(piece, 0, static_cast<size_t>(got));
        }
    });
    pair.context.run_for(20s);
    reader.join();
    ASSERT_TRUE(result.done);
    EXPECT_FALSE(result.error);
    EXPECT_TRUE(received == data) << "received " << received.size() << " of " << data.size();
}

// A peer that reset the connection makes the write fail instead of waiting.
TEST(TransportTest, WriteToAResetConnectionFails) {
    SocketPair pair;
    pair.peer.set_option(asio::socket_base::linger(true, 0));
    pair.peer.close();  // RST
    std::this_thread::sleep_for(50ms);
    Transport transport(pair.server);
    const std::string data = numberedBytes(1024 * 1024);
    WriteResult result;
    asio::co_spawn(pair.context, writeAll(transport, data, result), asio::detached);
    pair.context.run_for(5s);
    ASSERT_TRUE(result.done);
    EXPECT_TRUE(result.error);
}

}  // namespace
}  // namespace mailgate::net
