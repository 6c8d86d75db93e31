#include "core/smtp/message_buffer.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace mailgate::smtp {
namespace {

// An anonymous file: O_TMPFILE where the file system has it, else create and unlink at once.
int openTemporaryFile(const std::filesystem::path& directory, std::string& error) {
    const std::filesystem::path dir =
        directory.empty() ? std::filesystem::temp_directory_path() : directory;
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
        return fd;
    }
    std::string pattern = (dir / "mailgate-XXXXXX").string();
    fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) {
        error = "cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno);
        return -1;
    }
    ::unlink(pattern.c_str());
    return fd;
}

}  // namespace

MessageBuffer::MessageBuffer(size_t spill_threshold, std::string spill_directory)
    : spill_threshold_(spill_threshold), spill_directory_(std::move(spill_directory)) {}

MessageBuffer::~MessageBuffer() {
    clear();
}

MessageBuffer::MessageBuffer(MessageBuffer&& other) noexcept {
    *this = std::move(other);
}

MessageBuffer& MessageBuffer::operator=(MessageBuffer&& other) noexcept {
    if (this != &other) {
        clear();
        spill_threshold_ = other.spill_threshold_;
        spill_directory_ = std::move(other.spill_directory_);
        memory_ = std::move(other.memory_);
        fd_ = std::exchange(other.fd_, -1);
        file_size_ = std::exchange(other.file_size_, 0);
        map_ = std::exchange(other.map_, nullptr);
        map_size_ = std::exchange(other.map_size_, 0);
        error_ = std::move(other.error_);
        other.memory_.clear();
    }
    return *this;
}

bool MessageBuffer::commit() {
    if (!spilled()) {
        return memory_.size() <= spill_threshold_ || spill();
    }
    // In file mode the memory string is a write buffer: flush it in large writes.
    if (memory_.size() < 64 * 1024) {
        return true;
    }
    const bool ok = writeOut(memory_);
    memory_.clear();
    return ok;
}

bool MessageBuffer::spill() {
    fd_ = openTemporaryFile(std::filesystem::path(spill_directory_), error_);
    if (fd_ < 0) {
        return false;
    }
    const bool ok = writeOut(memory_);
    memory_.clear();
    memory_.shrink_to_fit();
    memory_.reserve(128 * 1024);
    return ok;
}

bool MessageBuffer::writeOut(std::string_view bytes) {
    unmap();
    while (!bytes.empty()) {
        const ssize_t written =
            ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(file_size_));
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written <= 0) {
            error_ =
                std::string("cannot write the temporary message file: ") + std::strerror(errno);
            return false;
        }
        file_size_ += static_cast<uint64_t>(written);
        bytes.remove_prefix(static_cast<size_t>(written));
    }
    return true;
}

std::string_view MessageBuffer::view() {
    if (!spilled()) {
        return memory_;
    }
    if (!memory_.empty()) {
        writeOut(memory_);
        memory_.clear();
    }
    if (map_ == nullptr && file_size_ > 0) {
        void* map = ::mmap(nullptr, file_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
        if (map == MAP_FAILED) {
            error_ = std::string("cannot map the temporary message file: ") + std::strerror(errno);
            return {};
        }
        map_ = map;
        map_size_ = file_size_;
    }
    return std::string_view(static_cast<const char*>(map_), map_size_);
}

std::string_view MessageBuffer::chunk(uint64_t offset, size_t max, std::string& scratch) {
    if (!spilled()) {
        return offset >= memory_.size() ? std::string_view{}
                                        : std::string_view(memory_).substr(offset, max);
    }
    if (offset >= file_size_) {
        const uint64_t in_memory = offset - file_size_;
        return in_memory >= memory_.size() ? std::string_view{}
                                           : std::string_view(memory_).substr(in_memory, max);
    }
    const uint64_t left = file_size_ - offset;
    scratch.resize(static_cast<size_t>(std::min<uint64_t>(left, max)));
    const ssize_t read = ::pread(fd_, scratch.data(), scratch.size(), static_cast<off_t>(offset));
    if (read <= 0) {
        error_ = std::string("cannot read the temporary message file: ") + std::strerror(errno);
        return {};
    }
    scratch.resize(static_cast<size_t>(read));
    return scratch;
}

void MessageBuffer::unmap() {
    if (map_ != nullptr) {
        ::munmap(map_, map_size_);
        map_ = nullptr;
        map_size_ = 0;
    }
}

void MessageBuffer::clear() {
    unmap();
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    file_size_ = 0;
    memory_.clear();
    error_.clear();
}

}  // namespace mailgate::smtp
