#include "core/smtp/line_breaks.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace mailgate::smtp::data_reader_detail {
namespace {

size_t naiveFrom(std::string_view text, size_t pos) {
    for (; pos < text.size(); ++pos) {
        if (text[pos] == '\r' || text[pos] == '\n' || text[pos] == '\0') {
            return pos;
        }
    }
    return text.size();
}

// Ordinary octets include neighbours of the breaks in value and octets above 0x7f, where a
// signed comparison would go wrong.
std::string randomText(std::mt19937& random, size_t size, unsigned spacing) {
    static constexpr char kBreaks[] = {'\r', '\n', '\0'};
    static constexpr char kOrdinary[] = {'a',    '.',    ' ',    '\x0b', '\x0c', '\x0e',
                                         '\x8a', '\x8d', '\x80', '\xff', '\x01', '\x2e'};
    std::string text(size, 'x');
    for (char& c : text) {
        c = random() % spacing == 0 ? kBreaks[random() % 3] : kOrdinary[random() % 12];
    }
    return text;
}

TEST(LineBreaksTest, BlockScannersAgree) {
    std::mt19937 random(20261129);
    for (int round = 0; round < 20000; ++round) {
        const std::string block = randomText(random, LineBreaks::kBlock, 1 + round % 40);
        ASSERT_EQ(LineBreaks::firstBreakInBlock(block.data()),
                  LineBreaks::firstBreakInBlockPortable(block.data()))
            << testing::PrintToString(block);
    }
    const std::string plain(LineBreaks::kBlock, 'x');
    EXPECT_EQ(LineBreaks::firstBreakInBlock(plain.data()), LineBreaks::kBlock);
    EXPECT_EQ(LineBreaks::firstBreakInBlockPortable(plain.data()), LineBreaks::kBlock);
    std::string last = plain;
    last.back() = '\n';
    EXPECT_EQ(LineBreaks::firstBreakInBlock(last.data()), LineBreaks::kBlock - 1);
    EXPECT_EQ(LineBreaks::firstBreakInBlockPortable(last.data()), LineBreaks::kBlock - 1);
}

// Every start position and tail length, at several densities of breaks.
TEST(LineBreaksTest, FromAgreesWithAnOctetByOctetSearch) {
    std::mt19937 random(7);
    for (unsigned spacing : {1u, 3u, 17u, 80u, 1000u}) {
        for (size_t size = 0; size < 100; ++size) {
            const std::string text = randomText(random, size, spacing);
            const LineBreaks breaks(text);
            for (size_t pos = 0; pos <= size; ++pos) {
                ASSERT_EQ(breaks.from(pos), naiveFrom(text, pos))
                    << "size " << size << " pos " << pos << " " << testing::PrintToString(text);
            }
        }
    }
}

}  // namespace
}  // namespace mailgate::smtp::data_reader_detail
