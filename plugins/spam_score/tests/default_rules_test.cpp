// The shipped default rules (config/rules/spam_score.yaml) on sample messages.
#include <gtest/gtest.h>

#include <algorithm>

#include "mime_text.hpp"
#include "test_support.hpp"

namespace mailgate::spam_score {
namespace {

using Names = std::vector<std::string>;

class DefaultRulesTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { initMime(); }

    // The reported symbols for a message given as header fields, MIME fields and body.
    Names symbols(const std::vector<std::pair<std::string, std::string>>& fields,
                  const std::string& body, std::string_view helo = "client.example") {
        MessageFacts facts;
        std::string mime;
        for (const auto& [name, value] : fields) {
            facts.headers.push_back({name, decodeHeaderValue(value)});
            mime += name + ":" + value + "\r\n";
        }
        decodeMimeText(mime, body, config_.mime, facts);
        facts.helo = helo;
        std::vector<bool> matched;
        config_.rules.evaluate(facts, matched);
        Names names;
        for (std::size_t i = 0; i < matched.size(); ++i) {
            if (matched[i] && config_.rules.rules[i].reported()) {
                names.push_back(config_.rules.rules[i].name);
            }
        }
        return names;
    }

    const std::vector<std::pair<std::string, std::string>> kUsual{
        {"Date", " Sun, 29 Nov 2026 10:00:00 +0000"},
        {"Message-ID", " <1@example.test>"},
        {"Subject", " Lunch"}};

    SpamConfig config_ = testing::configFrom(
        std::string("hostname: mx.example.test\nrules_file: ") + SPAM_SCORE_DEFAULT_RULES);
};

TEST_F(DefaultRulesTest, CleanMessageMatchesNothing) {
    EXPECT_EQ(symbols(kUsual, "See you at noon.\r\n"), Names{});
}

TEST_F(DefaultRulesTest, Gtube) {
    EXPECT_EQ(
        symbols(kUsual, "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"),
        Names{"GTUBE"});
}

TEST_F(DefaultRulesTest, MissingHeadersAndHelo) {
    EXPECT_EQ(
        symbols({}, "x\r\n", "MX.example.test"),
        (Names{"MISSING_DATE", "MISSING_MESSAGE_ID", "HELO_IS_OWN_HOSTNAME", "MISSING_SUBJECT"}));
    auto fields = kUsual;
    EXPECT_EQ(symbols(fields, "x\r\n", "[192.0.2.1]"), Names{"HELO_IS_IP_LITERAL"});
    EXPECT_EQ(symbols(fields, "x\r\n", "192.0.2.1"), Names{"HELO_IS_IP_LITERAL"});
    EXPECT_EQ(symbols(fields, "x\r\n", "[IPv6:2001:db8::1]"), Names{"HELO_IS_IP_LITERAL"});
}

TEST_F(DefaultRulesTest, Subjects) {
    auto fields = kUsual;
    fields[2].second = "  ";
    EXPECT_EQ(symbols(fields, "x\r\n"), Names{"EMPTY_SUBJECT"});
    fields[2].second = " URGENT: CLAIM YOUR MONEY!!!";
    EXPECT_EQ(symbols(fields, "x\r\n"), Names{"SUBJECT_ALL_CAPS"});
    fields[2].second = " =?utf-8?B?w5xCRVJSQVNDSFVORyBGw5xSIFNJRQ==?=";  // ÜBERRASCHUNG FÜR SIE
    EXPECT_EQ(symbols(fields, "x\r\n"), Names{"SUBJECT_ALL_CAPS"});
    fields[2].second = " RE: Meeting NOTES FOR today";
    EXPECT_EQ(symbols(fields, "x\r\n"), Names{});
    fields[2].second = " OK 2026";  // too few capitals to count as shouting
    EXPECT_EQ(symbols(fields, "x\r\n"), Names{});
}

TEST_F(DefaultRulesTest, HtmlOnly) {
    auto fields = kUsual;
    fields.push_back({"Content-Type", " text/html; charset=utf-8"});
    EXPECT_EQ(symbols(fields, "<p>hi</p>\r\n"), Names{"HTML_ONLY"});
    fields.back().second = " multipart/alternative; boundary=b";
    EXPECT_EQ(symbols(fields,
                      "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                      "--b\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b--\r\n"),
              Names{});
}

TEST_F(DefaultRulesTest, Phrases) {
    EXPECT_EQ(symbols(kUsual, "Cheap VIAGRA, order now!\r\n"),
              (Names{"PHRASE_PHARMACY", "PHRASE_URGENCY", "PHRASES_MANY"}));
    EXPECT_EQ(symbols(kUsual, "You have won ten million dollars.\r\n"),
              (Names{"PHRASE_PRIZE", "PHRASE_MONEY", "PHRASES_MANY"}));
    EXPECT_EQ(symbols(kUsual, "Click here for the minutes.\r\n"), Names{"PHRASE_URGENCY"});
}

}  // namespace
}  // namespace mailgate::spam_score
