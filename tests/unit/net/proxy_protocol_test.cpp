#include "core/net/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailgate::net::proxy {
namespace {

using namespace std::string_literals;

const std::string kSignature = "\r\n\r\n\0\r\nQUIT\n"s;

// A version 2 header: signature, version/command, family/transport, length, then the block.
std::string v2(uint8_t version_command, uint8_t family_transport, const std::string& block) {
    std::string header = kSignature;
    header.push_back(static_cast<char>(version_command));
    header.push_back(static_cast<char>(family_transport));
    header.push_back(static_cast<char>(block.size() >> 8));
    header.push_back(static_cast<char>(block.size() & 0xff));
    return header + block;
}

std::string inetBlock() {
    // 192.0.2.1:54321 -> 198.51.100.7:25
    return "\xc0\x00\x02\x01"s + "\xc6\x33\x64\x07"s + "\xd4\x31"s + "\x00\x19"s;
}

std::string inet6Block() {
    std::string source(16, '\0');
    source[0] = '\x20';
    source[1] = '\x01';
    source[2] = '\x0d';
    source[3] = '\xb8';
    source[15] = '\x05';
    std::string destination(16, '\0');
    destination[15] = '\x01';
    return source + destination + "\x01\xbb"s + "\x00\x19"s;
}

std::string tlv(uint8_t type, const std::string& value) {
    std::string record(1, static_cast<char>(type));
    record.push_back(static_cast<char>(value.size() >> 8));
    record.push_back(static_cast<char>(value.size() & 0xff));
    return record + value;
}

void expectInvalid(const std::string& data, const std::string& why_contains) {
    const ParseResult result = parseHeader(data);
    ASSERT_EQ(result.status, Status::Invalid) << "input: " << testing::PrintToString(data);
    EXPECT_NE(result.error.find(why_contains), std::string::npos) << result.error;
}

// Every proper prefix of a valid header is Incomplete, never Invalid: a header split across
// TCP segments at any point is read whole.
void expectPrefixesIncomplete(const std::string& header) {
    for (size_t n = 0; n < header.size(); ++n) {
        const ParseResult result = parseHeader(header.substr(0, n));
        ASSERT_EQ(result.status, Status::Incomplete) << "prefix of " << n << " octets";
        EXPECT_GT(result.wanted, n);
    }
}

// --- version 1 ---------------------------------------------------------------------------------

// A TCP4 line gives both addresses and ports; the bytes after the CRLF are not part of it.
TEST(ProxyV1, Tcp4) {
    const std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 54321 25\r\n";
    const ParseResult result = parseHeader(line + "EHLO x\r\n");
    ASSERT_EQ(result.status, Status::Complete) << result.error;
    EXPECT_EQ(result.length, line.size());
    EXPECT_EQ(result.header.version, 1);
    ASSERT_TRUE(result.header.source && result.header.destination);
    EXPECT_EQ(result.header.source->address.to_string(), "192.0.2.1");
    EXPECT_EQ(result.header.source->port, 54321);
    EXPECT_EQ(result.header.destination->address.to_string(), "198.51.100.7");
    EXPECT_EQ(result.header.destination->port, 25);
    expectPrefixesIncomplete(line);
}

// TCP6 with compressed addresses.
TEST(ProxyV1, Tcp6) {
    const std::string line = "PROXY TCP6 2001:db8::5 ::1 443 25\r\n";
    const ParseResult result = parseHeader(line);
    ASSERT_EQ(result.status, Status::Complete) << result.error;
    EXPECT_EQ(result.header.source->address.to_string(), "2001:db8::5");
    EXPECT_TRUE(result.header.source->address.is_v6());
    EXPECT_EQ(result.header.destination->address.to_string(), "::1");
    expectPrefixesIncomplete(line);
}

// UNKNOWN: no addresses, and whatever follows on the line is ignored.
TEST(ProxyV1, Unknown) {
    for (const std::string& line : {"PROXY UNKNOWN\r\n"s, "PROXY UNKNOWN ffff:: ffff:: 1 2\r\n"s,
                                    "PROXY UNKNOWN junk\r\n"s}) {
        const ParseResult result = parseHeader(line);
        ASSERT_EQ(result.status, Status::Complete) << line << result.error;
        EXPECT_EQ(result.length, line.size());
        EXPECT_FALSE(result.header.source);
        EXPECT_FALSE(result.header.destination);
        expectPrefixesIncomplete(line);
    }
}

// The longest legal line (107 octets: UNKNOWN with two full IPv6 addresses) is accepted; one
// more octet is refused. The longest TCP6 line is 104 octets.
TEST(ProxyV1, LengthLimit) {
    const std::string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const std::string longest = "PROXY UNKNOWN " + full + " " + full + " 65535 65535\r\n";
    ASSERT_EQ(longest.size(), kMaxV1Length);
    EXPECT_EQ(parseHeader(longest).status, Status::Complete);
    const std::string tcp6 = "PROXY TCP6 " + full + " " + full + " 65535 65535\r\n";
    EXPECT_EQ(parseHeader(tcp6).status, Status::Complete);
    expectInvalid("PROXY UNKNOWN " + full + " " + full + " 65535 655355\r\n", "longer than 107");
    expectInvalid("PROXY TCP4 " + std::string(200, '1'), "longer than 107");
}

// Every malformed line is refused with a reason.
TEST(ProxyV1, Malformed) {
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321 25\n", "bare LF");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321 25\rX", "bare CR");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321\r\n", "4 fields");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321 25 9\r\n", "4 fields");
    expectInvalid("PROXY TCP4  192.0.2.1 198.51.100.7 54321 25\r\n", "4 fields");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321 25 \r\n", "4 fields");
    expectInvalid("PROXY TCP4\t192.0.2.1 198.51.100.7 54321 25\r\n", "control");
    expectInvalid("PROXY TCP5 192.0.2.1 198.51.100.7 54321 25\r\n", "TCP4, TCP6 or UNKNOWN");
    expectInvalid("PROXY tcp4 192.0.2.1 198.51.100.7 54321 25\r\n", "TCP4, TCP6 or UNKNOWN");
    expectInvalid("PROXY \r\n", "TCP4, TCP6 or UNKNOWN");
    expectInvalid("PROXY UNKNOWNX\r\n", "TCP4, TCP6 or UNKNOWN");
    expectInvalid("PROXY TCP4 2001:db8::1 198.51.100.7 54321 25\r\n", "IPv4 address");
    expectInvalid("PROXY TCP6 192.0.2.1 ::1 54321 25\r\n", "IPv6 address");
    expectInvalid("PROXY TCP6 fe80::1%eth0 ::1 54321 25\r\n", "IPv6 address");
    expectInvalid("PROXY TCP4 192.0.2.256 198.51.100.7 54321 25\r\n", "IPv4 address");
    expectInvalid("PROXY TCP4 192.0.2 198.51.100.7 54321 25\r\n", "IPv4 address");
    expectInvalid("PROXY TCP4 192.0.2.01 198.51.100.7 54321 25\r\n", "IPv4 address");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 65536 25\r\n", "port");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 025 25\r\n", "port");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 -1 25\r\n", "port");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321 +25\r\n", "port");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321 123456\r\n", "port");
    expectInvalid("PROXY TCP4 192.0.2.1 198.51.100.7 54321 2\x00"s + "5\r\n", "control");
    expectInvalid("PROXY UNKNOWN \xff\r\n", "control");
}

