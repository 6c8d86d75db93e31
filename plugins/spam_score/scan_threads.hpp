#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

// Runs each scan on a thread of its own, at most `max` at once, so the hook can return
// pending and leave the I/O thread at once. Threads are joined, never detached: the host may
// unload the plugin right after destroying it, and no thread may still be running its code.
// The destructor waits for the scans still running (each is bounded by its scanners'
// timeouts).
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
    struct Scan {
        std::thread thread;
        bool done = false;
    };
    // Under mutex_: joins the threads whose job has finished (each is about to exit).
    void joinFinished();

    const std::size_t max_;
    mutable std::mutex mutex_;
    std::condition_variable idle_;
    std::size_t running_ = 0;
    std::list<Scan> scans_;
};

}  // namespace mailgate::spam_score
