#pragma once

#include <string>

#include "core/net/asio.hpp"

namespace mailgate::net {

// A client's address as logs, plugins and limits see it: an IPv4 client on a dual-stack
// socket (::ffff:192.0.2.1) is shown as IPv4.
inline std::string addressText(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    }
    return address.to_string();
}

}  // namespace mailgate::net
