#include "scanner_socket.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mailgate::spam_score {
namespace {

constexpr std::size_t kPiece = 16 * 1024;

std::string systemError(const char* step, int error) {
    return std::string(step) + ": " + std::strerror(error);
}

}  // namespace

ScannerSocket::~ScannerSocket() {
    close();
}

void ScannerSocket::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

std::string ScannerSocket::wait(short events, Clock::time_point deadline, const char* step) const {
    while (true) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            return std::string("timed out waiting for ") + step;
        }
        pollfd entry{fd_, events, 0};
        const int ready = ::poll(&entry, 1, static_cast<int>(std::min<long long>(left, 60000)));
        if (ready > 0) {
            return "";
        }
        if (ready < 0 && errno != EINTR) {
            return systemError("poll", errno);
        }
    }
}

std::string ScannerSocket::connectOne(const SocketAddress& address, Clock::time_point deadline) {
    close();
    fd_ = ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        return systemError("socket", errno);
    }
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address.storage), address.length) == 0) {
        return "";
    }
    if (const int error = errno; error != EINPROGRESS) {
        return "connect to " + address.text + ": " + std::strerror(error);
    }
    if (std::string error = wait(POLLOUT, deadline, "the connection"); !error.empty()) {
        return "connect to " + address.text + ": " + error;
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
    }
    return error == 0 ? "" : "connect to " + address.text + ": " + std::strerror(error);
}

std::string ScannerSocket::connect(const std::vector<SocketAddress>& addresses,
                                   Clock::time_point deadline) {
    std::string error = "no address to connect to";
    for (const SocketAddress& address : addresses) {
        error = connectOne(address, deadline);
        if (error.empty()) {
            return error;
        }
        if (Clock::now() >= deadline) {
            break;
        }
    }
    close();
    return error;
}

std::string ScannerSocket::send(std::string_view data, Clock::time_point deadline) {
    while (!data.empty()) {
        const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (sent > 0) {
            data.remove_prefix(static_cast<std::size_t>(sent));
            continue;
        }
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            return systemError("send", errno);
        }
        if (std::string error = wait(POLLOUT, deadline, "sending the message"); !error.empty()) {
            return error;
        }
    }
    return "";
}

std::string ScannerSocket::receive(std::string& piece, Clock::time_point deadline) {
    piece.resize(kPiece);
    while (true) {
        const ssize_t got = ::recv(fd_, piece.data(), piece.size(), 0);
        if (got >= 0) {
            piece.resize(static_cast<std::size_t>(got));
            return "";
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            piece.clear();
            return systemError("receive", errno);
        }
        if (std::string error = wait(POLLIN, deadline, "the reply"); !error.empty()) {
            piece.clear();
            return error;
        }
    }
}

}  // namespace mailgate::spam_score
