#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailgate::auth {

// Failed AUTH attempts per client address, over all sessions and threads of the process (it
// outlives reloads). An address with `max` failures within `window` of its first is refused
// until that window has passed. Memory is bounded: past kMaxAddresses entries, expired ones are
// dropped, and if none has expired the new address is not tracked (it is refused instead).
class FailureLimit {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr size_t kMaxAddresses = 100000;

    // True when the address may try (again).
    bool allowed(const std::string& address, size_t max, std::chrono::milliseconds window,
                 Clock::time_point now = Clock::now());
    // Counts one failure of the address.
    void failed(const std::string& address, std::chrono::milliseconds window,
                Clock::time_point now = Clock::now());

    // The one of this process.
    static FailureLimit& instance();

  private:
    struct Entry {
        size_t failures = 0;
        Clock::time_point since;
    };
    void prune(std::chrono::milliseconds window, Clock::time_point now);

    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mailgate::auth
