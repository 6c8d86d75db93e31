#include "core/ops/message_summary.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailgate::ops {
namespace {

// The line written for `summary` in `format`, without its timestamp.
std::string written(const MessageSummary& summary, LogFormat format) {
    setLogFormat(format);
    testing::internal::CaptureStderr();
    logMessageSummary(summary);
    std::string line = testing::internal::GetCapturedStderr();
    setLogFormat(LogFormat::Text);
    const size_t after_time = format == LogFormat::Json ? line.find(",\"level\"") : 25;
    return line.substr(after_time);
}

MessageSummary scored() {
    MessageSummary s;
    s.session_id = "abc";
    s.id = "abc.2";
    s.client = "192.0.2.1";
    s.helo = "client.example";
    s.from = "a@example.org";
    s.to = {"b@example.test", "c@example.test"};
    s.size = 42;
    s.outcome = "rejected";
    s.decided_by = "spam";
    s.scored = true;
    s.score = 7.5;
    s.symbols = {{"BAD", 7.0}, {"WORSE", 0.5}};
    s.reply = "554 5.7.1 Go away";
    s.duration_ms = 12;
    return s;
}

// The text line keeps the format of the core issue, field for field.
TEST(MessageSummary, TextLine) {
    EXPECT_EQ(written(scored(), LogFormat::Text),
              "info [abc] message id=abc.2 client=192.0.2.1 helo=client.example "
              "from=<a@example.org> to=<b@example.test>,<c@example.test> size=42 "
              "outcome=rejected decided_by=spam score=7.50 symbols=BAD(7.00),WORSE(0.50) "
              "reply=\"554 5.7.1 Go away\" duration_ms=12\n");
}

// Missing values are "-" in text; the null sender is "<>"; no score without symbols.
TEST(MessageSummary, TextLineWithoutValues) {
    MessageSummary s;
    s.session_id = "abc";
    s.id = "abc.1";
    s.client = "::1";
    s.outcome = "aborted";
    EXPECT_EQ(written(s, LogFormat::Text),
              "info [abc] message id=abc.1 client=::1 helo=- from=<> to=- size=0 "
              "outcome=aborted decided_by=- reply=- duration_ms=0\n");
}

// JSON: one key per field, lists as arrays, missing values as null, numbers as numbers.
TEST(MessageSummary, JsonObject) {
    EXPECT_EQ(written(scored(), LogFormat::Json),
              ",\"level\":\"info\",\"session\":\"abc\",\"transaction\":\"abc.2\","
              "\"event\":\"message\",\"id\":\"abc.2\",\"client\":\"192.0.2.1\","
              "\"helo\":\"client.example\",\"from\":\"a@example.org\","
              "\"to\":[\"b@example.test\",\"c@example.test\"],\"size\":42,"
              "\"outcome\":\"rejected\",\"decided_by\":\"spam\",\"score\":7.50,"
              "\"symbols\":[{\"name\":\"BAD\",\"score\":7.00},{\"name\":\"WORSE\",\"score\":0.50}],"
              "\"reply\":\"554 5.7.1 Go away\",\"duration_ms\":12}\n");
    MessageSummary bare;
    bare.session_id = "s";
    bare.id = "s.1";
    bare.helo = "bad\x01name\xff";
    EXPECT_EQ(written(bare, LogFormat::Json),
              ",\"level\":\"info\",\"session\":\"s\",\"transaction\":\"s.1\",\"event\":\"message\","
              "\"id\":\"s.1\",\"client\":null,\"helo\":\"bad\\u0001name\\\\xff\",\"from\":\"\","
              "\"to\":[],\"size\":0,\"outcome\":null,\"decided_by\":null,\"reply\":null,"
              "\"duration_ms\":0}\n");
}

}  // namespace
}  // namespace mailgate::ops
