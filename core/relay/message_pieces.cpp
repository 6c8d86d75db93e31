#include "core/relay/backend.hpp"

namespace mailgate::relay {

MessagePieces::MessagePieces(const OutgoingMessage& message, size_t chunk_size)
    : message_(message), chunk_size_(chunk_size), offset_(message.rest_offset) {}

std::string_view MessagePieces::next() {
    if (!head_done_) {
        head_done_ = true;
        if (!message_.head.empty()) {
            return message_.head;
        }
    }
    if (message_.replaced_body != nullptr) {
        if (replaced_done_) {
            return {};
        }
        replaced_done_ = true;
        return *message_.replaced_body;  // CRLF lines: one piece ending at a line end
    }
    smtp::MessageBuffer& content = *message_.content;
    const uint64_t size = content.size();
    size_t want = chunk_size_;
    while (offset_ < size) {
        std::string_view piece = content.chunk(offset_, want, scratch_);
        if (piece.empty()) {
            failed_ = true;
            return {};
        }
        const bool at_end = offset_ + piece.size() >= size;
        if (!at_end && piece.back() != '\n') {
            const size_t last_lf = piece.rfind('\n');
            if (last_lf == std::string_view::npos) {
                want *= 2;  // a line longer than the chunk: read a longer piece
                continue;
            }
            piece = piece.substr(0, last_lf + 1);
        }
        offset_ += piece.size();
        return piece;
    }
    return {};
}

}  // namespace mailgate::relay
