#include "core/auth/users.hpp"

#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mailgate::auth {
namespace {

std::string sha512(const char* password) {
    crypt_data data{};
    return crypt_r(password, crypt_gensalt("$6$", 0, nullptr, 0), &data);
}

std::vector<std::string> texts(const std::vector<config::ConfigError>& errors) {
    std::vector<std::string> out;
    for (const auto& error : errors) {
        out.push_back(error.toString());
    }
    return out;
}

TEST(UsersTest, VerifiesSha512Hashes) {
    std::vector<config::ConfigError> errors;
    auto users = parseUsers("# comment\r\n\nalice:" + sha512("s3cret") + "\r\n", "users", errors);
    ASSERT_TRUE(users) << texts(errors).front();
    EXPECT_EQ(users->size(), 1u);
    EXPECT_TRUE(users->verify("alice", "s3cret"));
    EXPECT_FALSE(users->verify("alice", "s3cret "));
    EXPECT_FALSE(users->verify("alice", ""));
    EXPECT_FALSE(users->verify("Alice", "s3cret"));
    EXPECT_FALSE(users->verify("bob", "s3cret"));
    EXPECT_FALSE(users->verify("alice", std::string("s3cret\0x", 8)));
}

TEST(UsersTest, RefusesWeakHashesAndBadLines) {
    std::vector<config::ConfigError> errors;
    const std::string good = sha512("pw");
    auto users =
        parseUsers("a:$1$salt$abcdefghijklmnopqrstuv\nb:plaintext\nno colon\n:x\nc:" + good +
                       "\nc:" + good + "\nd e:" + good + "\n",
                   "users", errors);
    EXPECT_FALSE(users);
    EXPECT_THAT(
        texts(errors),
        ::testing::ElementsAre(::testing::StartsWith("users:1:1: the hash of 'a' is not a strong"),
                               ::testing::StartsWith("users:2:1: the hash of 'b' is not a strong"),
                               "users:3:1: expected name:hash", "users:4:1: expected name:hash",
                               "users:6:1: the name 'c' appears twice",
                               "users:7:1: the name 'd e' has blanks"));
}

}  // namespace
}  // namespace mailgate::auth
