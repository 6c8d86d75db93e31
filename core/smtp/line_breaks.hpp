#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mailgate::smtp::data_reader_detail {

// Finds the bytes that interrupt a run of ordinary line content: CR, LF and NUL, for the DATA
// reader. It compares 16 bytes at a time in one pass; mail is mostly short lines, where a
// memchr per byte value per line costs more in calls than in scanning.
class LineBreaks {
  public:
    static constexpr size_t kBlock = 16;

    explicit LineBreaks(std::string_view text) : text_(text) {}

    // Index of the first CR, LF or NUL at or after `pos`, or text.size() when there is none.
    size_t from(size_t pos) const {
        const size_t size = text_.size();
        for (; pos + kBlock <= size; pos += kBlock) {
            const size_t found = firstBreakInBlock(text_.data() + pos);
            if (found < kBlock) {
                return pos + found;
            }
        }
        for (; pos < size; ++pos) {
            const char c = text_[pos];
            if (c == '\r' || c == '\n' || c == '\0') {
                return pos;
            }
        }
        return size;
    }

    // Index of the first break among the kBlock bytes at `data`, or kBlock when there is none.
    // SSE2 (every x86-64) gives one bit per byte at once; elsewhere the portable version runs.
    static size_t firstBreakInBlock(const char* data) {
#if defined(__SSE2__)
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data));
        const __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\r')),
                                                       _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\n'))),
                                          _mm_cmpeq_epi8(bytes, _mm_setzero_si128()));
        const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
        return mask == 0 ? kBlock : static_cast<size_t>(std::countr_zero(mask));
#else
        return firstBreakInBlockPortable(data);
#endif
    }

    // The same with GCC vector extensions, for any machine (and compared with the SSE2 one in
    // the tests).
    static size_t firstBreakInBlockPortable(const char* data) {
        using Block = unsigned char __attribute__((vector_size(kBlock)));
        Block block;
        std::memcpy(&block, data, kBlock);
        const auto flags = (block == '\r') | (block == '\n') | (block == 0);  // 0xff per break
        uint64_t halves[2];
        std::memcpy(halves, &flags, kBlock);
        if ((halves[0] | halves[1]) == 0) {
            return kBlock;
        }
        return halves[0] != 0 ? firstFlaggedByte(halves[0]) : 8 + firstFlaggedByte(halves[1]);
    }

  private:
    static size_t firstFlaggedByte(uint64_t flags) {
        const int bits = std::endian::native == std::endian::little ? std::countr_zero(flags)
                                                                    : std::countl_zero(flags);
        return static_cast<size_t>(bits) / 8;
    }

    std::string_view text_;
};

}  // namespace mailgate::smtp::data_reader_detail
