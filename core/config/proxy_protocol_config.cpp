#include "core/config/proxy_protocol_config.hpp"

#include <algorithm>

namespace mailgate::config::detail {
namespace {

// A non-empty list of networks, each located on error.
FieldReader networksField(Diagnostics& diag, std::vector<Network>& target) {
    return [&diag, &target](const Entry& value) {
        if (!value.node.IsSequence() || value.node.size() == 0) {
            fail(diag, value, "expected a non-empty list of networks like [\"10.0.0.0/8\"]");
            return;
        }
        for (size_t i = 0; i < value.node.size(); ++i) {
            const Entry item = value.item(i, value.node[i]);
            auto text = stringValue(diag, item, "a network like 10.0.0.0/8");
            Network network;
            if (!text) {
                continue;
            }
            if (std::string problem = parseNetwork(*text, network); !problem.empty()) {
                fail(diag, item, "invalid network '" + *text + "': " + problem);
                continue;
            }
            target.push_back(std::move(network));
        }
    };
}

// The endpoints, keeping each item's entry so that checkProxyListeners can point at it.
FieldReader listenersField(Diagnostics& diag, std::vector<Endpoint>& target,
                           ProxyProtocolRead& read) {
    return [&diag, &target, &read](const Entry& value) {
        assign(target, endpointsValue(diag, value));
        if (!value.node.IsSequence()) {
            read.listeners.push_back(value);
            return;
        }
        for (size_t i = 0; i < value.node.size(); ++i) {
            read.listeners.push_back(value.item(i, value.node[i]));
        }
    };
}

// A balancer sends the header at once; a short bound also keeps a shutdown from waiting long
// for headers still pending.
FieldReader timeoutField(Diagnostics& diag, std::chrono::milliseconds& target) {
    return [&diag, &target](const Entry& value) {
        auto timeout = durationValue(diag, value, false);
        if (timeout && *timeout > std::chrono::minutes(1)) {
            fail(diag, value, "must be at most 1m, got '" + value.node.Scalar() + "'");
            timeout.reset();
        }
        assign(target, timeout);
    };
}

}  // namespace

void readProxyProtocol(Diagnostics& diag, const Entry& entry, ProxyProtocolConfig& proxy,
                       ProxyProtocolRead& read) {
    auto keys = readMap(diag, entry,
                        {
                            {"listeners", listenersField(diag, proxy.listeners, read)},
                            {"trusted_networks", networksField(diag, proxy.trusted_networks)},
                            {"timeout", timeoutField(diag, proxy.timeout)},
                        });
    if (entry.node.IsMap() && !keys.contains("listeners")) {
        missingKey(diag, entry, "listeners", "required: the listeners that expect a PROXY header");
    }
    if (entry.node.IsMap() && !keys.contains("trusted_networks")) {
        missingKey(diag, entry, "trusted_networks",
                   "required: the load balancers allowed to send a PROXY header");
    }
}

void checkProxyListeners(Diagnostics& diag, const ProxyProtocolRead& read,
                         const ServerConfig& server) {
    for (const Entry& item : read.listeners) {
        Endpoint endpoint;
        if (!item.node.IsScalar() || !parseEndpoint(item.node.Scalar(), endpoint)) {
            continue;  // already reported
        }
        const bool listed = std::any_of(
            server.listen.begin(), server.listen.end(),
            [&](const Endpoint& listen) { return listen.toString() == endpoint.toString(); });
        if (!listed) {
            fail(diag, item, "'" + endpoint.toString() + "' is not one of server.listen");
        }
    }
}

}  // namespace mailgate::config::detail
