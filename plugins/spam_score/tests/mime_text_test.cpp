// MIME decoding through GMime: transfer encodings, charsets, structure, and the bounds.
#include "mime_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

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

// The plain-message shortcut: for every message it takes, the facts are those GMime gives.
TEST_F(MimeTextTest, PlainShortcutGivesWhatGMimeGives) {
    const std::string ascii = "Hello,\r\n\r\nyou have won! Click here.\r\n-- \r\nsig\r\n";
    const std::vector<std::pair<std::string, std::string>> plain{
        {"", ascii},
        {"", "one line without an end"},
        {"", "=?utf-8?B?bm90IGRlY29kZWQ=?= in a body\r\n.leading dot\r\n\r\n\r\n"},
        {"", "tabs\tand ~ symbols {} <b>not html</b> &amp;\r\n"},
        {"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n", ascii},
        {"Content-Type: TEXT/Plain; charset=\"US-ASCII\"\r\n", ascii},
        {"Content-Type: text/plain;charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n", ascii},
        {"Content-Transfer-Encoding: 7BIT\r\n", ascii},
        {"Content-Type:  text/plain ; charset = utf-8 \r\nContent-Transfer-Encoding: binary\r\n",
         ascii},
    };
    for (const auto& [headers, body] : plain) {
        SCOPED_TRACE(headers + body);
        EXPECT_TRUE(isPlainAsciiText(headers, body));
        MessageFacts shortcut;
        MessageFacts gmime;
        EXPECT_TRUE(decodeMimeText(headers, body, limits_, shortcut));
        EXPECT_TRUE(decodeMimeTextWithGMime(headers, body, limits_, gmime));
        EXPECT_EQ(shortcut.text_parts, gmime.text_parts);
        EXPECT_EQ(shortcut.content_types, gmime.content_types);
    }
    limits_.max_text_size = 10;
    MessageFacts shortcut;
    MessageFacts gmime;
    decodeMimeText("", ascii, limits_, shortcut);
    decodeMimeTextWithGMime("", ascii, limits_, gmime);
    EXPECT_EQ(shortcut.text_parts, gmime.text_parts);
}

// The max_parts guard protects GMime's recursion, so it does not apply to a plain message: its
// body is its text whatever lines it holds, and the guard's line count is not paid for it.
TEST_F(MimeTextTest, PlainMessageIsNotCountedForTheGuard) {
    limits_.max_parts = 2;
    const std::string body = "Content-Type: one\r\ncontent-type: two\r\nCONTENT-TYPE: three\r\n";
    const MessageFacts facts = decode("", body);
    EXPECT_EQ(facts.text_parts, (std::vector<std::string>{body}));
    EXPECT_EQ(facts.content_types, (std::vector<std::string>{"text/plain"}));
}

// What decoding would change goes through GMime: another type or charset, a transfer
// encoding, 8-bit octets, parameters besides the charset, folded fields, an empty body.
TEST_F(MimeTextTest, PlainShortcutLeavesTheRestToGMime) {
    const std::string ascii = "plain words\r\n";
    const std::vector<std::pair<std::string, std::string>> not_plain{
        {"Content-Type: text/html\r\n", ascii},
        {"Content-Type: multipart/mixed; boundary=b\r\n", ascii},
        {"Content-Type: text/plain; charset=utf-16\r\n", ascii},
        {"Content-Type: text/plain; charset=iso-8859-1\r\n", ascii},
        {"Content-Type: text/plain; charset=utf-8; format=flowed\r\n", ascii},
        {"Content-Type: text/plain; charset=utf-8 (comment)\r\n", ascii},
        {"Content-Type: text/plain\r\nContent-Type: text/html\r\n", ascii},
        {"Content-Type: text/plain;\r\n charset=utf-8\r\n", ascii},
        {"Content-Transfer-Encoding: base64\r\n", "cGxhaW4=\r\n"},
        {"Content-Transfer-Encoding: quoted-printable\r\n", "soft=\r\nbreak\r\n"},
        {"", "caf\xC3\xA9\r\n"},
        {"", "a longer line of plain words with one \xE9 among them\r\n"},
        {"", ""},
    };
    for (const auto& [headers, body] : not_plain) {
        SCOPED_TRACE(headers + body);
        EXPECT_FALSE(isPlainAsciiText(headers, body));
    }
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