// Port 0 is a valid port number in the header.
TEST(ProxyV1, PortZero) {
    const ParseResult result = parseHeader("PROXY TCP4 192.0.2.1 198.51.100.7 0 0\r\n");
    ASSERT_EQ(result.status, Status::Complete) << result.error;
    EXPECT_EQ(result.header.source->port, 0);
}

// --- detection ---------------------------------------------------------------------------------

// Anything that is neither header is refused at once, including SMTP from a client talking
// straight to a PROXY listener; the starts of both headers wait for more.
TEST(ProxyDetect, NotAHeader) {
    expectInvalid("EHLO client.example\r\n", "not a PROXY");
    expectInvalid("proxy TCP4", "not a PROXY");
    expectInvalid("PROXY\r\n", "not a PROXY");
    expectInvalid("\r\n\r\n\0\r\nQUIX\n"s, "not a PROXY");
    expectInvalid("\x16\x03\x01", "not a PROXY");
    EXPECT_EQ(parseHeader("").status, Status::Incomplete);
    EXPECT_EQ(parseHeader("PRO").status, Status::Incomplete);
    EXPECT_EQ(parseHeader("\r\n\r").status, Status::Incomplete);
}

// --- version 2 ---------------------------------------------------------------------------------

// PROXY over TCP/IPv4: the addresses come from the block.
TEST(ProxyV2, Inet) {
    const std::string header = v2(0x21, 0x11, inetBlock());
    const ParseResult result = parseHeader(header + "junk");
    ASSERT_EQ(result.status, Status::Complete) << result.error;
    EXPECT_EQ(result.length, header.size());
    EXPECT_EQ(result.header.version, 2);
    EXPECT_EQ(result.header.source->address.to_string(), "192.0.2.1");
    EXPECT_EQ(result.header.source->port, 54321);
    EXPECT_EQ(result.header.destination->address.to_string(), "198.51.100.7");
    EXPECT_EQ(result.header.destination->port, 25);
    expectPrefixesIncomplete(header);
}

// PROXY over TCP/IPv6.
TEST(ProxyV2, Inet6) {
    const std::string header = v2(0x21, 0x21, inet6Block());
    const ParseResult result = parseHeader(header);
    ASSERT_EQ(result.status, Status::Complete) << result.error;
    EXPECT_EQ(result.header.source->address.to_string(), "2001:db8::5");
    EXPECT_EQ(result.header.source->port, 443);
    EXPECT_EQ(result.header.destination->address.to_string(), "::1");
    expectPrefixesIncomplete(header);
}

