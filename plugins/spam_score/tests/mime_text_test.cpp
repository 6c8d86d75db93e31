// MIME decoding through GMime: transfer encodings, charsets, structure, and the bounds.
#include "mime_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailgate::spam_score {
namespace {

class MimeTextTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { initMime(); }

    MessageFacts decode(const std::string& headers, const std::string& body,
                        bool expect_parsed = true) {
        MessageFacts facts;
        EXPECT_EQ(decodeMimeText(headers, body, limits_, facts), expect_parsed);
        return facts;
    }

    MimeLimits limits_;
};

// A message without MIME fields is one text/plain part, as is.
TEST_F(MimeTextTest, PlainMessage) {
    const MessageFacts facts = decode("", "hello\r\nworld\r\n");
    ASSERT_EQ(facts.text_parts.size(), 1u);
    EXPECT_EQ(facts.text_parts[0], "hello\r\nworld\r\n");
    EXPECT_EQ(facts.content_types, (std::vector<std::string>{"text/plain"}));
}

// Base64 and quoted-printable are decoded; charsets are converted to UTF-8.
TEST_F(MimeTextTest, TransferEncodingsAndCharsets) {
    MessageFacts facts = decode(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n",
        "eW91IGhhdmUgd29uIGEgcHJpemU=\r\n");
    ASSERT_EQ(facts.text_parts.size(), 1u);
    EXPECT_EQ(facts.text_parts[0], "you have won a prize");

    facts = decode(
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: "
        "quoted-printable\r\n",
        "Gr=FC=DFe, soft=\r\nbreak\r\n");
    ASSERT_EQ(facts.text_parts.size(), 1u);
    EXPECT_EQ(facts.text_parts[0],
              "Gr\xC3\xBC\xC3\x9F"
              "e, softbreak\r\n");
}

// Every text part of a multipart is decoded; other parts only give their type; attached
// messages are walked into.
TEST_F(MimeTextTest, Multipart) {
    const std::string body =
        "--b1\r\nContent-Type: text/plain\r\n\r\nplain part\r\n"
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
        "base64\r\n\r\n"
        "PGI+aHRtbCBwYXJ0PC9iPg==\r\n"
        "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: "
        "base64\r\n\r\n"
        "AAEC\r\n"
        "--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner text\r\n"
        "--b1--\r\n";
    const MessageFacts facts = decode("Content-Type: multipart/mixed; boundary=b1\r\n", body);
    EXPECT_EQ(facts.text_parts,
              (std::vector<std::string>{"plain part", "<b>html part</b>", "inner text"}));
    EXPECT_EQ(facts.content_types,
              (std::vector<std::string>{"text/plain", "text/html", "application/octet-stream",
                                        "text/plain"}));
}

std::string nested(int levels) {
    std::string body;
    for (int i = 0; i < levels; ++i) {
        body += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=b" +
                std::to_string(i + 1) + "\r\n\r\n";
    }
    body += "--b" + std::to_string(levels) + "\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n";
    for (int i = levels; i >= 0; --i) {
        body += "--b" + std::to_string(i) + "--\r\n";
    }
    return body;
}

// Parts nested deeper than max_depth are skipped.
TEST_F(MimeTextTest, DepthIsBounded) {
    limits_.max_depth = 3;
    const std::string top = "Content-Type: multipart/mixed; boundary=b0\r\n";
    EXPECT_EQ(decode(top, nested(2)).text_parts, (std::vector<std::string>{"deep text"}));
    EXPECT_TRUE(decode(top, nested(4)).text_parts.empty());
}

// With more Content-Type fields than max_parts the message is not parsed at all (a deep
// nesting would otherwise cost deep recursion): body rules see the raw body, cut to size.
TEST_F(MimeTextTest, TooManyPartsFallsBackToTheRawBody) {
    limits_.max_parts = 5;
    limits_.max_text_size = 100;
    const std::string body = nested(10);
    const MessageFacts facts =
        decode("Content-Type: multipart/mixed; boundary=b0\r\n", body, false);
    ASSERT_EQ(facts.text_parts.size(), 1u);
    EXPECT_EQ(facts.text_parts[0], body.substr(0, 100));
    EXPECT_TRUE(facts.content_types.empty());
}

// The decoded text is cut at max_text_size in total, across parts.
TEST_F(MimeTextTest, TextSizeIsBounded) {
    limits_.max_text_size = 12;
    const std::string body =
        "--b\r\nContent-Type: text/plain\r\n\r\n0123456789\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nabcdefghij\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nzzz\r\n--b--\r\n";
    const MessageFacts facts = decode("Content-Type: multipart/mixed; boundary=b\r\n", body);
    EXPECT_EQ(facts.text_parts, (std::vector<std::string>{"0123456789", "ab"}));
    EXPECT_EQ(facts.content_types.size(), 3u);
}

// Malformed MIME does not fail: a missing final boundary, a bad base64 alphabet.
TEST_F(MimeTextTest, MalformedInput) {
    MessageFacts facts = decode("Content-Type: multipart/mixed; boundary=b\r\n",
                                "--b\r\nContent-Type: text/plain\r\n\r\nunterminated\r\n");
    EXPECT_EQ(facts.text_parts, (std::vector<std::string>{"unterminated\r\n"}));
    facts =
        decode("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n", "!!!@@@\r\n");
    EXPECT_EQ(facts.text_parts.size(), 1u);
    facts = decode("Content-Type: multipart/mixed\r\n", "no boundary parameter\r\n");
    EXPECT_LE(facts.text_parts.size(), 1u);
}

// Header values: unfolded, trimmed, encoded words decoded.
TEST_F(MimeTextTest, HeaderValues) {
    EXPECT_EQ(decodeHeaderValue(" plain  "), "plain");
    EXPECT_EQ(decodeHeaderValue(" folded\r\n\tline"), "folded\tline");
    EXPECT_EQ(decodeHeaderValue(" =?utf-8?B?RlJFRSBNT05FWQ==?="), "FREE MONEY");
    EXPECT_EQ(decodeHeaderValue(" =?iso-8859-1?Q?Gr=FC=DFe?="),
              "Gr\xC3\xBC\xC3\x9F"
              "e");
    EXPECT_EQ(decodeHeaderValue("   "), "");
}

}  // namespace
}  // namespace mailgate::spam_score
