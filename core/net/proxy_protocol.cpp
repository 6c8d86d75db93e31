#include "core/net/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <vector>

// The format is HAProxy's proxy-protocol.txt. Version 1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT"
// or "PROXY UNKNOWN[ anything]", single spaces, CRLF, at most 107 octets. Version 2: a 12-octet
// signature, version/command, family/transport, a 16-bit length, the addresses, then TLVs.

namespace mailgate::net::proxy {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

constexpr size_t kInetBlock = 12;   // 2 x 4 address octets, 2 x 2 port octets
constexpr size_t kInet6Block = 36;  // 2 x 16 + 2 x 2
constexpr size_t kUnixBlock = 216;  // 2 x 108

ParseResult invalid(std::string why) {
    ParseResult result;
    result.status = Status::Invalid;
    result.error = std::move(why);
    return result;
}

ParseResult incomplete(size_t wanted) {
    ParseResult result;
    result.wanted = wanted;
    return result;
}

ParseResult complete(int version, size_t length) {
    ParseResult result;
    result.status = Status::Complete;
    result.length = length;
    result.header.version = version;
    return result;
}

bool startsLike(std::string_view data, std::string_view magic) {
    const size_t n = std::min(data.size(), magic.size());
    return data.substr(0, n) == magic.substr(0, n);
}

bool printable(char c) {
    return c >= 0x20 && c <= 0x7e;
}

std::vector<std::string_view> splitOnSpaces(std::string_view line) {
    std::vector<std::string_view> parts;
    for (size_t start = 0;;) {
        const size_t space = line.find(' ', start);
        parts.push_back(line.substr(start, space - start));
        if (space == std::string_view::npos || parts.size() > 6) {
            return parts;
        }
        start = space + 1;
    }
}

std::optional<boost::asio::ip::address> textAddress(std::string_view text, bool v6) {
    if (text.empty() || text.size() > 45) {
        return std::nullopt;
    }
    const std::string copy(text);
    if (v6) {
        boost::asio::ip::address_v6::bytes_type bytes;
        if (::inet_pton(AF_INET6, copy.c_str(), bytes.data()) != 1) {
            return std::nullopt;
        }
        return boost::asio::ip::address_v6(bytes);
    }
    boost::asio::ip::address_v4::bytes_type bytes;
    if (::inet_pton(AF_INET, copy.c_str(), bytes.data()) != 1) {
        return std::nullopt;
    }
    return boost::asio::ip::address_v4(bytes);
}

// 0 to 65535 in decimal, without leading zeros.
std::optional<uint16_t> textPort(std::string_view text) {
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(value);
}

ParseResult parseV1Line(std::string_view line, size_t length) {
    if (!std::all_of(line.begin(), line.end(), printable)) {
        return invalid("control character in a version 1 header");
    }
    const std::vector<std::string_view> parts = splitOnSpaces(line);
    if (parts.size() >= 2 && parts[1] == "UNKNOWN") {
        return complete(1, length);  // the rest of the line is to be ignored
    }
    if (parts.size() < 2 || (parts[1] != "TCP4" && parts[1] != "TCP6")) {
        return invalid("version 1 protocol must be TCP4, TCP6 or UNKNOWN");
    }
    if (parts.size() != 6) {
        return invalid("version 1 header needs 4 fields after " + std::string(parts[1]) +
                       ", separated by single spaces");
    }
    const bool v6 = parts[1] == "TCP6";
    const auto source = textAddress(parts[2], v6);
    const auto destination = textAddress(parts[3], v6);
    if (!source || !destination) {
        return invalid(std::string("bad ") + (v6 ? "IPv6" : "IPv4") +
                       " address in a version 1 header");
    }
    const auto source_port = textPort(parts[4]);
    const auto destination_port = textPort(parts[5]);
    if (!source_port || !destination_port) {
        return invalid("bad port in a version 1 header");
    }
    ParseResult result = complete(1, length);
    result.header.source = Endpoint{*source, *source_port};
    result.header.destination = Endpoint{*destination, *destination_port};
    return result;
}

ParseResult parseV1(std::string_view data) {
    const std::string_view window = data.substr(0, kMaxV1Length);
    const size_t lf = window.find('\n');
    if (lf == std::string_view::npos) {
        if (window.size() >= kMaxV1Length) {
            return invalid("version 1 header longer than 107 octets");
        }
        const size_t cr = window.find('\r');
        if (cr != std::string_view::npos && cr + 1 < window.size()) {
            return invalid("bare CR in a version 1 header");
        }
        return incomplete(kMaxV1Length);
    }
    if (lf == 0 || window[lf - 1] != '\r') {
        return invalid("bare LF in a version 1 header");
    }
    return parseV1Line(window.substr(0, lf - 1), lf + 1);
}

uint16_t readU16(std::string_view data, size_t at) {
    return static_cast<uint16_t>((static_cast<uint8_t>(data[at]) << 8) |
                                 static_cast<uint8_t>(data[at + 1]));
}

template <size_t N>
std::array<unsigned char, N> readBytes(std::string_view data, size_t at) {
    std::array<unsigned char, N> bytes;
    std::copy_n(data.data() + at, N, bytes.begin());
    return bytes;
}

// Type-length-value records fill the rest of the block; unknown types are skipped, but each
// must fit exactly.
bool tlvsWellFormed(std::string_view tlvs) {
    size_t at = 0;
    while (at < tlvs.size()) {
        if (tlvs.size() - at < 3) {
            return false;
        }
        const size_t value_length = readU16(tlvs, at + 1);
        if (tlvs.size() - at - 3 < value_length) {
            return false;
        }
        at += 3 + value_length;
    }
    return true;
}

void setInetAddresses(std::string_view block, bool v6, Header& header) {
    if (v6) {
        header.source =
            Endpoint{boost::asio::ip::address_v6(readBytes<16>(block, 0)), readU16(block, 32)};
        header.destination =
            Endpoint{boost::asio::ip::address_v6(readBytes<16>(block, 16)), readU16(block, 34)};
    } else {
        header.source =
            Endpoint{boost::asio::ip::address_v4(readBytes<4>(block, 0)), readU16(block, 8)};
        header.destination =
            Endpoint{boost::asio::ip::address_v4(readBytes<4>(block, 4)), readU16(block, 10)};
    }
}

ParseResult parseV2Proxy(std::string_view block, uint8_t family, uint8_t transport, size_t length) {
    ParseResult result = complete(2, length);
    if (family == 0) {
        return result;  // UNSPEC: the addresses are unknown; the block is not looked at
    }
    if (family > 3 || transport > 2) {
        return invalid("unknown address family or transport in a version 2 header");
    }
    if (family != 3 && transport != 1) {
        return invalid("version 2 header for an IP connection that is not a stream (TCP)");
    }
    const size_t address_length =
        family == 1 ? kInetBlock : (family == 2 ? kInet6Block : kUnixBlock);
    if (block.size() < address_length) {
        return invalid("version 2 address block shorter than its family needs");
    }
    if (!tlvsWellFormed(block.substr(address_length))) {
        return invalid("malformed TLV in a version 2 header");
    }
    if (family != 3) {  // UNIX sockets: no IP address to use
        setInetAddresses(block, family == 2, result.header);
    }
    return result;
}

ParseResult parseV2(std::string_view data) {
    if (data.size() < kV2FixedLength) {
        return incomplete(kV2FixedLength);
    }
    const auto version_command = static_cast<uint8_t>(data[12]);
    const auto family_transport = static_cast<uint8_t>(data[13]);
    if ((version_command >> 4) != 2) {
        return invalid("unsupported version in a version 2 header");
    }
    const uint8_t command = version_command & 0x0f;
    if (command > 1) {
        return invalid("unknown command in a version 2 header");
    }
    const size_t length = kV2FixedLength + readU16(data, 14);
    if (data.size() < length) {
        return incomplete(length);
    }
    if (command == 0) {
        return complete(2, length);  // LOCAL: a health check; the block is discarded
    }
    return parseV2Proxy(data.substr(kV2FixedLength, length - kV2FixedLength), family_transport >> 4,
                        family_transport & 0x0f, length);
}

}  // namespace

ParseResult parseHeader(std::string_view data) {
    if (data.empty()) {
        return incomplete(kV2FixedLength);
    }
    if (startsLike(data, kV2Signature)) {
        return data.size() < kV2Signature.size() ? incomplete(kV2FixedLength) : parseV2(data);
    }
    if (startsLike(data, kV1Prefix)) {
        return data.size() < kV1Prefix.size() ? incomplete(kMaxV1Length) : parseV1(data);
    }
    return invalid("not a PROXY protocol header");
}

}  // namespace mailgate::net::proxy
