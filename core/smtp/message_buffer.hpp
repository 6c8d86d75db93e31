#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailgate::smtp {

// The content of one message: in memory up to a threshold, then in an unlinked temporary file,
// so memory per connection stays bounded whatever the message size (DESIGN.md guarantee 4).
//
// Writing: append to appendTarget(), then call commit(). Reading: chunk() for streaming (no
// mapping, bounded memory), view() for random access (maps the file when spilled).
class MessageBuffer {
  public:
    static constexpr size_t kDefaultSpillThreshold = 1024 * 1024;

    MessageBuffer() = default;
    // `spill_directory` empty: the system's temporary directory. Kept as text: a transaction
    // copies it, and a std::filesystem::path copy also copies its parsed components.
    MessageBuffer(size_t spill_threshold, std::string spill_directory);
    ~MessageBuffer();
    MessageBuffer(MessageBuffer&& other) noexcept;
    MessageBuffer& operator=(MessageBuffer&& other) noexcept;
    MessageBuffer(const MessageBuffer&) = delete;
    MessageBuffer& operator=(const MessageBuffer&) = delete;

    // Where new content goes; commit() moves it to the file once over the threshold.
    std::string& appendTarget() { return memory_; }
    // False when the temporary file could not be created or written (error() says why).
    bool commit();

    uint64_t size() const { return spilled() ? file_size_ + memory_.size() : memory_.size(); }
    bool empty() const { return size() == 0; }
    bool spilled() const { return fd_ >= 0; }
    const std::string& error() const { return error_; }

    // The whole content, valid until the next change. Commits pending bytes first.
    std::string_view view();
    // Up to `max` bytes from `offset`: a view into memory, or read into `scratch` from the file.
    std::string_view chunk(uint64_t offset, size_t max, std::string& scratch);

    void clear();

  private:
    bool spill();
    bool writeOut(std::string_view bytes);
    void unmap();

    size_t spill_threshold_ = kDefaultSpillThreshold;
    std::string spill_directory_;
    std::string memory_;  // all content in memory mode; bytes not yet written in file mode
    int fd_ = -1;
    uint64_t file_size_ = 0;
    void* map_ = nullptr;
    size_t map_size_ = 0;
    std::string error_;
};

}  // namespace mailgate::smtp
