#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config/config.hpp"

namespace mailgate::relay {

// Which backend servers failed lately, shared by every session on every I/O thread (and kept
// across reloads): a server that failed to connect or greet is "down" until its retry time.
class ServerHealth {
  public:
    using Clock = std::chrono::steady_clock;

    // The one table of the running process.
    static ServerHealth& shared();

    // When `server` may be tried again; a time in the past (or epoch) when it is up.
    Clock::time_point retryAt(const std::string& server) const;
    bool isDown(const std::string& server, Clock::time_point now = Clock::now()) const;
    void markFailed(const std::string& server, std::chrono::milliseconds retry_delay);
    void markUp(const std::string& server);

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Clock::time_point> retry_at_;
};

// The backend groups of one configuration: route 0 is `backend` (the default), route i + 1 is
// `routes[i]`. Built once per loaded configuration and shared by its sessions.
class Router {
  public:
    Router(const config::Config& config, ServerHealth& health);
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;

    size_t size() const { return groups_.size(); }
    // The route of a recipient address: the first route that lists its domain, else 0.
    size_t routeFor(std::string_view recipient) const;
    const config::BackendConfig& backend(size_t route) const { return *groups_[route]->config; }
    // "backend" or "routes[N]", for logs.
    const std::string& name(size_t route) const { return groups_[route]->name; }
    // The servers of a route in the order to try them now: the ones that are up first (in
    // config order for failover, starting at the next in turn for round_robin), then the ones
    // marked down, soonest retry first, so they are tried only when every other one fails.
    std::vector<const config::Endpoint*> serverOrder(size_t route) const;
    ServerHealth& health() const { return health_; }

  private:
    struct Group {
        const config::BackendConfig* config = nullptr;
        std::vector<std::string> domains;  // lowercase; ".example.org" for subdomains
        std::string name;
        mutable std::atomic<size_t> next{0};  // round_robin: where the next turn starts
    };

    std::vector<std::unique_ptr<Group>> groups_;
    ServerHealth& health_;
};

// True when the lowercase `domain` is matched by a route entry ("example.org" exactly, or
// ".example.org" for any subdomain of example.org).
bool domainMatches(std::string_view pattern, std::string_view domain);

}  // namespace mailgate::relay
