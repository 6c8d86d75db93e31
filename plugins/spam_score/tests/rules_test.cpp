// One test per rule kind, on hand-made message facts.
#include "rules.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace mailgate::spam_score {
namespace {

using testing::configFrom;
using testing::matches;
using Names = std::vector<std::string>;

// Header rules: regex on any field of that name (name case ignored), exists, absent.
TEST(RulesTest, HeaderRules) {
    const SpamConfig config = configFrom(R"(
rules:
  - {name: SUBJ_FREE, type: header, header: subject, regex: 'free', nocase: true, score: 1}
  - {name: HAS_X, type: header, header: X-Mailer, exists: true, score: 1}
  - {name: NO_DATE, type: header, header: Date, absent: true, score: 1}
  - {name: SECOND_RECEIVED, type: header, header: Received, regex: '^from evil', score: 1}
)");
    EXPECT_EQ(config.rules.header_names, (Names{"subject", "x-mailer", "date", "received"}));
    MessageFacts facts;
    facts.headers = {{"Subject", "Totally FREE stuff"},
                     {"Received", "from good"},
                     {"Received", "from evil"},
                     {"Date", "today"}};
    EXPECT_EQ(matches(config.rules, facts), (Names{"SUBJ_FREE", "SECOND_RECEIVED"}));
    facts.headers = {{"X-MAILER", "x"}};
    EXPECT_EQ(matches(config.rules, facts), (Names{"HAS_X", "NO_DATE"}));
}

// Body rules look at every decoded text part; raw rules at the message as received.
TEST(RulesTest, BodyAndRawRules) {
    const SpamConfig config = configFrom(R"(
rules:
  - {name: BODY_WIN, type: body, regex: 'you have won', score: 1}
  - {name: RAW_B64, type: raw, regex: 'Content-Transfer-Encoding: base64', score: 1}
)");
    EXPECT_TRUE(config.rules.needs_body);
    EXPECT_TRUE(config.rules.needs_raw);
    MessageFacts facts;
    facts.text_parts = {"hello", "so you have won a prize"};
    facts.raw = "Subject: x\r\n\r\nwon";
    EXPECT_EQ(matches(config.rules, facts), (Names{"BODY_WIN"}));
    facts.text_parts = {"hello"};
    facts.raw = "Content-Transfer-Encoding: base64\r\n\r\neW91";
    EXPECT_EQ(matches(config.rules, facts), (Names{"RAW_B64"}));
}

// Body rules run together, in one pass: each still matches exactly where it would alone, in any
// part, with its own case mode, and metas see the result.
TEST(RulesTest, BodyRulesMatchTogetherAsAlone) {
    const SpamConfig config = configFrom(R"(
rules:
  - {name: EXACT_WIN, type: body, regex: 'you have won', score: 1}
  - {name: ANY_PILLS, type: body, regex: '\b(viagra|cialis)\b', nocase: true, score: 1}
  - {name: UPPER_URGENT, type: body, regex: 'URGENT', score: 1}
  - {name: ANY_CASE_CLICK, type: body, regex: 'click here', nocase: true, score: 1}
  - {name: LINE_START, type: body, regex: '(?m)^unsubscribe$', score: 1}
  - {name: BOTH, type: meta, expression: 'EXACT_WIN && ANY_PILLS', score: 1}
)");
    ASSERT_TRUE(config.rules.body_set.set);
    MessageFacts facts;
    facts.text_parts = {"You Have Won", "buy VIAGRA now", "urgent"};
    EXPECT_EQ(matches(config.rules, facts), (Names{"ANY_PILLS"}));
    facts.text_parts = {"so you have won", "Click HERE", "x\nunsubscribe\ny", "URGENT!"};
    EXPECT_EQ(matches(config.rules, facts),
              (Names{"EXACT_WIN", "UPPER_URGENT", "ANY_CASE_CLICK", "LINE_START"}));
    facts.text_parts = {"you have won; cialis"};
    EXPECT_EQ(matches(config.rules, facts), (Names{"EXACT_WIN", "ANY_PILLS", "BOTH"}));
    facts.text_parts = {"viagras", "unsubscribe now"};
    EXPECT_EQ(matches(config.rules, facts), (Names{}));
    facts.text_parts = {};
    EXPECT_EQ(matches(config.rules, facts), (Names{}));
}

// Envelope rules: sender, any recipient, HELO by regex or as our own name, client IP by CIDR.
TEST(RulesTest, EnvelopeRules) {
    const SpamConfig config = configFrom(R"(
hostname: [MX.Example.Test, mx2.example.test]
rules:
  - {name: FROM_BIZ, type: envelope, field: sender, regex: '@[^@]*\.biz$', score: 1}
  - {name: TO_TRAP, type: envelope, field: recipient, regex: '^trap@', score: 1}
  - {name: HELO_OWN, type: envelope, field: helo, own_hostname: true, score: 1}
  - {name: HELO_IP, type: envelope, field: helo, regex: '^\[', score: 1}
  - {name: NET, type: envelope, field: client_ip, networks: [192.0.2.0/24, '2001:db8::/32'], score: 1}
  - {name: IP_RE, type: envelope, field: client_ip, regex: '^198\.51\.', score: 1}
)");
    MessageFacts facts;
    facts.sender = "a@spam.biz";
    facts.recipients = {"user@example.test", "trap@example.test"};
    facts.helo = "mx.example.TEST";
    facts.client_ip = "192.0.2.77";
    EXPECT_EQ(matches(config.rules, facts), (Names{"FROM_BIZ", "TO_TRAP", "HELO_OWN", "NET"}));
    facts = MessageFacts{};
    facts.helo = "[192.0.2.1]";
    facts.client_ip = "2001:db8::5";
    EXPECT_EQ(matches(config.rules, facts), (Names{"HELO_IP", "NET"}));
    facts.client_ip = "198.51.100.1";
    EXPECT_EQ(matches(config.rules, facts), (Names{"HELO_IP", "IP_RE"}));
    facts.client_ip = "not an address";
    EXPECT_EQ(matches(config.rules, facts), (Names{"HELO_IP"}));
}

// Size rules: min and max are inclusive, units are binary.
TEST(RulesTest, SizeRules) {
    const SpamConfig config = configFrom(R"(
rules:
  - {name: TINY, type: size, max: 100, score: 1}
  - {name: BIG, type: size, min: 1KB, score: 1}
  - {name: MID, type: size, min: 101, max: 1023, score: 1}
)");
    MessageFacts facts;
    facts.size = 100;
    EXPECT_EQ(matches(config.rules, facts), (Names{"TINY"}));
    facts.size = 500;
    EXPECT_EQ(matches(config.rules, facts), (Names{"MID"}));
    facts.size = 1024;
    EXPECT_EQ(matches(config.rules, facts), (Names{"BIG"}));
}

// Content-type rules look at every leaf part's type.
TEST(RulesTest, ContentTypeRules) {
    const SpamConfig config = configFrom(R"(
rules:
  - {name: EXE, type: content_type, regex: '^application/x-msdownload$', score: 1}
)");
    MessageFacts facts;
    facts.content_types = {"text/plain", "application/x-msdownload"};
    EXPECT_EQ(matches(config.rules, facts), (Names{"EXE"}));
}

// Metas combine other rules, metas included, whatever order they are written in.
TEST(RulesTest, MetaRules) {
    const SpamConfig config = configFrom(R"(
rules:
  - {name: BOTH, type: meta, expression: 'EITHER && !__C', score: 1}
  - {name: EITHER, type: meta, expression: '__A || __B', score: 1}
  - {name: __A, type: header, header: A, exists: true, score: 0}
  - {name: __B, type: header, header: B, exists: true, score: 0}
  - {name: __C, type: header, header: C, exists: true, score: 0}
)");
    EXPECT_FALSE(config.rules.rules[2].reported());
    MessageFacts facts;
    facts.headers = {{"B", ""}};
    EXPECT_EQ(matches(config.rules, facts), (Names{"BOTH", "EITHER", "__B"}));
    facts.headers = {{"A", ""}, {"C", ""}};
    EXPECT_EQ(matches(config.rules, facts), (Names{"EITHER", "__A", "__C"}));
}

// CIDR parsing: host bits are ignored, bad prefixes and addresses refused.
TEST(RulesTest, Networks) {
    std::string error;
    const auto v4 = Network::parse("10.1.2.3/8", error);
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->contains("10.200.0.1"));
    EXPECT_FALSE(v4->contains("11.0.0.1"));
    const auto one = Network::parse("::1", error);
    ASSERT_TRUE(one);
    EXPECT_TRUE(one->contains("::1"));
    EXPECT_FALSE(one->contains("::2"));
    EXPECT_FALSE(Network::parse("10.0.0.0/33", error));
    EXPECT_EQ(error, "prefix length must be 0 to 32");
    EXPECT_FALSE(Network::parse("example.test", error));
    EXPECT_TRUE(Network::parse("0.0.0.0/0", error)->contains("203.0.113.9"));
}

}  // namespace
}  // namespace mailgate::spam_score
