// spamd (SPAMC/1.5 SYMBOLS): the request head and every shape of reply, good and broken.
#include "spamd_protocol.hpp"

#include <gtest/gtest.h>

namespace mailgate::spam_score {
namespace {

std::vector<std::string> names(const ScanResult& result) {
    std::vector<std::string> out;
    for (const auto& symbol : result.symbols) {
        out.push_back(symbol.name);
    }
    return out;
}

TEST(SpamdProtocolTest, RequestHead) {
    EXPECT_EQ(spamdRequestHead(106), "SYMBOLS SPAMC/1.5\r\nContent-length: 106\r\n\r\n");
}

// The reply of spamd 4.0 to GTUBE, byte for byte.
TEST(SpamdProtocolTest, SpamWithSymbols) {
    const ScanResult result = parseSpamdReply(
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 24\r\nSpam: True ; 1004.2 / 5.0\r\n\r\n"
        "GTUBE,MISSING_DATE,NO_RE");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_TRUE(result.spam);
    EXPECT_DOUBLE_EQ(result.score, 1004.2);
    EXPECT_DOUBLE_EQ(result.required, 5.0);
    EXPECT_EQ(names(result), (std::vector<std::string>{"GTUBE", "MISSING_DATE", "NO_RE"}));
    EXPECT_TRUE(result.action.empty());
}

// Ham, a negative score, LF line ends, no Content-length (read to the end), "No".
TEST(SpamdProtocolTest, HamVariants) {
    ScanResult result =
        parseSpamdReply("SPAMD/1.1 0 EX_OK\nSpam: False ; -0.5 / 5.0\n\nMSGID_SHORT,NO_RELAYS\n");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_FALSE(result.spam);
    EXPECT_DOUBLE_EQ(result.score, -0.5);
    EXPECT_EQ(names(result), (std::vector<std::string>{"MSGID_SHORT", "NO_RELAYS"}));
    result = parseSpamdReply("SPAMD/1.5 0 EX_OK\r\nspam: no;0/5\r\n\r\n");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_FALSE(result.spam);
    EXPECT_TRUE(result.symbols.empty());
    result = parseSpamdReply("SPAMD/1.5 0 EX_OK\r\nSpam: Yes ; 7 / 5\r\n\r\n");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_TRUE(result.spam);
}

// At most kMaxScannerSymbols symbols are kept; empty names between commas are skipped.
TEST(SpamdProtocolTest, SymbolsAreBounded) {
    std::string body;
    for (int i = 0; i < 80; ++i) {
        body += "S" + std::to_string(i) + ",,";
    }
    const ScanResult result =
        parseSpamdReply("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9 / 5\r\n\r\n" + body);
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.symbols.size(), kMaxScannerSymbols);
    EXPECT_EQ(result.symbols.front().name, "S0");
}

// Each broken reply is a failure with a reason, never a score.
TEST(SpamdProtocolTest, MalformedReplies) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "without a reply"},
        {"SPAMD/1.1 0 EX_OK", "no complete status line"},
        {"HTTP/1.1 200 OK\r\n\r\n", "not a spamd reply"},
        {"SPAMD/1.0 76 Bad header line: BOGUS\r\n", "spamd answered 76 Bad header line"},
        {"SPAMD/1.1 0 EX_OK\r\nSpam: True ; 3 / 5\r\n", "ends inside its header"},
        {"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", "no Spam line"},
        {"SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 3 / 5\r\n\r\n", "malformed spamd line"},
        {"SPAMD/1.1 0 EX_OK\r\nSpam: True ; x / 5\r\n\r\n", "malformed spamd line"},
        {"SPAMD/1.1 0 EX_OK\r\nSpam: True ; 3\r\n\r\n", "malformed spamd line"},
        {"SPAMD/1.1 0 EX_OK\r\nSpam: True ; nan / 5\r\n\r\n", "malformed spamd line"},
        {"SPAMD/1.1 0 EX_OK\r\nSpam: True 3 / 5\r\n\r\n", "malformed spamd line"},
        {"SPAMD/1.1 0 EX_OK\r\nContent-length: x\r\nSpam: True ; 3 / 5\r\n\r\n",
         "malformed spamd Content-length"},
        {"SPAMD/1.1 0 EX_OK\r\nContent-length: 50\r\nSpam: True ; 3 / 5\r\n\r\nGTUBE",
         "shorter than its Content-length"},
    };
    for (const auto& [reply, reason] : cases) {
        const ScanResult result = parseSpamdReply(reply);
        EXPECT_FALSE(result.ok) << reply;
        EXPECT_NE(result.error.find(reason), std::string::npos) << reply << " -> " << result.error;
    }
}

}  // namespace
}  // namespace mailgate::spam_score
