#pragma once

#include <string>

#include "core/net/asio.hpp"

namespace mailgate::net {

// The key under which the per-address limits count a client: its IPv4 address (an IPv4-mapped
// IPv6 address counts as IPv4), or its IPv6 network of `ipv6_prefix_length` bits, since one
// host usually holds a whole /64: "2001:db8:1:2::/64".
inline std::string clientKey(const asio::ip::address& address, unsigned ipv6_prefix_length) {
    if (address.is_v4()) {
        return address.to_string();
    }
    const asio::ip::address_v6 v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
    }
    if (ipv6_prefix_length >= 128) {
        return v6.to_string();
    }
    asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
    for (unsigned bit = ipv6_prefix_length; bit < 128; ++bit) {
        bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    }
    return asio::ip::address_v6(bytes).to_string() + "/" + std::to_string(ipv6_prefix_length);
}

}  // namespace mailgate::net
