#include "core/filter/editable_headers.hpp"

#include <gtest/gtest.h>

namespace mailgate::filter {
namespace {

class EditableHeadersTest : public ::testing::Test {
  protected:
    EditableHeadersTest() {
        section_ = smtp::parseHeaderSection(content_);
        headers_.setOriginal(section_, content_);
    }
    std::string serialized() const {
        std::string out;
        headers_.appendTo(out);
        return out;
    }

    const std::string content_ =
        "From: a@example.test\r\nSubject: one\r\nX-Tag: first\r\nX-Tag: second\r\n\r\nbody\r\n";
    smtp::HeaderSection section_;
    EditableHeaders headers_;
};

// Untouched, the section leaves byte for byte as the client sent it.
TEST_F(EditableHeadersTest, UntouchedIsTheClientBytes) {
    EXPECT_EQ(serialized(), content_.substr(0, section_.end));
    EXPECT_FALSE(headers_.rewritten());
    EXPECT_EQ(headers_.size(), 4u);
}

// Appending keeps the client's bytes and adds the field at the end.
TEST_F(EditableHeadersTest, AppendKeepsTheOriginalBytes) {
    headers_.append("X-New", "yes");
    EXPECT_FALSE(headers_.rewritten());
    EXPECT_EQ(serialized(), content_.substr(0, section_.end) + "X-New: yes\r\n");
    EXPECT_EQ(headers_.at(4).value, " yes");
}

// Fields appended before the message arrived stay after the client's fields.
TEST(EditableHeadersEarlyTest, AppendBeforeTheMessage) {
    EditableHeaders headers;
    headers.append("X-Early", "1");
    const std::string content = "Subject: s\r\n\r\n";
    const auto section = smtp::parseHeaderSection(content);
    headers.setOriginal(section, content);
    std::string out;
    headers.appendTo(out);
    EXPECT_EQ(out, "Subject: s\r\nX-Early: 1\r\n");
}

// Insert, change and delete address fields by index and by the nth of a name.
TEST_F(EditableHeadersTest, InsertChangeDelete) {
    ASSERT_TRUE(headers_.insert(0, "X-First", "top"));
    ASSERT_TRUE(headers_.change("x-tag", 2, "changed"));
    ASSERT_TRUE(headers_.remove("SUBJECT", 1));
    EXPECT_TRUE(headers_.rewritten());
    EXPECT_EQ(serialized(),
              "X-First: top\r\nFrom: a@example.test\r\nX-Tag: first\r\nX-Tag: changed\r\n");
}

// Out of range edits are refused and change nothing.
TEST_F(EditableHeadersTest, RefusesWhatIsNotThere) {
    EXPECT_FALSE(headers_.insert(5, "X", "y"));
    EXPECT_FALSE(headers_.change("X-Tag", 3, "z"));
    EXPECT_FALSE(headers_.remove("Missing", 1));
    EXPECT_FALSE(headers_.remove("X-Tag", 0));
    EXPECT_FALSE(headers_.rewritten());
    EXPECT_EQ(serialized(), content_.substr(0, section_.end));
}

// Inserting at the end is allowed (index == size).
TEST_F(EditableHeadersTest, InsertAtTheEnd) {
    ASSERT_TRUE(headers_.insert(4, "X-Last", "end"));
    EXPECT_EQ(headers_.at(4).name, "X-Last");
    EXPECT_EQ(headers_.find("x-last", 1), 4u);
}

}  // namespace
}  // namespace mailgate::filter
