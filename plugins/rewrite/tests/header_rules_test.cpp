#include "header_rules.hpp"

#include <gtest/gtest.h>

#include <string>

#include "fake_message.hpp"
#include "rewrite_config.hpp"

namespace mailgate::rewrite {
namespace {

using testing::FakeMessage;

FakeMessage sample() {
    FakeMessage message;
    message.fields = {{"Received", " from a"}, {"Subject", " Hello world"},
                      {"X-Tag", " one"},       {"Received", " from b"},
                      {"x-tag", " two"},       {"To", " t@example.org"}};
    return message;
}

// Applies the header rules of a config written as YAML.
std::string afterRules(const std::string& yaml, FakeMessage message = sample()) {
    const ConfigParseResult parsed = parseRewriteConfig(yaml);
    EXPECT_TRUE(parsed.errors.empty()) << (parsed.errors.empty() ? "" : parsed.errors[0].message);
    for (const HeaderRule& rule : parsed.config.header_rules) {
        applyHeaderRule(rule, message);
    }
    EXPECT_TRUE(message.warnings.empty());
    return message.headerText();
}

// add appends by default and inserts as the first field with at: top.
TEST(HeaderRulesTest, Add) {
    EXPECT_EQ(afterRules(R"(header_rules:
  - {add: X-Gateway, value: mailgate}
  - {add: X-First, value: "top one", at: top}
)"),
              "X-First: top one\nReceived: from a\nSubject: Hello world\nX-Tag: one\n"
              "Received: from b\nx-tag: two\nTo: t@example.org\nX-Gateway: mailgate\n");
}

// remove without nth removes every field of that name (case ignored); with nth, only that one.
TEST(HeaderRulesTest, Remove) {
    EXPECT_EQ(afterRules("header_rules: [{remove: X-TAG}]"),
              "Received: from a\nSubject: Hello world\nReceived: from b\nTo: t@example.org\n");
    EXPECT_EQ(afterRules("header_rules: [{remove: Received, nth: 2}]"),
              "Received: from a\nSubject: Hello world\nX-Tag: one\nx-tag: two\n"
              "To: t@example.org\n");
    // Nothing to remove is not an error.
    EXPECT_EQ(afterRules("header_rules: [{remove: Received, nth: 3}, {remove: X-None}]"),
              sample().headerText());
}

// replace runs the regex over the value (after the blank that follows the colon) and replaces
// every match, with captures; nth limits it to one field.
TEST(HeaderRulesTest, Replace) {
    EXPECT_EQ(afterRules(R"(header_rules:
  - {replace: X-Tag, regex: '^(\w+)$', with: 'tag-\1'}
  - {replace: Subject, regex: 'o', with: '0'}
  - {replace: Received, regex: 'from (\w)', with: 'by \1', nth: 2}
)"),
              "Received: from a\nSubject: Hell0 w0rld\nX-Tag: tag-one\nReceived: by b\n"
              "x-tag: tag-two\nTo: t@example.org\n");
}

// prefix_subject tags the subject once; a message without one gets a Subject of the prefix.
TEST(HeaderRulesTest, PrefixSubject) {
    const std::string rules = R"(header_rules: [{prefix_subject: "[EXT] "}])";
    EXPECT_NE(afterRules(rules).find("Subject: [EXT] Hello world\n"), std::string::npos);
    FakeMessage tagged = sample();
    tagged.fields[1].second = " [EXT] Re: hi";
    EXPECT_NE(afterRules(rules, tagged).find("Subject: [EXT] Re: hi\n"), std::string::npos);
    FakeMessage none;
    none.fields = {{"From", " a@example.org"}};
    EXPECT_EQ(afterRules(rules, none), "From: a@example.org\nSubject: [EXT]\n");
}

// An edit the host refuses is logged as a warning, and the rules go on.
TEST(HeaderRulesTest, RefusedEditWarns) {
    const ConfigParseResult parsed =
        parseRewriteConfig(R"(header_rules: [{replace: Subject, regex: '\r', with: ''}])");
    ASSERT_TRUE(parsed.errors.empty());
    FakeMessage message = sample();
    message.fields[1].second = " Hello\r\n world";  // folded: taking the CR leaves a bare LF
    applyHeaderRule(parsed.config.header_rules[0], message);
    ASSERT_EQ(message.warnings.size(), 1u);
    EXPECT_NE(message.warnings[0].find("Subject"), std::string::npos);
}

}  // namespace
}  // namespace mailgate::rewrite
