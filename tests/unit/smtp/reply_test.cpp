#include "core/smtp/reply.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailgate::smtp {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// --- formatting -------------------------------------------------------------------------------

// A one-line reply with an enhanced code puts the code between the reply code and the text.
TEST(ReplyTest, SingleLineWithEnhancedCode) {
    EXPECT_EQ(Reply(250, "2.1.0", "Ok").toWire(), "250 2.1.0 Ok\r\n");
}

// Greetings and 354 carry no enhanced code.
TEST(ReplyTest, SingleLineWithoutEnhancedCode) {
    EXPECT_EQ(Reply(220, "", "mx.example.test ESMTP").toWire(), "220 mx.example.test ESMTP\r\n");
    EXPECT_EQ(Reply(354, "", "End data with <CR><LF>.<CR><LF>").toWire(),
              "354 End data with <CR><LF>.<CR><LF>\r\n");
}

// Every line but the last uses '-' after the code (an EHLO response).
TEST(ReplyTest, MultiLineUsesDashUntilTheLastLine) {
    const Reply reply(250, "", {"mx.example.test", "PIPELINING", "8BITMIME"});
    EXPECT_EQ(reply.toWire(), "250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
}

// With an enhanced code, every line of a multi-line reply carries it.
TEST(ReplyTest, MultiLineRepeatsTheEnhancedCodeOnEveryLine) {
    const Reply reply(550, "5.7.1", std::vector<std::string>{"Relay access denied", "see docs"});
    EXPECT_EQ(reply.toWire(), "550-5.7.1 Relay access denied\r\n550 5.7.1 see docs\r\n");
}

// appendWire adds to what is already in the buffer instead of replacing it.
TEST(ReplyTest, AppendWireAppends) {
    std::string out = "250 2.0.0 Ok\r\n";
    Reply(221, "2.0.0", "Bye").appendWire(out);
    EXPECT_EQ(out, "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

// An empty text gives a bare code (no trailing space) or the code and the enhanced code.
TEST(ReplyTest, EmptyTextHasNoTrailingSpace) {
    EXPECT_EQ(Reply(250, "", "").toWire(), "250\r\n");
    EXPECT_EQ(Reply(250, "2.0.0", "").toWire(), "250 2.0.0\r\n");
    EXPECT_EQ(Reply(250, "", std::vector<std::string>{}).toWire(), "250\r\n");
    EXPECT_EQ(Reply(250, "", {"", "b"}).toWire(), "250-\r\n250 b\r\n");
}

// A CR or LF smuggled into a text line cannot inject a second reply.
TEST(ReplyTest, LineEndingsInTextAreNeutralised) {
    EXPECT_EQ(Reply(250, "", "ok\r\n250 forged").toWire(), "250 ok  250 forged\r\n");
}

// summary() is one log line: code, enhanced code, lines joined by "; ".
TEST(ReplyTest, SummaryIsOneLine) {
    EXPECT_EQ(Reply(550, "5.7.1", "Relay access denied").summary(),
              "550 5.7.1 Relay access denied");
    EXPECT_EQ(Reply(250, "", {"mx", "PIPELINING"}).summary(), "250 mx; PIPELINING");
    EXPECT_EQ(Reply(250, "", "").summary(), "250");
}

// The classes follow the first digit of the code.
TEST(ReplyTest, Classification) {
    EXPECT_TRUE(Reply(250, "", "x").positive());
    EXPECT_TRUE(Reply(354, "", "x").positive());
    EXPECT_TRUE(Reply(451, "", "x").transient());
    EXPECT_TRUE(Reply(554, "", "x").permanent());
    EXPECT_FALSE(Reply(451, "", "x").positive());
    EXPECT_FALSE(Reply(250, "", "x").permanent());
}

// --- parsing ----------------------------------------------------------------------------------

// A backend's one-line reply with an enhanced code is split into its three parts.
TEST(ParseReplyTest, SingleLineWithEnhancedCode) {
    Reply reply;
    ASSERT_TRUE(parseReply("250 2.0.0 Ok: queued as 4F2\r\n", reply));
    EXPECT_EQ(reply.code, 250);
    EXPECT_EQ(reply.enhanced, "2.0.0");
    EXPECT_EQ(reply.lines, std::vector<std::string>{"Ok: queued as 4F2"});
}

// A reply without an enhanced code keeps the whole text.
TEST(ParseReplyTest, SingleLineWithoutEnhancedCode) {
    Reply reply;
    ASSERT_TRUE(parseReply("220 mx.example.test ESMTP Postfix\r\n", reply));
    EXPECT_EQ(reply.code, 220);
    EXPECT_EQ(reply.enhanced, "");
    EXPECT_EQ(reply.lines, std::vector<std::string>{"mx.example.test ESMTP Postfix"});
}

// An EHLO response is read line by line.
TEST(ParseReplyTest, MultiLineEhloResponse) {
    Reply reply;
    ASSERT_TRUE(
        parseReply("250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n", reply));
    EXPECT_EQ(reply.code, 250);
    EXPECT_EQ(reply.enhanced, "");
    EXPECT_EQ(reply.lines,
              (std::vector<std::string>{"mx.example.test", "PIPELINING", "SIZE 10240000"}));
}

// The enhanced code is taken off every line of a multi-line reply.
TEST(ParseReplyTest, MultiLineWithEnhancedCodes) {
    Reply reply;
    ASSERT_TRUE(parseReply("550-5.1.1 No such user\r\n550 5.1.1 see the docs\r\n", reply));
    EXPECT_EQ(reply.enhanced, "5.1.1");
    EXPECT_EQ(reply.lines, (std::vector<std::string>{"No such user", "see the docs"}));
}

// A server that sends the enhanced code on one line only still has it recognised.
TEST(ParseReplyTest, EnhancedCodeOnOneLineOnly) {
    Reply reply;
    ASSERT_TRUE(parseReply("550-5.7.1 first\r\n550 second\r\n", reply));
    EXPECT_EQ(reply.enhanced, "5.7.1");
    EXPECT_EQ(reply.lines, (std::vector<std::string>{"first", "second"}));
}

// An enhanced code whose class disagrees with the reply code is ordinary text.
TEST(ParseReplyTest, MismatchedEnhancedClassStaysInText) {
    Reply reply;
    ASSERT_TRUE(parseReply("250 5.1.1 odd\r\n", reply));
    EXPECT_EQ(reply.enhanced, "");
    EXPECT_EQ(reply.lines, std::vector<std::string>{"5.1.1 odd"});
    ASSERT_TRUE(parseReply("354 3.0.0 go ahead\r\n", reply));
    EXPECT_EQ(reply.enhanced, "");
}

// Only "class.subject.detail" with 1-3 digit parts followed by a space or the end counts.
TEST(ParseReplyTest, EnhancedCodeShape) {
    Reply reply;
    ASSERT_TRUE(parseReply("451 4.3.0\r\n", reply));
    EXPECT_EQ(reply.enhanced, "4.3.0");
    EXPECT_EQ(reply.lines, std::vector<std::string>{""});
    ASSERT_TRUE(parseReply("451 4.3.1000 x\r\n", reply));
    EXPECT_EQ(reply.enhanced, "");
    ASSERT_TRUE(parseReply("451 4.3.0x\r\n", reply));
    EXPECT_EQ(reply.enhanced, "");
    ASSERT_TRUE(parseReply("451 4.777.123 x\r\n", reply));
    EXPECT_EQ(reply.enhanced, "4.777.123");
}

// Backends that end lines with a bare LF are still understood.
TEST(ParseReplyTest, AcceptsBareLfLineEndings) {
    Reply reply;
    ASSERT_TRUE(parseReply("250-first\n250 2.0.0 second\n", reply));
    EXPECT_EQ(reply.enhanced, "2.0.0");
    EXPECT_EQ(reply.lines, (std::vector<std::string>{"first", "second"}));
}

// A code alone on its line is a complete reply with empty text.
TEST(ParseReplyTest, CodeOnly) {
    Reply reply;
    ASSERT_TRUE(parseReply("250\r\n", reply));
    EXPECT_EQ(reply.code, 250);
    EXPECT_EQ(reply.lines, std::vector<std::string>{""});
}

// What toWire writes, parseReply reads back unchanged.
TEST(ParseReplyTest, RoundTripsToWire) {
    const Reply original(550, "5.7.1", {"Relay access denied", "second line"});
    Reply parsed;
    ASSERT_TRUE(parseReply(original.toWire(), parsed));
    EXPECT_EQ(parsed.code, original.code);
    EXPECT_EQ(parsed.enhanced, original.enhanced);
    EXPECT_EQ(parsed.lines, original.lines);
}

// Malformed replies are refused and leave the output untouched.
TEST(ParseReplyTest, RejectsGarbage) {
    const std::vector<std::string> garbage = {
        "",
        "hello\r\n",
        "25 short\r\n",
        "2500 long code\r\n",
        "199 too low\r\n",
        "600 too high\r\n",
        "250x no separator\r\n",
        "250-only a continuation\r\n",
        "250-a\r\n251 different code\r\n",
        "250 final\r\n250 another reply\r\n",
        "250 embedded\rcr\r\n",
        "\r\n",
    };
    for (const std::string& wire : garbage) {
        Reply reply(421, "4.3.0", "untouched");
        EXPECT_FALSE(parseReply(wire, reply)) << wire;
        EXPECT_EQ(reply.code, 421) << wire;
    }
}

// --- framing ----------------------------------------------------------------------------------

// A complete one-line reply is its whole length; pipelined bytes after it are not included.
TEST(CompleteReplyLengthTest, SingleLine) {
    EXPECT_EQ(completeReplyLength("250 2.0.0 Ok\r\n"), 14u);
    EXPECT_EQ(completeReplyLength("250 2.0.0 Ok\r\n354 go\r\n"), 14u);
    EXPECT_EQ(completeReplyLength("250\r\n"), 5u);
}

// A multi-line reply is complete only once its last line has arrived.
TEST(CompleteReplyLengthTest, MultiLine) {
    const std::string wire = "250-mx\r\n250-PIPELINING\r\n250 SIZE\r\n";
    EXPECT_EQ(completeReplyLength(wire), wire.size());
    for (size_t cut = 0; cut < wire.size(); ++cut) {
        EXPECT_EQ(completeReplyLength(wire.substr(0, cut)), 0u) << cut;
    }
}

// Bare LF line ends from a backend frame replies too.
TEST(CompleteReplyLengthTest, BareLf) {
    EXPECT_EQ(completeReplyLength("250-a\n250 b\nNEXT"), 12u);
}

// The one-line form writes exactly what a Reply of one line writes, appended to what is there.
TEST(ReplyTest, AppendReplyLineMatchesReply) {
    const struct {
        int code;
        const char* enhanced;
        std::string text;
    } cases[] = {
        {250, "2.0.0", "Ok"},
        {354, "", "End data with <CR><LF>.<CR><LF>"},
        {221, "2.0.0", ""},
        {220, "", ""},
        {550, "5.7.1", "<a\r\nb@x.test>: Relay access denied"},
    };
    for (const auto& c : cases) {
        std::string out = "250 2.1.0 Ok\r\n";
        appendReplyLine(out, c.code, c.enhanced, c.text);
        EXPECT_EQ(out, "250 2.1.0 Ok\r\n" + Reply(c.code, c.enhanced, c.text).toWire());
    }
    std::string injected;
    appendReplyLine(injected, 550, "5.7.1", "a\r\n250 2.0.0 forged");
    EXPECT_EQ(injected, "550 5.7.1 a  250 2.0.0 forged\r\n");
}

// Partial first bytes that could still become a reply ask for more.
TEST(CompleteReplyLengthTest, IncompleteNeedsMore) {
    EXPECT_EQ(completeReplyLength(""), 0u);
    EXPECT_EQ(completeReplyLength("2"), 0u);
    EXPECT_EQ(completeReplyLength("25"), 0u);
    EXPECT_EQ(completeReplyLength("250"), 0u);
    EXPECT_EQ(completeReplyLength("250 Ok"), 0u);
    EXPECT_EQ(completeReplyLength("250 Ok\r"), 0u);
}

// Anything that cannot start a reply line is garbage, on any line of the reply.
TEST(CompleteReplyLengthTest, Garbage) {
    EXPECT_EQ(completeReplyLength("x"), kNpos);
    EXPECT_EQ(completeReplyLength("HTTP/1.1 200 OK\r\n"), kNpos);
    EXPECT_EQ(completeReplyLength("25\r\n"), kNpos);
    EXPECT_EQ(completeReplyLength("250x\r\n"), kNpos);
    EXPECT_EQ(completeReplyLength("250-a\r\nxyz\r\n"), kNpos);
}

// A line without LF within max_line bytes is garbage; a line of exactly max_line is fine.
TEST(CompleteReplyLengthTest, LineTooLong) {
    const std::string fits = "250 " + std::string(4, 'a') + "\r\n";  // 10 bytes
    EXPECT_EQ(completeReplyLength(fits, 10), 10u);
    EXPECT_EQ(completeReplyLength("250 aaaaa\r\n", 10), kNpos);
    EXPECT_EQ(completeReplyLength("250 aaaaaa", 10), kNpos);
    EXPECT_EQ(completeReplyLength("250 aaaaa", 10), 0u);
}

}  // namespace
}  // namespace mailgate::smtp
