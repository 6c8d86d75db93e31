// One scan over real loopback sockets: a peer that answers, a closed port, a peer that never
// answers (the deadline holds), and a body sent in full without being copied.
#include "scanner_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace mailgate::spam_score {
namespace {

// A listening socket on 127.0.0.1 with a port chosen by the kernel.
class Listener {
  public:
    Listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::listen(fd_, 4), 0);
        socklen_t length = sizeof address;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
    }
    ~Listener() { ::close(fd_); }
    int fd() const { return fd_; }
    unsigned port() const { return port_; }

  private:
    int fd_ = -1;
    unsigned port_ = 0;
};

ScannerConfig scannerAt(ScannerType type, unsigned port, std::chrono::milliseconds timeout) {
    ScannerConfig scanner;
    scanner.type = type;
    scanner.address = "127.0.0.1:" + std::to_string(port);
    EXPECT_EQ(resolveAddress(scanner.address, scanner.addresses), "");
    scanner.timeout = timeout;
    return scanner;
}

// Reads the whole request (head, then Content-length octets), answers `reply`, closes.
void answerOnce(int listen_fd, std::string reply, std::string& request) {
    const int fd = ::accept(listen_fd, nullptr, nullptr);
    ASSERT_GE(fd, 0);
    char buffer[65536];
    std::size_t want = std::string::npos;
    while (request.size() < want) {
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) {
            break;
        }
        request.append(buffer, static_cast<std::size_t>(got));
        const std::size_t head_end = request.find("\r\n\r\n");
        const std::size_t length_at = request.find("ength: ");
        if (want == std::string::npos && head_end != std::string::npos && length_at < head_end) {
            want = head_end + 4 + std::stoul(request.substr(length_at + 7));
        }
    }
    ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(fd);
}

MessageText message(const std::string& body) {
    MessageText text;
    text.trace = "Received: from a ([192.0.2.1])\r\n";
    text.header_section = "Subject: test\r\n\r\n";
    text.body = body;
    return text;
}

// spamd: the request carries the exact length, our Received field first and the whole body;
// the reply is parsed.
TEST(ScannerClientTest, SpamdExchange) {
    Listener listener;
    std::string request;
    const std::string body(3 * 1024 * 1024 + 17, 'x');
    std::thread peer(answerOnce, listener.fd(),
                     "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 8.5 / 5.0\r\n\r\n"
                     "GTUBE",
                     std::ref(request));
    const ScanResult result =
        scanMessage(scannerAt(ScannerType::Spamd, listener.port(), std::chrono::seconds(10)),
                    message(body), RspamdEnvelope{});
    peer.join();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_DOUBLE_EQ(result.score, 8.5);
    const std::string start = "Received: from a ([192.0.2.1])\r\nSubject: test\r\n\r\n";
    const std::string head =
        "SYMBOLS SPAMC/1.5\r\nContent-length: " + std::to_string(start.size() + body.size()) +
        "\r\n\r\n";
    EXPECT_EQ(request.size(), head.size() + start.size() + body.size());
    EXPECT_EQ(request.substr(0, head.size() + start.size()), head + start);
}

// Rspamd: the envelope in the request headers (no Received field), the JSON reply parsed.
TEST(ScannerClientTest, RspamdExchange) {
    Listener listener;
    std::string request;
    const std::string json = R"({"score":2.5,"required_score":15,"action":"no action"})";
    std::thread peer(
        answerOnce, listener.fd(),
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json,
        std::ref(request));
    RspamdEnvelope envelope;
    envelope.ip = "192.0.2.1";
    envelope.rcpts = {"a@example.test"};
    const ScanResult result =
        scanMessage(scannerAt(ScannerType::Rspamd, listener.port(), std::chrono::seconds(10)),
                    message("hello\r\n"), envelope);
    peer.join();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_DOUBLE_EQ(result.score, 2.5);
    EXPECT_EQ(request.rfind("POST /checkv2 HTTP/1.1\r\n", 0), 0u) << request;
    EXPECT_NE(request.find("\r\nIP: 192.0.2.1\r\nRcpt: a@example.test\r\n"), std::string::npos)
        << request;
    EXPECT_NE(request.find("\r\n\r\nSubject: test\r\n\r\nhello\r\n"), std::string::npos);
}

// Nothing listens: the failure names the address and the reason, at once.
TEST(ScannerClientTest, ClosedPort) {
    unsigned port = 0;
    {
        Listener listener;
        port = listener.port();
    }
    const auto start = Clock::now();
    const ScanResult result = scanMessage(
        scannerAt(ScannerType::Spamd, port, std::chrono::seconds(10)), message("x"), {});
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error,
              "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

// A peer that accepts (the kernel does, from the backlog) and never answers: the scan fails
// when the timeout has passed, not later.
TEST(ScannerClientTest, SilentPeerTimesOut) {
    for (const ScannerType type : {ScannerType::Spamd, ScannerType::Rspamd}) {
        Listener listener;
        const auto start = Clock::now();
        const ScanResult result = scanMessage(
            scannerAt(type, listener.port(), std::chrono::milliseconds(300)), message("x"), {});
        const auto took = Clock::now() - start;
        EXPECT_FALSE(result.ok);
        EXPECT_EQ(result.error, "timed out waiting for the reply (timeout 300ms)");
        EXPECT_GE(took, std::chrono::milliseconds(290));
        EXPECT_LT(took, std::chrono::seconds(3));
    }
}

// A peer that closes without a word, and one that sends garbage.
TEST(ScannerClientTest, BrokenPeers) {
    Listener listener;
    std::string request;
    std::thread peer(answerOnce, listener.fd(), "", std::ref(request));
    ScanResult result = scanMessage(
        scannerAt(ScannerType::Spamd, listener.port(), std::chrono::seconds(10)), message("x"), {});
    peer.join();
    EXPECT_EQ(result.error, "spamd closed the connection without a reply");
    request.clear();
    std::thread garbage(answerOnce, listener.fd(), "220 smtp ready\r\n", std::ref(request));
    result = scanMessage(scannerAt(ScannerType::Rspamd, listener.port(), std::chrono::seconds(10)),
                         message("x"), {});
    garbage.join();
    EXPECT_NE(result.error.find("malformed HTTP reply"), std::string::npos) << result.error;
}

}  // namespace
}  // namespace mailgate::spam_score
