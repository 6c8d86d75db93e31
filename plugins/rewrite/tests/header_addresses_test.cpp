#include "header_addresses.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailgate::rewrite {
namespace {

std::vector<std::string> addresses(std::string_view value) {
    std::vector<std::string> out;
    for (const AddressSpan& span : findAddresses(value)) {
        out.emplace_back(value.substr(span.offset, span.length));
    }
    return out;
}

using List = std::vector<std::string>;

// The usual forms: bare, angle brackets with a display name, lists, comments.
TEST(HeaderAddressesTest, FindsAddresses) {
    EXPECT_EQ(addresses("a@x.example"), List{"a@x.example"});
    EXPECT_EQ(addresses("Alice <a@x.example>"), List{"a@x.example"});
    EXPECT_EQ(addresses("\"Smith, Bob\" <b@x.example>, c@y.example (Carol)"),
              (List{"b@x.example", "c@y.example"}));
    EXPECT_EQ(addresses("<a@x.example>,<b@x.example>"), (List{"a@x.example", "b@x.example"}));
    EXPECT_EQ(addresses("a@x.example,\r\n\tb@y.example"), (List{"a@x.example", "b@y.example"}));
    EXPECT_EQ(addresses("=?utf-8?q?J=C3=B6rg?= <j@x.example>"), List{"j@x.example"});
}

// What looks like an address in a display name, a quoted string or a comment is left alone.
TEST(HeaderAddressesTest, SkipsNamesQuotesAndComments) {
    EXPECT_EQ(addresses("\"a@fake.example\" <real@x.example>"), List{"real@x.example"});
    EXPECT_EQ(addresses("fake@name.example <real@x.example>"), List{"real@x.example"});
    EXPECT_EQ(addresses("real@x.example (was fake@y.example)"), List{"real@x.example"});
    EXPECT_EQ(addresses("(nested (c@d.example)) r@x.example"), List{"r@x.example"});
    EXPECT_EQ(addresses("Undisclosed recipients:;"), List{});
}

// Groups: the group name is not an address, its members are.
TEST(HeaderAddressesTest, Groups) {
    EXPECT_EQ(addresses("Team: a@x.example, B <b@x.example>;, c@y.example"),
              (List{"a@x.example", "b@x.example", "c@y.example"}));
}

// Source routes are dropped; broken input yields nothing rather than a wrong span.
TEST(HeaderAddressesTest, OddInput) {
    EXPECT_EQ(addresses("<@relay.example:a@x.example>"), List{"a@x.example"});
    EXPECT_EQ(addresses("<a@x.example"), List{});
    EXPECT_EQ(addresses("\"unterminated a@x.example"), List{});
    EXPECT_EQ(addresses("@x.example, a@, @"), List{});
    EXPECT_EQ(addresses("\"a b\"@x.example"), List{});
    EXPECT_EQ(addresses(""), List{});
}

// Only mapped addresses change; everything else is kept byte for byte.
TEST(HeaderAddressesTest, RewriteKeepsTheRest) {
    const auto map = [](std::string_view address) -> std::optional<std::string> {
        if (address == "a@old.example") {
            return std::string("a@new.example");
        }
        return std::nullopt;
    };
    EXPECT_EQ(rewriteAddresses("\"A (old)\" <a@old.example>, b@old.example", map),
              "\"A (old)\" <a@new.example>, b@old.example");
    EXPECT_EQ(rewriteAddresses("a@old.example (me),\r\n a@old.example", map),
              "a@new.example (me),\r\n a@new.example");
    EXPECT_FALSE(rewriteAddresses("b@old.example", map).has_value());
}

}  // namespace
}  // namespace mailgate::rewrite
