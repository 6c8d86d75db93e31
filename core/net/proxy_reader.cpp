#include "core/net/proxy_reader.hpp"

#include <algorithm>

#include "core/net/deadline.hpp"
#include "core/ops/log.hpp"

namespace mailgate::net {
namespace {

ProxyOutcome failure(std::string why) {
    return ProxyOutcome{std::nullopt, std::move(why)};
}

std::string endpointText(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
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

awaitable<std::optional<proxy::Header>> acceptProxyHeader(
    tcp::socket& socket, const config::ProxyProtocolConfig& settings) {
    error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    const std::string peer_text = ec ? "unknown peer" : endpointText(peer);
    if (ec || !inNetworks(peer.address(), settings.trusted_networks)) {
        // info, not warning: anyone can cause this line; a bad header from a trusted balancer
        // (below) is a configuration problem.
        ops::logInfo("PROXY listener: connection from " + peer_text +
                     " refused: not in server.proxy_protocol.trusted_networks");
        co_return std::nullopt;
    }
    ProxyOutcome outcome = co_await readProxyHeader(socket, settings.timeout);
    if (!outcome.header) {
        ops::logWarning("PROXY listener: connection from " + peer_text +
                        " closed: " + outcome.error);
        co_return std::nullopt;
    }
    co_return std::move(outcome.header);
}

}  // namespace mailgate::net
