// Talks to Dovecot on the session's own executor with Asio: a unix stream socket, a coroutine,
// and one deadline for the whole exchange (connect, handshake, AUTH, reply). Nothing blocks an
// I/O thread, and a Dovecot that hangs costs a timer, not a worker-pool thread. Dovecot hashes
// the password in its own process, so there is no CPU work here for the worker pool to take.
// A connection per AUTH is simple and robust: no shared state between sessions, and a
// restarted Dovecot is picked up by the next AUTH.
#include "core/auth/dovecot_client.hpp"

#include <openssl/crypto.h>
#include <unistd.h>

#include "core/net/deadline.hpp"

namespace mailgate::auth {
namespace {

using Socket = asio::local::stream_protocol::socket;

constexpr size_t kMaxLine = 16384;  // what Dovecot's auth protocol says a line fits in
constexpr int kMaxHandshakeLines = 256;

void wipe(std::string& secret) {
    OPENSSL_cleanse(secret.data(), secret.size());
    secret.clear();
}

DovecotVerdict unavailable(std::string why) {
    return {DovecotVerdict::Kind::Unavailable, "", std::move(why)};
}

// Why an operation failed: the deadline, or the error itself.
std::string failure(const net::Deadline& deadline, std::chrono::milliseconds timeout,
                    const char* doing, const error_code& error) {
    if (deadline.expired()) {
        return std::string("no answer within ") + std::to_string(timeout.count()) + " ms (" +
               doing + ")";
    }
    if (error == asio::error::eof) {
        return std::string("it closed the connection (") + doing + ")";
    }
    if (error == asio::error::not_found) {  // async_read_until at the buffer's limit
        return std::string(doing) + ": a line longer than " + std::to_string(kMaxLine) + " bytes";
    }
    return std::string(doing) + ": " + error.message();
}

// Reads one LF-terminated line (without the LF) from `socket`, bounded by kMaxLine.
awaitable<error_code> readLine(Socket& socket, std::string& buffer, std::string& line) {
    auto [error, length] = co_await asio::async_read_until(
        socket, asio::dynamic_buffer(buffer, kMaxLine), '\n', use_nothrow);
    if (error) {
        co_return error;
    }
    line.assign(buffer, 0, length - 1);
    buffer.erase(0, length);
    co_return error_code{};
}

awaitable<DovecotVerdict> exchange(Socket& socket, const net::Deadline& deadline,
                                   DovecotQuery& query) {
    const std::string path = query.socket.string();
    auto [connected] =
        co_await socket.async_connect(asio::local::stream_protocol::endpoint(path), use_nothrow);
    if (connected) {
        co_return unavailable(failure(deadline, query.timeout, "connecting", connected));
    }
    const std::string hello = dovecotHello(static_cast<uint64_t>(::getpid()));
    auto [sent, sent_bytes] = co_await asio::async_write(socket, asio::buffer(hello), use_nothrow);
    if (sent) {
        co_return unavailable(failure(deadline, query.timeout, "sending the handshake", sent));
    }
    std::string buffer;
    std::string line;
    DovecotHandshake handshake;
    DovecotHandshake::Status status = DovecotHandshake::Status::More;
    for (int count = 0; status == DovecotHandshake::Status::More; ++count) {
        if (count == kMaxHandshakeLines) {
            co_return unavailable("a handshake of more than 256 lines");
        }
        if (error_code error = co_await readLine(socket, buffer, line)) {
            co_return unavailable(failure(deadline, query.timeout, "reading the handshake", error));
        }
        status = handshake.feed(line);
    }
    if (status == DovecotHandshake::Status::Failed) {
        co_return unavailable("bad handshake: " + handshake.why());
    }
    std::string request = dovecotAuthLine(query.request);
    wipe(query.request.password);
    auto [asked, asked_bytes] =
        co_await asio::async_write(socket, asio::buffer(request), use_nothrow);
    wipe(request);
    if (asked) {
        co_return unavailable(failure(deadline, query.timeout, "sending AUTH", asked));
    }
    if (error_code error = co_await readLine(socket, buffer, line)) {
        co_return unavailable(failure(deadline, query.timeout, "reading the reply", error));
    }
    co_return parseDovecotReply(line, query.request.id);
}

}  // namespace

awaitable<DovecotVerdict> askDovecot(DovecotQuery query) {
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    Socket socket(executor);
    // Closing the socket ends whichever operation is pending when the deadline passes.
    net::Deadline deadline(executor, [&socket] {
        error_code ignored;
        socket.close(ignored);
    });
    deadline.arm(query.timeout);
    DovecotVerdict verdict = co_await exchange(socket, deadline, query);
    wipe(query.request.password);
    error_code ignored;
    socket.close(ignored);
    co_return verdict;
}

}  // namespace mailgate::auth
