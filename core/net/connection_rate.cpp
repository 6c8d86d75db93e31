#include "core/net/connection_rate.hpp"

#include <algorithm>

namespace mailgate::net {

double ConnectionRate::refilled(const Bucket& bucket, size_t limit,
                                std::chrono::milliseconds window, Clock::time_point now) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    const double per_second =
        static_cast<double>(limit) / std::chrono::duration<double>(window).count();
    return std::min(static_cast<double>(limit),
                    bucket.tokens + std::max(0.0, elapsed) * per_second);
}

void ConnectionRate::pruneFull(size_t limit, std::chrono::milliseconds window,
                               Clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        if (refilled(it->second, limit, window, now) >= static_cast<double>(limit)) {
            it = buckets_.erase(it);
        } else {
            ++it;
        }
    }
}

ConnectionRate::Verdict ConnectionRate::tryAcquire(const std::string& key, size_t limit,
                                                   std::chrono::milliseconds window,
                                                   Clock::time_point now) {
    if (limit == 0 || window.count() <= 0) {
        return Verdict::Allowed;
    }
    const std::lock_guard lock(mutex_);
    auto found = buckets_.find(key);
    if (found == buckets_.end()) {
        if (buckets_.size() >= max_entries_) {
            // A full scan at most once a second, so a flood of new addresses cannot make every
            // accept pay for one.
            if (now - last_prune_ >= std::chrono::seconds(1)) {
                last_prune_ = now;
                pruneFull(limit, window, now);
            }
            if (buckets_.size() >= max_entries_) {
                return Verdict::Untracked;
            }
        }
        buckets_.emplace(key, Bucket{static_cast<double>(limit) - 1, now});
        return Verdict::Allowed;
    }
    Bucket& bucket = found->second;
    bucket.tokens = refilled(bucket, limit, window, now);
    bucket.updated = now;
    if (bucket.tokens < 1.0) {
        return Verdict::Refused;
    }
    bucket.tokens -= 1.0;
    return Verdict::Allowed;
}

size_t ConnectionRate::size() const {
    const std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace mailgate::net
