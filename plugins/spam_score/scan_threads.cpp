#include "scan_threads.hpp"

#include <system_error>
#include <thread>

namespace mailgate::spam_score {

ScanThreads::~ScanThreads() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return running_ == 0; });
}

std::size_t ScanThreads::running() const {
    const std::lock_guard lock(mutex_);
    return running_;
}

bool ScanThreads::tryStart(std::function<void()> job) {
    {
        const std::lock_guard lock(mutex_);
        if (running_ >= max_) {
            return false;
        }
        ++running_;
    }
    try {
        std::thread([this, job = std::move(job)]() mutable {
            job();
            job = nullptr;  // its captures go before we may be destroyed
            finished();
        }).detach();
    } catch (const std::system_error&) {
        finished();
        return false;
    }
    return true;
}

// The last thing a scan thread does with this object: after the notification the destructor
// may run, so nothing of ours is touched once the lock is released.
void ScanThreads::finished() {
    const std::lock_guard lock(mutex_);
    --running_;
    idle_.notify_all();
}

}  // namespace mailgate::spam_score
