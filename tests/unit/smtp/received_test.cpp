#include "core/smtp/received.hpp"

#include <gtest/gtest.h>
#include <mailgate/trace_text.hpp>

namespace mailgate::smtp {
namespace {

TraceInfo sampleTrace() {
    TraceInfo trace;
    trace.helo = "client.example";
    trace.client_ip = "192.0.2.7";
    trace.hostname = "mx.example.test";
    trace.protocol = "ESMTP";
    trace.id = "abc.1";
    trace.single_recipient = "user@example.test";
    trace.when = 1796000000;  // a fixed instant
    return trace;
}

// The header follows RFC 5321 4.4: from, by, with, id, for, then the date, folded with TABs.
TEST(ReceivedTest, StandardForm) {
    EXPECT_EQ(receivedHeader(sampleTrace()),
              "Received: from client.example ([192.0.2.7])\r\n"
              "\tby mx.example.test (mailgate) with ESMTP id abc.1\r\n"
              "\tfor <user@example.test>; " +
                  mailgate::trace::date(1796000000) + "\r\n");
}

// IPv6 clients are written as IPv6 address literals.
TEST(ReceivedTest, Ipv6AddressLiteral) {
    TraceInfo trace = sampleTrace();
    trace.client_ip = "::1";
    EXPECT_NE(receivedHeader(trace).find("([IPv6:::1])"), std::string::npos);
}

// Without exactly one recipient there is no "for" clause.
TEST(ReceivedTest, NoForClauseForSeveralRecipients) {
    TraceInfo trace = sampleTrace();
    trace.single_recipient = {};
    EXPECT_EQ(receivedHeader(trace).find("for <"), std::string::npos);
}

// Client-chosen HELO text cannot break the header: controls and comment characters are replaced.
TEST(ReceivedTest, SanitizesHelo) {
    TraceInfo trace = sampleTrace();
    trace.helo = "evil\r\nX-Injected: yes (x)";
    const std::string header = receivedHeader(trace);
    EXPECT_EQ(header.find("\r\nX-Injected"), std::string::npos);
    EXPECT_NE(header.find("from evil??X-Injected:?yes??x?"), std::string::npos);
}

// Dates are RFC 5322 in UTC.
TEST(ReceivedTest, DateFormat) {
    EXPECT_EQ(mailgate::trace::date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

// With TLS, Postfix's comment line stands between "from" and "by".
TEST(ReceivedTest, TlsComment) {
    TraceInfo trace = sampleTrace();
    const std::string tls = tlsSummary("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, 256);
    trace.tls = tls;
    trace.protocol = "ESMTPS";
    EXPECT_EQ(receivedHeader(trace),
              "Received: from client.example ([192.0.2.7])\r\n"
              "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
              "\tby mx.example.test (mailgate) with ESMTPS id abc.1\r\n"
              "\tfor <user@example.test>; " +
                  mailgate::trace::date(1796000000) + "\r\n");
}

// RFC 3848 and RFC 6531 protocol names.
TEST(ReceivedTest, ProtocolNames) {
    EXPECT_EQ(receivedProtocol(false, false, false, false), "SMTP");
    EXPECT_EQ(receivedProtocol(true, false, false, false), "ESMTP");
    EXPECT_EQ(receivedProtocol(true, false, true, false), "ESMTPS");
    EXPECT_EQ(receivedProtocol(true, false, false, true), "ESMTPA");
    EXPECT_EQ(receivedProtocol(true, false, true, true), "ESMTPSA");
    EXPECT_EQ(receivedProtocol(true, true, true, false), "UTF8SMTPS");
    EXPECT_EQ(receivedProtocol(true, true, true, true), "UTF8SMTPSA");
}

// The SDK's word rules: each refused byte becomes '?', the length is cut, nothing is "unknown",
// and appendWord keeps what the string held before.
TEST(ReceivedTest, TraceWords) {
    EXPECT_EQ(mailgate::trace::word("a(b)c\\d<e>f;g h\x7f\x80"), "a?b?c?d?e?f?g?h??");
    EXPECT_EQ(mailgate::trace::word("abcdef", 3), "abc");
    EXPECT_EQ(mailgate::trace::word(""), "unknown");
    EXPECT_EQ(mailgate::trace::word("abc", 0), "unknown");
    std::string out = "from ";
    mailgate::trace::appendWord(out, "x;y");
    mailgate::trace::appendWord(out, "");
    EXPECT_EQ(out, "from x?yunknown");
}

}  // namespace
}  // namespace mailgate::smtp
