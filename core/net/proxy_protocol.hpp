#pragma once

// The PROXY protocol header of HAProxy (versions 1 and 2), sent by a load balancer before the
// client's first byte to tell the real client address. Pure parsing, no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace mailgate::net::proxy {

// Version 1 is one text line of at most 107 octets, CRLF included.
inline constexpr size_t kMaxV1Length = 107;
// Version 2 is a 16-octet fixed part and at most 65535 octets of addresses and TLVs.
inline constexpr size_t kV2FixedLength = 16;
inline constexpr size_t kMaxV2Length = kV2FixedLength + 65535;

struct Endpoint {
    boost::asio::ip::address address;
    uint16_t port = 0;
};

struct Header {
    int version = 0;  // 1 or 2
    // The real client and the address it connected to. Absent for v1 UNKNOWN, v2 LOCAL and v2
    // families without an IP address (UNSPEC, UNIX): the socket's own addresses then apply.
    std::optional<Endpoint> source;
    std::optional<Endpoint> destination;
};

enum class Status {
    Incomplete,  // a valid start: read more, up to `wanted` octets in all
    Complete,    // `header` is the first `length` octets
    Invalid,     // `error` says why; the connection must be closed
};

struct ParseResult {
    Status status = Status::Incomplete;
    size_t length = 0;  // Complete: octets of the header
    // Incomplete: the most octets the header can take in all, given what has arrived. Exact for
    // version 2 once its fixed part is in; for version 1 an upper bound (107).
    size_t wanted = 0;
    Header header;
    std::string error;  // Invalid: why
};

// Parses the PROXY header at the start of `data`. Bytes after the header are not looked at.
ParseResult parseHeader(std::string_view data);

}  // namespace mailgate::net::proxy
