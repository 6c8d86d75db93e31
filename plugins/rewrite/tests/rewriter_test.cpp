#include "rewriter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_message.hpp"
#include "rewrite_config.hpp"

namespace mailgate::rewrite {
namespace {

using testing::FakeMessage;
using Rcpts = std::vector<std::string>;

RewriteConfig config(const std::string& yaml) {
    ConfigParseResult parsed = parseRewriteConfig(yaml);
    EXPECT_TRUE(parsed.errors.empty()) << (parsed.errors.empty() ? "" : parsed.errors[0].message);
    return std::move(parsed.config);
}

FakeMessage message() {
    FakeMessage m;
    m.from = "alice@old.example";
    m.rcpts = {"bob@old.example", "carol@keep.example"};
    m.fields = {{"From", " Alice <alice@old.example>"},
                {"To", " bob@old.example, \"Carol\" <carol@keep.example>"},
                {"Cc", " dave@old.example"},
                {"Subject", " hi"}};
    return m;
}

const char* kMaps = R"(
sender_map: [{match: "@old.example", to: "@new.example"}]
recipient_map: [{match: "@old.example", to: "@inbox.example"}]
)";

// The envelope is rewritten; headers stay unless address_headers names them.
TEST(RewriterTest, EnvelopeOnly) {
    FakeMessage m = message();
    const std::string before = m.headerText();
    rewriteMessage(config(kMaps), m);
    EXPECT_EQ(m.from, "alice@new.example");
    EXPECT_EQ(m.rcpts, (Rcpts{"carol@keep.example", "bob@inbox.example"}));
    EXPECT_EQ(m.headerText(), before);
}

// From uses the sender map, To and Cc the recipient map; display names are kept.
TEST(RewriterTest, AddressHeaders) {
    FakeMessage m = message();
    rewriteMessage(config(std::string(kMaps) + "address_headers: [From, To, cc]\n"), m);
    EXPECT_EQ(m.headerText(),
              "From: Alice <alice@new.example>\n"
              "To: bob@inbox.example, \"Carol\" <carol@keep.example>\n"
              "Cc: dave@inbox.example\nSubject: hi\n");
}

// The null sender is never mapped.
TEST(RewriterTest, NullSenderKept) {
    FakeMessage m = message();
    m.from = "";
    rewriteMessage(config(R"(sender_map: [{regex: '^(.*)$', to: 'x@y.example'}])"), m);
    EXPECT_EQ(m.from, "");
}

// Two recipients mapped to one become one; a recipient mapped to an existing one merges.
TEST(RewriterTest, RecipientsMerge) {
    FakeMessage m = message();
    m.rcpts = {"a@old.example", "b@old.example", "all@new.example"};
    rewriteMessage(config(R"(recipient_map: [{match: "@old.example", to: all@new.example}])"), m);
    EXPECT_EQ(m.rcpts, Rcpts{"all@new.example"});
    EXPECT_TRUE(m.warnings.empty());
}

// Each recipient is mapped once from the envelope the client gave: A->B and B->C keep B,
// and a swap keeps both.
TEST(RewriterTest, RecipientChainsAndSwaps) {
    FakeMessage m = message();
    m.rcpts = {"a@x.example", "b@x.example"};
    rewriteMessage(config(R"(recipient_map: [{match: a@x.example, to: b@x.example},
                                              {match: b@x.example, to: c@x.example}])"),
                   m);
    EXPECT_EQ(m.rcpts, (Rcpts{"b@x.example", "c@x.example"}));
    m.rcpts = {"a@x.example", "b@x.example"};
    rewriteMessage(config(R"(recipient_map: [{match: a@x.example, to: b@x.example},
                                              {match: b@x.example, to: a@x.example}])"),
                   m);
    EXPECT_EQ(m.rcpts, (Rcpts{"a@x.example", "b@x.example"}));
    EXPECT_TRUE(m.warnings.empty());
}

// A change of case only, and a full list, still rewrite.
TEST(RewriterTest, CaseChangeAndFullList) {
    FakeMessage m = message();
    m.rcpts = {"Bob@Old.Example"};
    m.max_recipients = 1;
    rewriteMessage(config(R"(recipient_map: [{regex: '^Bob@Old\.Example$', to: 'bob@old.example'},
                                              {match: "@other.example", to: "@new.example"}])"),
                   m);
    EXPECT_EQ(m.rcpts, Rcpts{"bob@old.example"});
    m.rcpts = {"x@other.example"};
    rewriteMessage(config(R"(recipient_map: [{match: "@other.example", to: "@new.example"}])"), m);
    EXPECT_EQ(m.rcpts, Rcpts{"x@new.example"});
}

// A result the host refuses keeps the recipient as it was, with a warning: no mail lost.
TEST(RewriterTest, RefusedRecipientKept) {
    FakeMessage m = message();
    m.rcpts = {"bob@old.example"};
    rewriteMessage(config(R"(recipient_map: [{regex: '^(.*)@old\.example$', to: '\1'}])"), m);
    EXPECT_EQ(m.rcpts, Rcpts{"bob@old.example"});
    ASSERT_EQ(m.warnings.size(), 1u);
    EXPECT_NE(m.warnings[0].find("recipient <bob@old.example> not rewritten"), std::string::npos);
    m.warnings.clear();
    rewriteMessage(config(R"(sender_map: [{regex: '^(.*)@old\.example$', to: '\1'}])"), m);
    EXPECT_EQ(m.from, "alice@old.example");
    ASSERT_EQ(m.warnings.size(), 1u);
}

// A recipient condition on a recipient-map entry looks at that recipient only; on a header rule
// at every recipient.
TEST(RewriterTest, RecipientConditions) {
    FakeMessage m = message();
    rewriteMessage(config(R"(
recipient_map: [{regex: '^(.*)@(.*)$', to: '\1+gw@\2', when: {recipient_domain: keep.example}}]
header_rules: [{add: X-Keep, value: "yes", when: {recipient_domain: keep.example}},
               {add: X-Never, value: "no", when: {recipient_domain: nowhere.example}}]
)"),
                   m);
    EXPECT_EQ(m.rcpts, (Rcpts{"bob@old.example", "carol+gw@keep.example"}));
    EXPECT_NE(m.headerText().find("X-Keep: yes\n"), std::string::npos);
    EXPECT_EQ(m.headerText().find("X-Never"), std::string::npos);
}

// Conditions see the envelope as the client gave it, even after the sender map ran.
TEST(RewriterTest, ConditionsSeeTheOriginalEnvelope) {
    FakeMessage m = message();
    m.client = "10.1.1.1";
    rewriteMessage(config(R"(
sender_map: [{match: "@old.example", to: "@new.example"}]
header_rules:
  - {prefix_subject: "[OLD] ", when: {sender_domain: old.example, client_network: 10.0.0.0/8}}
  - {add: X-Ext, value: "1", when: {client_network: "2001:db8::/32"}}
)"),
                   m);
    EXPECT_EQ(m.from, "alice@new.example");
    EXPECT_NE(m.headerText().find("Subject: [OLD] hi\n"), std::string::npos);
    EXPECT_EQ(m.headerText().find("X-Ext"), std::string::npos);
}

// An empty config changes nothing.
TEST(RewriterTest, EmptyConfig) {
    FakeMessage m = message();
    const FakeMessage before = message();
    rewriteMessage(RewriteConfig{}, m);
    EXPECT_EQ(m.from, before.from);
    EXPECT_EQ(m.rcpts, before.rcpts);
    EXPECT_EQ(m.headerText(), before.headerText());
}

}  // namespace
}  // namespace mailgate::rewrite
