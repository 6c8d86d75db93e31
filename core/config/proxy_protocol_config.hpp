#pragma once

// Reading server.proxy_protocol for the config loader; not part of the public config API.

#include <vector>

#include "core/config/config.hpp"
#include "core/config/reader.hpp"

namespace mailgate::config::detail {

// What server.proxy_protocol said, for the checks that need the whole document.
struct ProxyProtocolRead {
    std::vector<Entry> listeners;  // each item of server.proxy_protocol.listeners
};

void readProxyProtocol(Diagnostics& diag, const Entry& entry, ProxyProtocolConfig& proxy,
                       ProxyProtocolRead& read);
// Each PROXY listener must be one of server.listen, written the same way.
void checkProxyListeners(Diagnostics& diag, const ProxyProtocolRead& read,
                         const ServerConfig& server);

}  // namespace mailgate::config::detail
