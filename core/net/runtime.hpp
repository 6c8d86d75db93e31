#pragma once

#include <memory>

#include "core/auth/users.hpp"
#include "core/config/config.hpp"
#include "core/filter/chain.hpp"
#include "core/net/tls_context.hpp"

namespace mailgate::net {

// One loaded configuration with its plugin chain. Sessions hold it by shared_ptr: after a reload
// new sessions get the new one while sessions in flight finish on the one they started with,
// and the old plugins are destroyed when its last session ends.
struct Runtime {
    Runtime(config::Config config_in, plugin::PluginList plugins, TlsContexts tls_in = {},
            std::shared_ptr<const auth::Users> users_in = {})
        : config(std::move(config_in)),
          chain(std::move(plugins)),
          tls(std::move(tls_in)),
          users(std::move(users_in)) {}

    const config::Config config;
    const filter::FilterChain chain;
    const TlsContexts tls;                           // certificates and keys, read with the config
    const std::shared_ptr<const auth::Users> users;  // auth.users_file; null without auth
};

using RuntimePtr = std::shared_ptr<const Runtime>;

}  // namespace mailgate::net
