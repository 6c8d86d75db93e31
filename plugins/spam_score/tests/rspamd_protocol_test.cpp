// Rspamd (/checkv2): the request head, the JSON reply, and the HTTP reply read piece by piece.
#include "rspamd_protocol.hpp"

#include <gtest/gtest.h>

namespace mailgate::spam_score {
namespace {

const char* const kGtube =
    R"({"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject",)"
    R"("symbols":{"GTUBE":{"name":"GTUBE","score":0.0,"metric_score":0.0}},)"
    R"("messages":{"smtp_message":"Gtube pattern"},"message-id":"undef"})";

ScanResult readReply(const std::string& reply, std::size_t piece, bool close) {
    RspamdReplyReader reader;
    for (std::size_t at = 0; at < reply.size() && !reader.done(); at += piece) {
        reader.feed(std::string_view(reply).substr(at, piece));
    }
    if (close && !reader.done()) {
        reader.eof();
    }
    EXPECT_TRUE(reader.done());
    return reader.result();
}

std::string http(const std::string& status, const std::string& body) {
    return "HTTP/1.1 " + status + "\r\nConnection: close\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The envelope goes in Rspamd's request headers; a value with CR or LF is left out.
TEST(RspamdProtocolTest, RequestHead) {
    RspamdEnvelope envelope{"192.0.2.7",        "client.example",
                            "a@remote.example", {"x@example.test", "y@example.test"},
                            "abc123",           ""};
    EXPECT_EQ(rspamdRequestHead("127.0.0.1:11333", 167, &envelope),
              "POST /checkv2 HTTP/1.1\r\nHost: 127.0.0.1:11333\r\nContent-Length: 167\r\n"
              "Connection: close\r\nIP: 192.0.2.7\r\nHelo: client.example\r\n"
              "From: a@remote.example\r\nRcpt: x@example.test\r\nRcpt: y@example.test\r\n"
              "Queue-Id: abc123\r\n\r\n");
    envelope.helo = "evil\r\nRcpt: z@example.test";
    envelope.user = "joe";
    const std::string head = rspamdRequestHead("h:1", 1, &envelope);
    EXPECT_EQ(head.find("evil"), std::string::npos) << head;
    EXPECT_NE(head.find("User: joe\r\n"), std::string::npos) << head;
    EXPECT_EQ(rspamdRequestHead("h:1", 5, nullptr),
              "POST /checkv2 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 5\r\n"
              "Connection: close\r\n\r\n");
}

// Rspamd 3.4's reply to GTUBE.
TEST(RspamdProtocolTest, GtubeReply) {
    const ScanResult result = parseRspamdJson(kGtube);
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_DOUBLE_EQ(result.score, 15.0);
    EXPECT_DOUBLE_EQ(result.required, 15.0);
    EXPECT_EQ(result.action, "reject");
    EXPECT_TRUE(result.spam);
    ASSERT_EQ(result.symbols.size(), 1u);
    EXPECT_EQ(result.symbols[0].name, "GTUBE");
}

// Symbols come strongest first (then by name), with their descriptions; integers are numbers.
TEST(RspamdProtocolTest, SymbolsOrderedAndDescribed) {
    const ScanResult result = parseRspamdJson(
        R"({"score":3,"required_score":15,"action":"no action","symbols":{)"
        R"("B":{"score":0.5},"A":{"score":-2.5,"description":"Known"},"C":{"score":0.5},)"
        R"("D":{}}})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_FALSE(result.spam);
    ASSERT_EQ(result.symbols.size(), 4u);
    EXPECT_EQ(result.symbols[0].name, "A");
    EXPECT_EQ(result.symbols[0].description, "Known");
    EXPECT_DOUBLE_EQ(result.symbols[0].score, -2.5);
    EXPECT_EQ(result.symbols[1].name, "B");
    EXPECT_EQ(result.symbols[2].name, "C");
    EXPECT_EQ(result.symbols[3].name, "D");
}

TEST(RspamdProtocolTest, SymbolsAreBounded) {
    std::string json = R"({"score":1,"required_score":15,"action":"no action","symbols":{)";
    for (int i = 0; i < 80; ++i) {
        json += (i ? "," : "") + std::string("\"S") + std::to_string(i) +
                "\":{\"score\":" + std::to_string(i) + "}";
    }
    json += "}}";
    const ScanResult result = parseRspamdJson(json);
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.symbols.size(), kMaxScannerSymbols);
    EXPECT_EQ(result.symbols[0].name, "S79");
}

// Broken JSON and missing or mistyped fields are failures with a reason.
TEST(RspamdProtocolTest, MalformedJson) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "not JSON"},
        {"{\"score\":1", "not JSON"},
        {"[1,2]", "not a JSON object"},
        {R"({"required_score":15,"action":"reject"})", "\"score\""},
        {R"({"score":"15","required_score":15,"action":"reject"})", "\"score\""},
        {R"({"score":15,"action":"reject"})", "\"required_score\""},
        {R"({"score":15,"required_score":15})", "\"action\""},
        {R"({"score":15,"required_score":15,"action":""})", "\"action\""},
        {R"({"score":15,"required_score":15,"action":7})", "\"action\""},
        {R"({"score":1,"required_score":15,"action":"x","symbols":[]})", "\"symbols\""},
        {R"({"score":1,"required_score":15,"action":"x","symbols":{"A":1}})", "not an object"},
        {R"({"score":1,"required_score":15,"action":"x","symbols":{"A":{"score":"2"}}})",
         "malformed score"},
    };
    for (const auto& [json, reason] : cases) {
        const ScanResult result = parseRspamdJson(json);
        EXPECT_FALSE(result.ok) << json;
        EXPECT_NE(result.error.find(reason), std::string::npos) << json << " -> " << result.error;
    }
}

