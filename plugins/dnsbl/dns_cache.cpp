#include "dns_cache.hpp"

#include <utility>

namespace mailgate::dnsbl {

std::optional<CachedAnswer> DnsCache::find(const std::string& name, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    const auto found = index_.find(name);
    if (found == index_.end()) {
        return std::nullopt;
    }
    const auto entry = found->second;
    if (entry->expires <= now) {
        index_.erase(found);
        entries_.erase(entry);
        return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, entry);
    return entry->answer;
}

void DnsCache::store(const std::string& name, CachedAnswer answer, std::chrono::seconds ttl,
                     Clock::time_point now) {
    if (max_entries_ == 0 || ttl.count() <= 0) {
        return;
    }
    const std::lock_guard lock(mutex_);
    const auto found = index_.find(name);
    if (found != index_.end()) {
        entries_.erase(found->second);
        index_.erase(found);
    }
    while (entries_.size() >= max_entries_) {
        index_.erase(entries_.back().name);
        entries_.pop_back();
    }
    entries_.push_front(Entry{name, std::move(answer), now + ttl});
    index_.emplace(name, entries_.begin());
}

std::size_t DnsCache::size() const {
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace mailgate::dnsbl
