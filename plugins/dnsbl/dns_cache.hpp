#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

// Answers of DNS lists, remembered for their TTL (bounded), at most `max_entries` of them.
namespace mailgate::dnsbl {

// What a list said for one name: its A records (IPv4, host order), or none (NXDOMAIN, no data).
struct CachedAnswer {
    std::vector<std::uint32_t> addresses;
};

// Thread-safe: looked up from the hooks, filled from the DNS thread. When full, the entry used
// least recently goes first.
class DnsCache {
  public:
    using Clock = std::chrono::steady_clock;

    explicit DnsCache(std::size_t max_entries) : max_entries_(max_entries) {}

    std::optional<CachedAnswer> find(const std::string& name, Clock::time_point now);
    void store(const std::string& name, CachedAnswer answer, std::chrono::seconds ttl,
               Clock::time_point now);
    std::size_t size() const;

  private:
    struct Entry {
        std::string name;
        CachedAnswer answer;
        Clock::time_point expires;
    };

    const std::size_t max_entries_;
    mutable std::mutex mutex_;
    std::list<Entry> entries_;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace mailgate::dnsbl