// Once the fixed part is in, `wanted` is the exact size of the whole header.
TEST(ProxyV2, WantedIsExact) {
    const std::string header = v2(0x21, 0x11, inetBlock() + tlv(0x04, "noop"));
    EXPECT_EQ(parseHeader(header.substr(0, 5)).wanted, kV2FixedLength);
    EXPECT_EQ(parseHeader(header.substr(0, 16)).wanted, header.size());
    EXPECT_EQ(parseHeader(header.substr(0, 20)).wanted, header.size());
}

// TLVs after the addresses (ALPN, authority, CRC, unique id, SSL, NOOP, unknown) are skipped.
TEST(ProxyV2, TlvsSkipped) {
    const std::string tlvs = tlv(0x01, "smtp") + tlv(0x02, "mx.example") +
                             tlv(0x03, "\x01\x02\x03\x04") + tlv(0x05, std::string(64, 'u')) +
                             tlv(0x20, "\x01\0\0\0\0"s) + tlv(0x04, "") + tlv(0xe0, "custom");
    const std::string header = v2(0x21, 0x11, inetBlock() + tlvs);
    const ParseResult result = parseHeader(header);
    ASSERT_EQ(result.status, Status::Complete) << result.error;
    EXPECT_EQ(result.length, header.size());
    EXPECT_EQ(result.header.source->address.to_string(), "192.0.2.1");
}

// Malformed TLVs: a truncated type/length, or a length past the end of the block.
TEST(ProxyV2, MalformedTlvs) {
    expectInvalid(v2(0x21, 0x11, inetBlock() + "\x01"), "TLV");
    expectInvalid(v2(0x21, 0x11, inetBlock() + "\x01\x00"s), "TLV");
    expectInvalid(v2(0x21, 0x11, inetBlock() + "\x01\x00\x05xx"s), "TLV");
    expectInvalid(v2(0x21, 0x11, inetBlock() + tlv(0x04, "ok") + "\x02\xff\xff"), "TLV");
}

// LOCAL (a health check by the balancer): no addresses, the block is discarded unread.
TEST(ProxyV2, Local) {
    for (const std::string& block : {""s, inetBlock(), "garbage"s}) {
        const std::string header = v2(0x20, 0x11, block);
        const ParseResult result = parseHeader(header);
        ASSERT_EQ(result.status, Status::Complete) << result.error;
        EXPECT_EQ(result.length, header.size());
        EXPECT_FALSE(result.header.source);
    }
    EXPECT_EQ(parseHeader(v2(0x20, 0x00, "")).status, Status::Complete);
}

// PROXY with UNSPEC family, or a UNIX socket: no IP address, so the socket's own is used.
TEST(ProxyV2, UnspecAndUnix) {
    const ParseResult unspec = parseHeader(v2(0x21, 0x00, "whatever"));
    ASSERT_EQ(unspec.status, Status::Complete) << unspec.error;
    EXPECT_FALSE(unspec.header.source);
    const ParseResult unix_stream = parseHeader(v2(0x21, 0x31, std::string(216, '\0')));
    ASSERT_EQ(unix_stream.status, Status::Complete) << unix_stream.error;
    EXPECT_FALSE(unix_stream.header.source);
    expectInvalid(v2(0x21, 0x31, std::string(215, '\0')), "shorter");
}

// Every malformed fixed part or address block is refused with a reason.
TEST(ProxyV2, Malformed) {
    expectInvalid(v2(0x11, 0x11, inetBlock()), "version");
    expectInvalid(v2(0x31, 0x11, inetBlock()), "version");
    expectInvalid(v2(0x22, 0x11, inetBlock()), "command");
    expectInvalid(v2(0x2f, 0x11, inetBlock()), "command");
    expectInvalid(v2(0x21, 0x41, inetBlock()), "family");
    expectInvalid(v2(0x21, 0x13, inetBlock()), "transport");
    expectInvalid(v2(0x21, 0x12, inetBlock()), "stream");
    expectInvalid(v2(0x21, 0x10, inetBlock()), "stream");
    expectInvalid(v2(0x21, 0x22, inet6Block()), "stream");
    expectInvalid(v2(0x21, 0x11, inetBlock().substr(0, 11)), "shorter");
    expectInvalid(v2(0x21, 0x21, inetBlock()), "shorter");
    expectInvalid(v2(0x21, 0x21, ""), "shorter");
}

// A truncated header is Incomplete, never Complete: the length field is honoured.
TEST(ProxyV2, Truncated) {
    const std::string header = v2(0x21, 0x21, inet6Block());
    const ParseResult result = parseHeader(header.substr(0, header.size() - 1));
    EXPECT_EQ(result.status, Status::Incomplete);
    EXPECT_EQ(result.wanted, header.size());
}

// The largest block the length field allows is accepted.
TEST(ProxyV2, LargestBlock) {
    const std::string header = v2(0x21, 0x11, inetBlock() + tlv(0x04, std::string(65520, 'x')));
    ASSERT_EQ(header.size(), kMaxV2Length);
    EXPECT_EQ(parseHeader(header).status, Status::Complete);
}

}  // namespace
}  // namespace mailgate::net::proxy
