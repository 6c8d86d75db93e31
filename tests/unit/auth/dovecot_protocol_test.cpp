#include "core/auth/dovecot_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/auth/sasl.hpp"

namespace mailgate::auth {
namespace {

using Kind = DovecotVerdict::Kind;
using Status = DovecotHandshake::Status;

// What Dovecot 2.3's auth-client socket sends on connecting.
const std::vector<std::string> kDovecotHandshake = {
    "VERSION\t1\t2",
    "MECH\tPLAIN\tplaintext",
    "MECH\tLOGIN\tplaintext",
    "SPID\t4242",
    "CUID\t7",
    "COOKIE\t0123456789abcdef0123456789abcdef",
    "DONE",
};

// Escaping covers exactly NUL, \001, TAB, CR and LF, and unescaping undoes it.
TEST(DovecotEscapeTest, RoundTrips) {
    const std::string raw("a\tb\nc\rd\001e\0f", 11);
    EXPECT_EQ(dovecotEscape(raw), std::string("a\001tb\001nc\001rd\0011e\0010f"));
    EXPECT_EQ(dovecotUnescape(dovecotEscape(raw)), raw);
    EXPECT_EQ(dovecotEscape("alice@example.test"), "alice@example.test");
    EXPECT_EQ(dovecotUnescape("x\001ly"), "xly");  // an unknown escape is the character itself
    EXPECT_EQ(dovecotUnescape("x\001"), "x");      // a trailing escape stands for nothing
}

// Names with TAB, LF or NUL are refused before Dovecot is asked; others are not.
TEST(DovecotNameTest, RefusesLineBreakingCharacters) {
    EXPECT_FALSE(dovecotRefusesName("alice@example.test"));
    EXPECT_FALSE(dovecotRefusesName("with space\rand cr"));
    EXPECT_TRUE(dovecotRefusesName("a\tb"));
    EXPECT_TRUE(dovecotRefusesName("a\nb"));
    EXPECT_TRUE(dovecotRefusesName(std::string("a\0b", 3)));
}

// The client's handshake and its AUTH line, with the PLAIN message in base64.
TEST(DovecotRequestTest, FormatsHelloAndAuth) {
    EXPECT_EQ(dovecotHello(1234), "VERSION\t1\t2\nCPID\t1234\n");
    DovecotAuthRequest request{7, "alice", "pa\tss\nword", true, "127.0.0.1", "::1", "s1\tevil"};
    const std::string line = dovecotAuthLine(request);
    const std::string resp = encodeBase64(std::string("\0alice\0pa\tss\nword", 17));
    EXPECT_EQ(line,
              "AUTH\t7\tPLAIN\tservice=smtp\tnologin\tno-penalty\tsecured\tsession=s1\001tevil"
              "\tlip=127.0.0.1\trip=::1\tresp=" +
                  resp + "\n");
    request.secured = false;
    request.session.clear();
    request.local_ip.clear();
    request.remote_ip.clear();
    EXPECT_EQ(dovecotAuthLine(request),
              "AUTH\t7\tPLAIN\tservice=smtp\tnologin\tno-penalty\tresp=" + resp + "\n");
}

// Dovecot's real handshake ends at DONE; PLAIN must be offered.
TEST(DovecotHandshakeTest, AcceptsDovecotsHandshake) {
    DovecotHandshake handshake;
    for (size_t i = 0; i + 1 < kDovecotHandshake.size(); ++i) {
        EXPECT_EQ(handshake.feed(kDovecotHandshake[i]), Status::More) << kDovecotHandshake[i];
    }
    EXPECT_EQ(handshake.feed("DONE"), Status::Done);
}

// Everything that is not the protocol fails the handshake, with a reason for the log.
TEST(DovecotHandshakeTest, RefusesWhatIsNotTheProtocol) {
    struct Case {
        std::vector<std::string> lines;
        std::string why;
    };
    const std::vector<Case> cases = {
        {{"220 smtp.example ESMTP"}, "expected VERSION, got '220 smtp.example ESMTP'"},
        {{"VERSION\t2\t0"}, "protocol version 2 is not 1"},
        {{"VERSION\tone\t0"}, "expected VERSION"},
        {{"VERSION\t1"}, "expected VERSION"},
        {{"VERSION\t1\t2", "MECH\tLOGIN", "DONE"}, "PLAIN is not among its mechanisms"},
        {{"VERSION\t1\t2", "HELLO"}, "unexpected handshake line 'HELLO'"},
        {{"VERSION\t1\t2", "OK\t1\tuser=x"}, "unexpected handshake line"},
    };
    for (const Case& c : cases) {
        DovecotHandshake handshake;
        Status status = Status::More;
        for (const std::string& line : c.lines) {
            status = handshake.feed(line);
        }
        EXPECT_EQ(status, Status::Failed) << c.why;
        EXPECT_NE(handshake.why().find(c.why), std::string::npos) << handshake.why();
    }
}

// OK gives Dovecot's canonical user=, unescaped.
TEST(DovecotReplyTest, OkCarriesTheCanonicalUser) {
    DovecotVerdict verdict = parseDovecotReply("OK\t1\tuser=alice@example.test", 1);
    EXPECT_EQ(verdict.kind, Kind::Verified);
    EXPECT_EQ(verdict.user, "alice@example.test");
    verdict = parseDovecotReply("OK\t3\tuser=a\001lb\tother=x", 3);
    EXPECT_EQ(verdict.kind, Kind::Verified);
    EXPECT_EQ(verdict.user, "alb");
}

// FAIL is a refusal (535), unless Dovecot marks it temporary (454).
TEST(DovecotReplyTest, FailIsRefusedOrTemporary) {
    DovecotVerdict verdict = parseDovecotReply("FAIL\t1\tuser=alice", 1);
    EXPECT_EQ(verdict.kind, Kind::Refused);
    EXPECT_EQ(verdict.detail, "");
    verdict = parseDovecotReply("FAIL\t1\treason=Password expired\001t!", 1);
    EXPECT_EQ(verdict.kind, Kind::Refused);
    EXPECT_EQ(verdict.detail, "Password expired?!");  // control characters masked for the log
    verdict = parseDovecotReply("FAIL\t1\ttemp", 1);
    EXPECT_EQ(verdict.kind, Kind::Unavailable);
    verdict = parseDovecotReply("FAIL\t1\tcode=temp_fail\treason=db down", 1);
    EXPECT_EQ(verdict.kind, Kind::Unavailable);
    EXPECT_EQ(verdict.detail, "temporary failure: db down");
}

// Anything else is not an answer we can trust: Unavailable (454), never Verified.
TEST(DovecotReplyTest, GarbageIsUnavailable) {
    for (const std::string line :
         {"", "garbage", "OK", "OK\t2\tuser=alice", "OK\tx\tuser=alice", "OK\t1",
          "OK\t1\tuser=", "OK\t1\tuser=a\001nb", "OK\t1\tuser=a\001tb", "CONT\t1\t", "FAIL",
          "NOTFOUND\t1", "ok\t1\tuser=alice"}) {
        DovecotVerdict verdict = parseDovecotReply(line, 1);
        EXPECT_EQ(verdict.kind, Kind::Unavailable) << line;
        EXPECT_FALSE(verdict.detail.empty()) << line;
    }
    EXPECT_EQ(parseDovecotReply("OK\t1\tuser=" + std::string(256, 'a'), 1).kind, Kind::Unavailable);
}

}  // namespace
}  // namespace mailgate::auth
