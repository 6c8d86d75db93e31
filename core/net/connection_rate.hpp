#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailgate::net {

// limits.max_connection_rate_per_ip: new connections per client key, as a token bucket. Each key
// may open `limit` connections at once, and then `limit` per `window` as its bucket refills.
// Memory is bounded: a bucket that has refilled completely is the same as no bucket and is
// dropped when the table is full; if it is still full, a new key is let in uncounted (the
// concurrency limits still hold) rather than shutting out every newcomer. Thread-safe.
class ConnectionRate {
  public:
    using Clock = std::chrono::steady_clock;
    enum class Verdict { Allowed, Refused, Untracked };

    explicit ConnectionRate(size_t max_entries = kDefaultMaxEntries) : max_entries_(max_entries) {}

    Verdict tryAcquire(const std::string& key, size_t limit, std::chrono::milliseconds window,
                       Clock::time_point now = Clock::now());
    size_t size() const;

    static constexpr size_t kDefaultMaxEntries = 65536;

  private:
    struct Bucket {
        double tokens = 0;
        Clock::time_point updated;
    };

    static double refilled(const Bucket& bucket, size_t limit, std::chrono::milliseconds window,
                           Clock::time_point now);
    void pruneFull(size_t limit, std::chrono::milliseconds window, Clock::time_point now);

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
    size_t max_entries_;
    Clock::time_point last_prune_{};
};

}  // namespace mailgate::net
