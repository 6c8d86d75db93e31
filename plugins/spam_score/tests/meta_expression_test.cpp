#include "meta_expression.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace mailgate::spam_score {
namespace {

bool eval(const std::string& text, const std::map<std::string, bool>& values) {
    std::string error;
    const auto expression = MetaExpression::parse(text, error);
    EXPECT_TRUE(expression.has_value()) << text << ": " << error;
    if (!expression) {
        return false;
    }
    return expression->evaluate([&](std::size_t i) { return values.at(expression->names()[i]); });
}

std::string parseError(const std::string& text) {
    std::string error;
    EXPECT_FALSE(MetaExpression::parse(text, error).has_value()) << text;
    return error;
}

// && binds tighter than ||, ! tighter than both, parentheses override.
TEST(MetaExpressionTest, Precedence) {
    const std::map<std::string, bool> v{{"A", true}, {"B", false}, {"C", true}};
    EXPECT_TRUE(eval("A || B && C", v));
    EXPECT_FALSE(eval("(A || B) && !C", v));
    EXPECT_TRUE(eval("A && (B || !C) || C", v));
    EXPECT_FALSE(eval("A && (B || !C)", v));
    EXPECT_TRUE(eval("!!A", v));
    EXPECT_TRUE(eval("!B", v));
}

// The word forms and, or, not work like the symbols; names that start with them are names.
TEST(MetaExpressionTest, WordOperators) {
    const std::map<std::string, bool> v{
        {"A", true}, {"B", false}, {"order", true}, {"notes", false}};
    EXPECT_TRUE(eval("A and not B", v));
    EXPECT_TRUE(eval("B or order", v));
    EXPECT_TRUE(eval("not notes", v));
}

// Each name is listed once, in order of first use.
TEST(MetaExpressionTest, NamesListedOnce) {
    std::string error;
    const auto expression = MetaExpression::parse("__X && (Y_2 || __X)", error);
    ASSERT_TRUE(expression);
    EXPECT_EQ(expression->names(), (std::vector<std::string>{"__X", "Y_2"}));
}

// Malformed expressions say what is wrong and where.
TEST(MetaExpressionTest, Errors) {
    EXPECT_EQ(parseError(""), "expression ends where a rule name is expected");
    EXPECT_EQ(parseError("A &&"), "expression ends where a rule name is expected");
    EXPECT_EQ(parseError("(A || B"), "missing ')' at offset 7");
    EXPECT_EQ(parseError("A B"), "unexpected 'B' at offset 2");
    EXPECT_EQ(parseError("A & B"), "unexpected '&' at offset 2");
    EXPECT_EQ(parseError("A || $"), "expected a rule name at offset 5");
}

// Nesting, operand count and length are bounded (no deep recursion on hostile configs).
TEST(MetaExpressionTest, Bounds) {
    EXPECT_NE(
        parseError(std::string(40, '(') + "A" + std::string(40, ')')).find("nested too deeply"),
        std::string::npos);
    EXPECT_NE(parseError(std::string(5000, '!') + "A").find("longer than"), std::string::npos);
    std::string many = "A0";
    for (int i = 1; i <= 64; ++i) {
        many += " || A" + std::to_string(i);
    }
    EXPECT_NE(parseError(many).find("too many operands"), std::string::npos);
}

}  // namespace
}  // namespace mailgate::spam_score
