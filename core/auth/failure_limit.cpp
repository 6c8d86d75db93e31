#include "core/auth/failure_limit.hpp"

namespace mailgate::auth {

bool FailureLimit::allowed(const std::string& address, size_t max, std::chrono::milliseconds window,
                           Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto entry = entries_.find(address);
    if (entry == entries_.end()) {
        return entries_.size() < kMaxAddresses;
    }
    if (now - entry->second.since >= window) {
        entries_.erase(entry);
        return true;
    }
    return entry->second.failures < max;
}

void FailureLimit::failed(const std::string& address, std::chrono::milliseconds window,
                          Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto entry = entries_.find(address);
    if (entry != entries_.end() && now - entry->second.since >= window) {
        entries_.erase(entry);
        entry = entries_.end();
    }
    if (entry == entries_.end()) {
        if (entries_.size() >= kMaxAddresses) {
            prune(window, now);
            if (entries_.size() >= kMaxAddresses) {
                return;  // allowed() refuses untracked addresses while the table is full
            }
        }
        entry = entries_.emplace(address, Entry{0, now}).first;
    }
    ++entry->second.failures;
}

void FailureLimit::prune(std::chrono::milliseconds window, Clock::time_point now) {
    std::erase_if(entries_, [&](const auto& item) { return now - item.second.since >= window; });
}

FailureLimit& FailureLimit::instance() {
    static FailureLimit limit;
    return limit;
}

}  // namespace mailgate::auth
