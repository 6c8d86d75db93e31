#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>

// Runs each scan on a thread of its own, at most `max` at once, so the hook can return
// pending and leave the I/O thread at once. The destructor waits for the scans still running
// (each is bounded by its scanners' timeouts).
namespace mailgate::spam_score {

class ScanThreads {
  public:
    explicit ScanThreads(std::size_t max) : max_(max) {}
    ~ScanThreads();
    ScanThreads(const ScanThreads&) = delete;
    ScanThreads& operator=(const ScanThreads&) = delete;

    // Starts `job` on a new thread; false (and `job` not run) when `max` already run, or
    // when no thread could be started. `job` must not throw.
    bool tryStart(std::function<void()> job);

    std::size_t running() const;

  private:
    void finished();

    const std::size_t max_;
    mutable std::mutex mutex_;
    std::condition_variable idle_;
    std::size_t running_ = 0;
};

}  // namespace mailgate::spam_score
