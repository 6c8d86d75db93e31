#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailgate::net {

// Counts open connections per client address across all I/O threads, for
// limits.max_connections_per_ip. A slot taken by tryAcquire() is given back by release().
class PerClientLimit {
  public:
    bool tryAcquire(const std::string& client, size_t limit) {
        const std::lock_guard lock(mutex_);
        size_t& count = counts_[client];
        if (count >= limit) {
            if (count == 0) {
                counts_.erase(client);
            }
            return false;
        }
        ++count;
        return true;
    }

    void release(const std::string& client) {
        const std::lock_guard lock(mutex_);
        const auto found = counts_.find(client);
        if (found != counts_.end() && --found->second == 0) {
            counts_.erase(found);
        }
    }

  private:
    std::mutex mutex_;
    std::unordered_map<std::string, size_t> counts_;
};

}  // namespace mailgate::net
