#include "core/auth/sasl.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mailgate::auth {
namespace {

TEST(Base64Test, RoundTripsAndRefusesMalformedText) {
    for (const std::string& text :
         std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0alice\0pw", 9)}) {
        EXPECT_EQ(decodeBase64(encodeBase64(text)), text);
    }
    EXPECT_EQ(encodeBase64("Username:"), "VXNlcm5hbWU6");
    EXPECT_EQ(decodeBase64("AGFsaWNlAHNlY3JldA=="), std::string("\0alice\0secret", 13));
    EXPECT_FALSE(decodeBase64("abc"));   // not a multiple of 4
    EXPECT_FALSE(decodeBase64("ab=c"));  // data after padding
    EXPECT_FALSE(decodeBase64("a===").has_value());
    EXPECT_FALSE(decodeBase64("ab c"));      // blanks
    EXPECT_FALSE(decodeBase64("ab==abcd"));  // padding before the end
    EXPECT_FALSE(decodeBase64("*"));
}

TEST(PlainTest, SplitsAtNuls) {
    auto credentials = parsePlain(std::string("\0alice\0secret", 13));
    ASSERT_TRUE(credentials);
    EXPECT_EQ(credentials->authzid, "");
    EXPECT_EQ(credentials->authcid, "alice");
    EXPECT_EQ(credentials->password, "secret");
    EXPECT_EQ(parsePlain(std::string("bob\0alice\0", 10))->authzid, "bob");
    EXPECT_FALSE(parsePlain("alice"));
    EXPECT_FALSE(parsePlain(std::string("\0\0secret", 8)));          // no name
    EXPECT_FALSE(parsePlain(std::string("\0alice\0se\0cret", 15)));  // a third NUL
}

}  // namespace
}  // namespace mailgate::auth
