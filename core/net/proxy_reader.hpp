#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/config/config.hpp"
#include "core/net/asio.hpp"
#include "core/net/proxy_protocol.hpp"

namespace mailgate::net {

struct ProxyOutcome {
    std::optional<proxy::Header> header;  // set when a valid header was read
    std::string error;                    // otherwise: why the connection must be closed
};

// True when `address` (IPv4-mapped IPv6 counts as IPv4) is in one of `networks`.
bool inNetworks(const asio::ip::address& address, const std::vector<config::Network>& networks);

// Reads the PROXY header a load balancer sends first, within `timeout`. A version 2 header is
// read exactly; any byte after a version 1 header is a client talking before the greeting and
// refused like one. The socket must have no pending operation.
awaitable<ProxyOutcome> readProxyHeader(tcp::socket& socket, std::chrono::milliseconds timeout);

// A connection to a PROXY listener: only the trusted balancers may connect, and they must send
// a valid header in time. Returns the header, or nothing after logging why the connection must
// be closed (without a greeting).
awaitable<std::optional<proxy::Header>> acceptProxyHeader(
    tcp::socket& socket, const config::ProxyProtocolConfig& settings);

}  // namespace mailgate::net
