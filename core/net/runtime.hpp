#pragma once

#include <memory>

#include "core/config/config.hpp"
#include "core/filter/chain.hpp"
#include "core/relay/router.hpp"

namespace mailgate::net {

// One loaded configuration with its plugin chain. Sessions hold it by shared_ptr: after a reload
// new sessions get the new one while sessions in flight finish on the one they started with,
// and the old plugins are destroyed when its last session ends.
struct Runtime {
    Runtime(config::Config config_in, plugin::PluginList plugins)
        : config(std::move(config_in)),
          chain(std::move(plugins)),
          router(config, relay::ServerHealth::shared()) {}

    const config::Config config;
    const filter::FilterChain chain;
    // The backend routes of this config; server health is shared process-wide (and so
    // survives a reload), round-robin turns are per config.
    const relay::Router router;
};

using RuntimePtr = std::shared_ptr<const Runtime>;

}  // namespace mailgate::net
