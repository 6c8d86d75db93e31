#include "core/smtp/message_headers.hpp"

#include <gtest/gtest.h>

namespace mailgate::smtp {
namespace {

// Fields are split at the first colon and folded continuation lines stay in the value.
TEST(MessageHeadersTest, ParsesFieldsWithFolding) {
    const std::string content = "Subject: hello\r\n world\r\nFrom: a@b\r\n\r\nbody\r\n";
    const HeaderSection section = parseHeaderSection(content);
    ASSERT_EQ(section.fields.size(), 2u);
    EXPECT_EQ(section.fields[0].name, "Subject");
    EXPECT_EQ(section.fields[0].value, " hello\r\n world");
    EXPECT_EQ(section.fields[1].name, "From");
    EXPECT_EQ(section.fields[1].value, " a@b");
    EXPECT_EQ(content.substr(section.end), "\r\nbody\r\n");
}

// Repeated header names are kept in order.
TEST(MessageHeadersTest, KeepsRepeatedNames) {
    const HeaderSection section = parseHeaderSection("Received: 1\r\nReceived: 2\r\n\r\n");
    ASSERT_EQ(section.fields.size(), 2u);
    EXPECT_EQ(section.fields[1].value, " 2");
}

// A message that starts with body text has no header section.
TEST(MessageHeadersTest, BodyOnlyMessageHasNoHeaders) {
    const HeaderSection section = parseHeaderSection("just text here\r\nmore\r\n");
    EXPECT_TRUE(section.fields.empty());
    EXPECT_EQ(section.end, 0u);
}

// The header section stops at the first line that is not a field, even without a blank line.
TEST(MessageHeadersTest, StopsAtFirstNonHeaderLine) {
    const std::string content = "Subject: x\r\nnot a header line\r\n";
    const HeaderSection section = parseHeaderSection(content);
    ASSERT_EQ(section.fields.size(), 1u);
    EXPECT_EQ(section.end, 12u);
}

// An empty message has nothing to parse.
TEST(MessageHeadersTest, EmptyContent) {
    EXPECT_TRUE(parseHeaderSection("").fields.empty());
}

// Names must be printable ASCII without colon or space.
TEST(MessageHeadersTest, ValidatesNames) {
    EXPECT_TRUE(validHeaderName("X-Spam-Score"));
    EXPECT_FALSE(validHeaderName(""));
    EXPECT_FALSE(validHeaderName("X Spam"));
    EXPECT_FALSE(validHeaderName("X:Spam"));
    EXPECT_FALSE(validHeaderName("X-\xc3\xa9"));
}

// Values may fold with CRLF + whitespace but never hold a bare CR, LF or NUL.
TEST(MessageHeadersTest, ValidatesValues) {
    EXPECT_TRUE(validHeaderValue("plain value"));
    EXPECT_TRUE(validHeaderValue("folded\r\n value"));
    EXPECT_FALSE(validHeaderValue("bare\nLF"));
    EXPECT_FALSE(validHeaderValue("bare\rCR"));
    EXPECT_FALSE(validHeaderValue("unfolded\r\nnext: header"));
    EXPECT_FALSE(validHeaderValue("ends\r\n"));
    EXPECT_FALSE(validHeaderValue(std::string("nul\0byte", 8)));
}

}  // namespace
}  // namespace mailgate::smtp

namespace mailgate::smtp {
namespace {

// A flood of tiny fields stops at the field limit instead of growing without bound.
TEST(MessageHeadersTest, FieldCountIsBounded) {
    std::string content;
    for (int i = 0; i < 5000; ++i) {
        content += "a:\r\n";
    }
    const HeaderSection section = parseHeaderSection(content);
    EXPECT_EQ(section.fields.size(), kMaxHeaderFields);
    EXPECT_EQ(section.end, kMaxHeaderFields * 4);
}

// A header section larger than the byte limit ends before the field that crosses it.
TEST(MessageHeadersTest, ByteSizeIsBounded) {
    const std::string big_value(kMaxHeaderBytes, 'x');
    const std::string content = "Subject: a\r\nX-Big: " + big_value + "\r\n\r\nbody\r\n";
    const HeaderSection section = parseHeaderSection(content);
    EXPECT_EQ(section.fields.size(), 1u);
    EXPECT_EQ(section.end, 12u);
}

}  // namespace
}  // namespace mailgate::smtp
