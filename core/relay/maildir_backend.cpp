#include "core/relay/maildir_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/net/disk_threads.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::relay {
namespace {

std::atomic<uint64_t> g_delivery_counter{0};

bool writeAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t written = ::write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<size_t>(written));
    }
    return true;
}

bool syncDirectory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

// Maildir files hold Unix line endings; the message arrives with CRLF.
std::string toUnixLineEndings(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t crlf = text.find("\r\n", pos);
        const size_t end = crlf == std::string_view::npos ? text.size() : crlf;
        out.append(text.substr(pos, end - pos));
        if (crlf == std::string_view::npos) {
            break;
        }
        out += '\n';
        pos = crlf + 2;
    }
    return out;
}

}  // namespace

MaildirBackend::MaildirBackend(std::filesystem::path root, std::string hostname)
    : root_(std::move(root)), hostname_(std::move(hostname)) {}

awaitable<smtp::Reply> MaildirBackend::mailFrom(const filter::Transaction&) {
    co_return smtp::Reply(250, "2.1.0", "Sender ok");
}

awaitable<smtp::Reply> MaildirBackend::rcptTo(const filter::Transaction&, const std::string&) {
    co_return smtp::Reply(250, "2.1.5", "Recipient ok");
}

awaitable<smtp::Reply> MaildirBackend::data(const filter::Transaction& transaction,
                                            const OutgoingMessage& message) {
    const ops::metrics::BackendTimer timer(ops::metrics::BackendStep::Data);
    std::string file_name;
    const std::string failure =
        co_await net::runOnDiskThread([&] { return deliver(transaction, message, file_name); });
    if (!failure.empty()) {
        ops::logLine(ops::LogLevel::Error, transaction.id,
                     "maildir " + root_.string() + ": " + failure);
        ops::metrics::backendError(ops::metrics::BackendError::Local);
        co_return smtp::Reply(451, "4.3.0", "Local delivery failed, try again later");
    }
    co_return smtp::Reply(250, "2.0.0", "Ok: delivered as " + file_name);
}

std::string MaildirBackend::uniqueName() {
    using namespace std::chrono;
    const auto now = system_clock::now().time_since_epoch();
    const auto seconds = duration_cast<std::chrono::seconds>(now).count();
    const auto micros = duration_cast<microseconds>(now).count() % 1000000;
    return std::to_string(seconds) + ".M" + std::to_string(micros) + "P" +
           std::to_string(::getpid()) + "Q" + std::to_string(++g_delivery_counter) + "." +
           hostname_;
}

std::string MaildirBackend::deliver(const filter::Transaction& transaction,
                                    const OutgoingMessage& message, std::string& file_name) {
    std::error_code ec;
    for (const char* sub : {"tmp", "new", "cur"}) {
        std::filesystem::create_directories(root_ / sub, ec);
        if (ec) {
            return "cannot create " + (root_ / sub).string() + ": " + ec.message();
        }
    }
    file_name = uniqueName();
    const auto tmp_path = root_ / "tmp" / file_name;
    const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return "cannot create " + tmp_path.string() + ": " + std::strerror(errno);
    }
    const std::string return_path = "Return-Path: <" + transaction.mail_from + ">\n";
    bool written = writeAll(fd, return_path);
    MessagePieces pieces(message, 256 * 1024);
    for (std::string_view piece = pieces.next(); written && !piece.empty(); piece = pieces.next()) {
        written = writeAll(fd, toUnixLineEndings(piece));
    }
    written = written && !pieces.failed() && ::fsync(fd) == 0;
    const int saved_errno = errno;
    ::close(fd);
    if (!written) {
        std::filesystem::remove(tmp_path, ec);
        return "cannot write " + tmp_path.string() + ": " + std::strerror(saved_errno);
    }
    std::filesystem::rename(tmp_path, root_ / "new" / file_name, ec);
    if (ec) {
        std::filesystem::remove(tmp_path, ec);
        return "cannot move into new/: " + ec.message();
    }
    syncDirectory(root_ / "new");
    return {};
}

}  // namespace mailgate::relay
