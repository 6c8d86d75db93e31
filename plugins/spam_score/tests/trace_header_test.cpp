// The Received field rebuilt for spamd: mailgate's format, hostile HELO text defused.
#include "trace_header.hpp"

#include <gtest/gtest.h>

namespace mailgate::spam_score {
namespace {

TEST(TraceHeaderTest, Format) {
    EXPECT_EQ(traceHeader({"client.example", "192.0.2.1", "mx.example", "abc", 1795946400}),
              "Received: from client.example ([192.0.2.1])\r\n\tby mx.example (mailgate) with "
              "ESMTP id abc;\r\n\tSun, 29 Nov 2026 10:00:00 +0000\r\n");
    EXPECT_EQ(traceHeader({"", "2001:db8::1", "mx", "x", 0}),
              "Received: from unknown ([IPv6:2001:db8::1])\r\n\tby mx (mailgate) with ESMTP id "
              "x;\r\n\tThu, 01 Jan 1970 00:00:00 +0000\r\n");
}

// A HELO cannot end the comment, start a new line or fake another field.
TEST(TraceHeaderTest, SanitizesClientText) {
    const std::string header =
        traceHeader({"evil)\r\nX-Spam-Flag: NO; (", "192.0.2.1", "mx", "id", 0});
    EXPECT_EQ(header.rfind("Received: from evil???X-Spam-Flag:?NO??? ([192.0.2.1])", 0), 0u)
        << header;
}

}  // namespace
}  // namespace mailgate::spam_score
