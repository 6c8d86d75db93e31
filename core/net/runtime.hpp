#pragma once

#include <memory>

#include "core/auth/users.hpp"
#include "core/config/config.hpp"
#include "core/filter/chain.hpp"
#include "core/net/tls_context.hpp"
#include "core/relay/router.hpp"

namespace mailgate::net {

// One loaded configuration with its plugin chain. Sessions hold it by shared_ptr: after a reload
// new sessions get the new one while sessions in flight finish on the one they started with,
// and the old plugins are destroyed when its last session ends.
struct Runtime {
    Runtime(config::Config config_in, plugin::PluginList plugins, TlsContexts tls_in = {},
            std::shared_ptr<const auth::Users> users_in = {})
        : config(std::move(config_in)),
          chain(std::move(plugins)),
          router(config, relay::ServerHealth::shared()),
          tls(std::move(tls_in)),
          users(std::move(users_in)) {}

    const config::Config config;
    const filter::FilterChain chain;
    // The backend routes of this config; server health is shared process-wide (and so
    // survives a reload), round-robin turns are per config.
    const relay::Router router;
    // Certificates and keys, read with the config; tls.backends is indexed like the router.
    const TlsContexts tls;
    const std::shared_ptr<const auth::Users> users;  // auth.users_file; null without auth
};

using RuntimePtr = std::shared_ptr<const Runtime>;

}  // namespace mailgate::net
