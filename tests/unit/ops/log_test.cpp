#include "core/ops/log.hpp"

#include <gtest/gtest.h>

namespace mailgate::ops {
namespace {

std::string json(std::string_view text, size_t max_length = 8192) {
    std::string out;
    appendJsonString(out, text, max_length);
    return out;
}

// Quotes, backslashes and control characters are escaped the JSON way.
TEST(AppendJsonString, EscapesQuotesBackslashesAndControls) {
    EXPECT_EQ(json("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(json("line\r\nnext\tx"), R"("line\r\nnext\tx")");
    EXPECT_EQ(json(std::string_view("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
}

// Well-formed UTF-8 (2, 3 and 4 bytes) is kept as it is.
TEST(AppendJsonString, KeepsValidUtf8) {
    EXPECT_EQ(json("jörg €uro 😀"), "\"jörg €uro 😀\"");
}

// Bytes that are not well-formed UTF-8 become the text \xNN: a stray continuation byte, a lone
// lead byte, overlong forms, surrogates, code points above U+10FFFF and a cut sequence.
TEST(AppendJsonString, ShowsInvalidBytesAsHex) {
    EXPECT_EQ(json("a\x80z"), R"("a\\x80z")");
    EXPECT_EQ(json("\xc3"), R"("\\xc3")");
    EXPECT_EQ(json("\xc0\xaf"), R"("\\xc0\\xaf")");                    // overlong '/'
    EXPECT_EQ(json("\xe0\x80\xaf"), R"("\\xe0\\x80\\xaf")");           // overlong, 3 bytes
    EXPECT_EQ(json("\xed\xa0\x80"), R"("\\xed\\xa0\\x80")");           // UTF-16 surrogate
    EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\\xf4\\x90\\x80\\x80")");  // above U+10FFFF
    EXPECT_EQ(json("\xff\xfe"), R"("\\xff\\xfe")");
    EXPECT_EQ(json("\xe2\x82"), R"("\\xe2\\x82")");  // cut short
}

// A long value is cut at the limit, never inside a UTF-8 sequence, and marked with "...".
TEST(AppendJsonString, CutsAtTheLimit) {
    EXPECT_EQ(json("abcdef", 3), R"("abc...")");
    EXPECT_EQ(json("ab€", 3), R"("ab...")");
    EXPECT_EQ(json("abc", 3), R"("abc")");
}

}  // namespace
}  // namespace mailgate::ops
