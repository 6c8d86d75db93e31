#include "core/smtp/message_buffer.hpp"

#include <gtest/gtest.h>

namespace mailgate::smtp {
namespace {

std::string pattern(size_t size) {
    std::string text;
    for (size_t i = 0; text.size() < size; ++i) {
        text += "line " + std::to_string(i) + "\r\n";
    }
    text.resize(size);
    return text;
}

// Small content stays in memory and reads back unchanged.
TEST(MessageBufferTest, SmallContentStaysInMemory) {
    MessageBuffer buffer(64 * 1024, {});
    buffer.appendTarget() += "hello\r\n";
    ASSERT_TRUE(buffer.commit());
    EXPECT_FALSE(buffer.spilled());
    EXPECT_EQ(buffer.view(), "hello\r\n");
    EXPECT_EQ(buffer.size(), 7u);
}

// Past the threshold the content moves to a file; view() and chunk() still see every byte.
TEST(MessageBufferTest, SpillsPastThreshold) {
    MessageBuffer buffer(64 * 1024, {});
    const std::string content = pattern(300 * 1024);
    for (size_t pos = 0; pos < content.size(); pos += 1000) {
        buffer.appendTarget().append(content.substr(pos, 1000));
        ASSERT_TRUE(buffer.commit()) << buffer.error();
    }
    EXPECT_TRUE(buffer.spilled());
    EXPECT_EQ(buffer.size(), content.size());
    std::string scratch;
    std::string read_back;
    for (uint64_t offset = 0; offset < buffer.size();) {
        const std::string_view piece = buffer.chunk(offset, 7000, scratch);
        ASSERT_FALSE(piece.empty());
        read_back.append(piece);
        offset += piece.size();
    }
    EXPECT_EQ(read_back, content);
    EXPECT_EQ(buffer.view(), content);
}

// Memory use while spilled stays near the write buffer, not the message size.
TEST(MessageBufferTest, SpilledMemoryIsBounded) {
    MessageBuffer buffer(64 * 1024, {});
    const std::string block(16 * 1024, 'x');
    for (int i = 0; i < 256; ++i) {
        buffer.appendTarget() += block;
        ASSERT_TRUE(buffer.commit());
        EXPECT_LT(buffer.appendTarget().size(), 128u * 1024);
    }
    EXPECT_EQ(buffer.size(), 256u * 16 * 1024);
}

// clear() drops the file and returns to memory mode; a moved-from buffer is empty.
TEST(MessageBufferTest, ClearAndMove) {
    MessageBuffer buffer(64 * 1024, {});
    buffer.appendTarget() = pattern(100 * 1024);
    ASSERT_TRUE(buffer.commit());
    ASSERT_TRUE(buffer.spilled());
    MessageBuffer moved = std::move(buffer);
    EXPECT_TRUE(moved.spilled());
    EXPECT_EQ(moved.size(), 100u * 1024);
    moved.clear();
    EXPECT_FALSE(moved.spilled());
    EXPECT_TRUE(moved.empty());
}

// A spill directory that cannot hold files is reported, not crashed on.
TEST(MessageBufferTest, UnwritableSpillDirectory) {
    MessageBuffer buffer(64 * 1024, "/nonexistent/spill");
    buffer.appendTarget() = pattern(100 * 1024);
    EXPECT_FALSE(buffer.commit());
    EXPECT_NE(buffer.error().find("/nonexistent/spill"), std::string::npos);
}

}  // namespace
}  // namespace mailgate::smtp