// A reply read one octet at a time, or in one piece, or chunked, or up to the connection's end.
TEST(RspamdProtocolTest, HttpReplyInPieces) {
    const std::string reply = http("200 OK", kGtube);
    for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, reply.size()}) {
        const ScanResult result = readReply(reply, piece, false);
        ASSERT_TRUE(result.ok) << result.error;
        EXPECT_EQ(result.action, "reject");
    }
    const std::string body = kGtube;
    const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                std::string("10\r\n") + body.substr(0, 16) + "\r\n" +
                                [&] {
                                    char size[16];
                                    std::snprintf(size, sizeof size, "%zx", body.size() - 16);
                                    return std::string(size);
                                }() +
                                "\r\n" + body.substr(16) + "\r\n0\r\n\r\n";
    EXPECT_TRUE(readReply(chunked, 5, false).ok);
    EXPECT_TRUE(readReply("HTTP/1.1 200 OK\r\n\r\n" + body, 9, true).ok);
}

// HTTP errors, a reply cut short, garbage and an oversized body are failures.
TEST(RspamdProtocolTest, BrokenHttpReplies) {
    ScanResult result =
        readReply(http("500 Internal Server Error", R"({"error":"no memory"})"), 100, true);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "Rspamd answered HTTP 500: no memory");
    result = readReply(http("404 Not Found", "nope"), 100, true);
    EXPECT_EQ(result.error, "Rspamd answered HTTP 404");
    result = readReply("", 1, true);
    EXPECT_EQ(result.error, "Rspamd closed the connection without a reply");
    result = readReply("HTTP/1.1 200 OK\r\nContent-Len", 4, true);
    EXPECT_EQ(result.error, "Rspamd reply ends inside its header");
    result = readReply(http("200 OK", kGtube).substr(0, 150), 50, true);
    EXPECT_NE(result.error.find("cut short"), std::string::npos) << result.error;
    result = readReply("SPAMD/1.1 0 EX_OK\r\n\r\n", 50, true);
    EXPECT_NE(result.error.find("malformed HTTP reply"), std::string::npos) << result.error;
    result = readReply(
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kMaxScannerReply + 1) + "\r\n\r\n",
        100, true);
    EXPECT_NE(result.error.find("malformed HTTP reply"), std::string::npos) << result.error;
    result = readReply(http("200 OK", "{\"score\": 1}"), 100, true);
    EXPECT_NE(result.error.find("\"required_score\""), std::string::npos) << result.error;
}

}  // namespace
}  // namespace mailgate::spam_score
