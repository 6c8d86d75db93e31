#include "core/net/proxy_reader.hpp"

#include <algorithm>

#include "core/net/deadline.hpp"

namespace mailgate::net {
namespace {

ProxyOutcome failure(std::string why) {
    return ProxyOutcome{std::nullopt, std::move(why)};
}

}  // namespace

bool inNetworks(const asio::ip::address& address, const std::vector<config::Network>& networks) {
    asio::ip::address plain = address;
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        plain = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    if (plain.is_v4()) {
        const auto bytes = plain.to_v4().to_bytes();
        return std::any_of(networks.begin(), networks.end(), [&](const config::Network& network) {
            return network.contains(bytes.data(), false);
        });
    }
    const auto bytes = plain.to_v6().to_bytes();
    return std::any_of(networks.begin(), networks.end(), [&](const config::Network& network) {
        return network.contains(bytes.data(), true);
    });
}

awaitable<ProxyOutcome> readProxyHeader(tcp::socket& socket, std::chrono::milliseconds timeout) {
    Deadline deadline(socket.get_executor(), [&socket] {
        error_code ignored;
        socket.cancel(ignored);
    });
    deadline.arm(timeout);
    std::string data;
    for (;;) {
        proxy::ParseResult result = proxy::parseHeader(data);
        if (result.status == proxy::Status::Invalid) {
            co_return failure("malformed PROXY header: " + result.error);
        }
        if (result.status == proxy::Status::Complete) {
            if (data.size() > result.length) {
                co_return failure("client data right after the PROXY header, before the greeting");
            }
            co_return ProxyOutcome{std::move(result.header), ""};
        }
        // Never more than the header can still take: a version 2 header is read exactly.
        const size_t have = data.size();
        data.resize(result.wanted);
        auto [ec, read] = co_await socket.async_read_some(
            asio::buffer(data.data() + have, result.wanted - have), use_nothrow);
        data.resize(have + read);
        if (ec) {
            std::string why = "connection closed before the PROXY header ended";
            if (deadline.expired()) {
                why = "no complete PROXY header in time";
            }
            co_return failure(std::move(why));
        }
    }
}

}  // namespace mailgate::net
