#include "core/relay/router.hpp"

#include <algorithm>
#include <cctype>

namespace mailgate::relay {

ServerHealth& ServerHealth::shared() {
    static ServerHealth health;
    return health;
}

ServerHealth::Clock::time_point ServerHealth::retryAt(const std::string& server) const {
    std::lock_guard lock(mutex_);
    auto found = retry_at_.find(server);
    return found == retry_at_.end() ? Clock::time_point{} : found->second;
}

bool ServerHealth::isDown(const std::string& server, Clock::time_point now) const {
    return retryAt(server) > now;
}

void ServerHealth::markFailed(const std::string& server, std::chrono::milliseconds retry_delay) {
    std::lock_guard lock(mutex_);
    if (retry_delay.count() <= 0) {
        retry_at_.erase(server);
        return;
    }
    retry_at_[server] = Clock::now() + retry_delay;
}

void ServerHealth::markUp(const std::string& server) {
    std::lock_guard lock(mutex_);
    retry_at_.erase(server);
}

bool domainMatches(std::string_view pattern, std::string_view domain) {
    if (pattern.starts_with('.')) {
        return domain.size() > pattern.size() && domain.ends_with(pattern);
    }
    return domain == pattern;
}

Router::Router(const config::Config& config, ServerHealth& health) : health_(health) {
    auto add = [&](const config::BackendConfig& backend, std::vector<std::string> domains,
                   std::string name) {
        auto group = std::make_unique<Group>();
        group->config = &backend;
        group->domains = std::move(domains);
        group->name = std::move(name);
        groups_.push_back(std::move(group));
    };
    add(config.backend, {}, "backend");
    for (size_t i = 0; i < config.routes.size(); ++i) {
        add(config.routes[i].backend, config.routes[i].domains,
            "routes[" + std::to_string(i) + "]");
    }
}

size_t Router::routeFor(std::string_view recipient) const {
    if (groups_.size() == 1) {
        return 0;
    }
    const size_t at = recipient.rfind('@');
    if (at == std::string_view::npos) {
        return 0;  // postmaster and other local parts alone: the default route
    }
    std::string domain(recipient.substr(at + 1));
    std::transform(domain.begin(), domain.end(), domain.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (size_t route = 1; route < groups_.size(); ++route) {
        for (const std::string& pattern : groups_[route]->domains) {
            if (domainMatches(pattern, domain)) {
                return route;
            }
        }
    }
    return 0;
}

std::vector<const config::Endpoint*> Router::serverOrder(size_t route) const {
    const Group& group = *groups_[route];
    const auto& servers = group.config->servers;
    std::vector<const config::Endpoint*> order;
    if (servers.empty()) {
        return order;
    }
    size_t start = 0;
    if (group.config->balance == config::Balance::RoundRobin) {
        start = group.next.fetch_add(1, std::memory_order_relaxed) % servers.size();
    }
    const auto now = ServerHealth::Clock::now();
    std::vector<std::pair<ServerHealth::Clock::time_point, const config::Endpoint*>> down;
    for (size_t i = 0; i < servers.size(); ++i) {
        const config::Endpoint& server = servers[(start + i) % servers.size()];
        const auto retry_at = health_.retryAt(server.toString());
        if (retry_at > now) {
            down.emplace_back(retry_at, &server);
        } else {
            order.push_back(&server);
        }
    }
    std::stable_sort(down.begin(), down.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& entry : down) {
        order.push_back(entry.second);
    }
    return order;
}

}  // namespace mailgate::relay
