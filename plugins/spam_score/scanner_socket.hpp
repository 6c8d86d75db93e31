#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

// A TCP connection to a scanner daemon, blocking for the caller, with one deadline for
// everything: a non-blocking socket and poll(), so no step waits past the deadline. It is used
// on mailgate's plugin worker threads, never on the I/O threads.
namespace mailgate::spam_score {

using Clock = std::chrono::steady_clock;

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    std::string text;  // "127.0.0.1:783", for messages
};

class ScannerSocket {
  public:
    ScannerSocket() = default;
    ~ScannerSocket();
    ScannerSocket(const ScannerSocket&) = delete;
    ScannerSocket& operator=(const ScannerSocket&) = delete;

    // Tries each address in turn until one accepts; "" on success, else why the last failed.
    std::string connect(const std::vector<SocketAddress>& addresses, Clock::time_point deadline);
    // Sends all of `data`; "" on success.
    std::string send(std::string_view data, Clock::time_point deadline);
    // Receives what arrives next into `piece` (replacing it; at most 16 KiB); an empty piece
    // means the peer closed the connection. "" on success.
    std::string receive(std::string& piece, Clock::time_point deadline);

  private:
    // Waits until the socket is ready for `events`; "" when it is.
    std::string wait(short events, Clock::time_point deadline, const char* step) const;
    std::string connectOne(const SocketAddress& address, Clock::time_point deadline);
    void close();

    int fd_ = -1;
};

}  // namespace mailgate::spam_score
