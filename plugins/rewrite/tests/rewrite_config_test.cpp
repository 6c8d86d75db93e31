#include "rewrite_config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailgate::rewrite {
namespace {

std::string issues(const ConfigParseResult& result) {
    std::string out;
    for (const auto& error : result.errors) {
        out += "[" + error.path + ": " + error.message + "]";
    }
    return out;
}

// Checks that `yaml` gives exactly one error, at `path`, whose message contains `words`.
void expectError(const std::string& yaml, const std::string& path, const std::string& words) {
    const auto result = parseRewriteConfig(yaml);
    ASSERT_EQ(result.errors.size(), 1u) << yaml << "\n" << issues(result);
    EXPECT_EQ(result.errors[0].path, path) << yaml;
    EXPECT_NE(result.errors[0].message.find(words), std::string::npos) << yaml << "\n"
                                                                       << result.errors[0].message;
}

// No config is an empty rule set.
TEST(RewriteConfigTest, EmptyConfig) {
    for (const char* text : {"", "~", "{}", "# nothing\n", "sender_map:\nheader_rules:\n",
                             "sender_map: []\naddress_headers: []\nheader_rules: []\n"}) {
        const auto result = parseRewriteConfig(text);
        EXPECT_TRUE(result.errors.empty()) << text << issues(result);
        EXPECT_TRUE(result.config.sender_map.empty());
        EXPECT_TRUE(result.config.header_rules.empty());
    }
}

// The README's example is read whole.
TEST(RewriteConfigTest, FullExample) {
    const auto result = parseRewriteConfig(R"(
sender_map:
  - match: alice@old.example
    to: alice@new.example
  - match: "@old.example"
    to: "@new.example"
  - regex: '^(.+)\+[^@]*@(.+)$'
    to: '\1@\2'
    when:
      client_network: [10.0.0.0/8, "2001:db8::/32"]
recipient_map:
  - match: "@legacy.example"
    to: "@example.org"
    when: {sender_domain: [partner.example, .partner.example]}
address_headers: [From, To, Cc]
header_rules:
  - {add: X-Gateway, value: mailgate, at: top}
  - {remove: X-Internal}
  - {remove: Received, nth: 2}
  - {replace: Subject, regex: '^\[SPAM\] ', with: ''}
  - prefix_subject: "[EXTERNAL] "
    when: {recipient_domain: example.org}
)");
    ASSERT_TRUE(result.errors.empty()) << issues(result);
    EXPECT_EQ(result.config.sender_map.size(), 3u);
    EXPECT_EQ(result.config.recipient_map.size(), 1u);
    EXPECT_EQ(result.config.address_headers.size(), 3u);
    ASSERT_EQ(result.config.header_rules.size(), 5u);
    EXPECT_TRUE(result.config.header_rules[0].at_top);
    EXPECT_EQ(result.config.header_rules[2].nth, 2u);
    EXPECT_EQ(result.config.header_rules[4].when.recipient_domains.size(), 1u);
}

// A bad regex is an error at its path, with RE2's reason; so is a capture the regex lacks.
TEST(RewriteConfigTest, BadRegex) {
    expectError("sender_map: [{regex: '(unclosed', to: 'a@b.example'}]", "sender_map[0].regex",
                "invalid regex: missing )");
    expectError(
        "recipient_map:\n  - {match: a@b.example, to: c@d.example}\n"
        "  - {regex: '^(.*)$', to: '\\2@x.example'}",
        "recipient_map[1].to", "invalid rewrite");
    expectError("header_rules: [{replace: Subject, regex: 'a(', with: ''}]",
                "header_rules[0].regex", "invalid regex");
    expectError("header_rules: [{replace: Subject, regex: 'a', with: '\\1'}]",
                "header_rules[0].with", "invalid rewrite");
}

// Map entries: exactly one of match and regex, a `to`, valid addresses.
TEST(RewriteConfigTest, BadMapEntries) {
    expectError("sender_map: [{to: a@b.example}]", "sender_map[0]", "exactly one of match");
    expectError("sender_map: [{match: a@b.example, regex: x, to: a@b.example}]", "sender_map[0]",
                "exactly one of match");
    expectError("sender_map: [{match: a@b.example}]", "sender_map[0]", "needs to");
    expectError("sender_map: [{match: not-an-address, to: a@b.example}]", "sender_map[0].match",
                "is not an address");
    expectError("sender_map: [{match: a@b.example, to: 'x y@b.example'}]", "sender_map[0].to",
                "is not an address");
    expectError("sender_map: [{regex: x, to: 'a <b>'}]", "sender_map[0].to", "without blanks");
    expectError("sender_map: [{match: a@b.example, to: c@d.example, from: x}]",
                "sender_map[0].from", "unknown key");
    expectError("sender_map: {match: a@b.example}", "sender_map", "must be a list");
    expectError("sender_map: [just-text]", "sender_map[0]", "must be a mapping");
}

// Conditions: known keys, valid domains and networks, located at the item.
TEST(RewriteConfigTest, BadConditions) {
    expectError(
        "sender_map: [{match: a@b.example, to: c@d.example, when: {client_network: "
        "[10.0.0.0/8, 10.0.0.0/99]}}]",
        "sender_map[0].when.client_network[1]", "0 to 32");
    expectError("header_rules: [{remove: X, when: {sender_domain: 'a..b'}}]",
                "header_rules[0].when.sender_domain", "is not a domain");
    expectError("header_rules: [{remove: X, when: {client: 10.0.0.0/8}}]",
                "header_rules[0].when.client", "unknown key");
    expectError("header_rules: [{remove: X, when: {recipient_domain: []}}]",
                "header_rules[0].when.recipient_domain", "non-empty list");
}

// Header rules: one action each, its own keys, valid names and values.
TEST(RewriteConfigTest, BadHeaderRules) {
    expectError("header_rules: [{add: X, remove: Y, value: v}]", "header_rules[0]",
                "exactly one of add");
    expectError("header_rules: [{value: v}]", "header_rules[0]", "exactly one of add");
    expectError("header_rules: [{add: X}]", "header_rules[0]", "needs value");
    expectError("header_rules: [{add: 'Bad Name', value: v}]", "header_rules[0].add",
                "header name");
    expectError("header_rules: [{add: X, value: \"a\\nb\"}]", "header_rules[0].value",
                "printable ASCII");
    expectError("header_rules: [{add: X, value: v, at: middle}]", "header_rules[0].at",
                "top or bottom");
    expectError("header_rules: [{remove: X, nth: 0}]", "header_rules[0].nth", "1 to 1000");
    expectError("header_rules: [{remove: X, nth: two}]", "header_rules[0].nth", "1 to 1000");
    expectError("header_rules: [{remove: X, value: v}]", "header_rules[0].value", "unknown key");
    expectError("header_rules: [{replace: Subject, with: x}]", "header_rules[0]", "needs regex");
    expectError("header_rules: [{prefix_subject: ''}]", "header_rules[0].prefix_subject",
                "1 to 900");
    expectError("header_rules: [{prefix_subject: x, nth: 1}]", "header_rules[0].nth",
                "unknown key");
}

// The root: a mapping of known keys, each once; address_headers from a fixed list.
TEST(RewriteConfigTest, BadRoot) {
    expectError("- a\n- b\n", "", "must be a mapping");
    expectError("sender_maps: []", "sender_maps", "unknown key (expected sender_map");
    expectError("address_headers: [From, Subject]", "address_headers[1]",
                "not one of From, Sender, Reply-To, To, Cc");
    expectError("header_rules: {add: X}", "header_rules", "must be a list");
    expectError("sender_map: [\n", "", "invalid YAML");
}

// Every mistake is reported, not only the first.
TEST(RewriteConfigTest, AllErrorsReported) {
    const auto result = parseRewriteConfig(R"(
sender_map: [{regex: '(', to: x@y.example}, {match: bad, to: a@b.example}]
header_rules: [{remove: 'a b'}, {prefix_subject: "\t\u0001"}]
)");
    EXPECT_EQ(result.errors.size(), 4u) << issues(result);
}

}  // namespace
}  // namespace mailgate::rewrite
