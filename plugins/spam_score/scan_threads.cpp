#include "scan_threads.hpp"

#include <system_error>

namespace mailgate::spam_score {

ScanThreads::~ScanThreads() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return running_ == 0; });
    std::list<Scan> scans = std::move(scans_);
    lock.unlock();
    for (Scan& scan : scans) {
        scan.thread.join();
    }
}

std::size_t ScanThreads::running() const {
    const std::lock_guard lock(mutex_);
    return running_;
}

void ScanThreads::joinFinished() {
    for (auto it = scans_.begin(); it != scans_.end();) {
        if (it->done) {
            it->thread.join();
            it = scans_.erase(it);
        } else {
            ++it;
        }
    }
}

bool ScanThreads::tryStart(std::function<void()> job) {
    const std::lock_guard lock(mutex_);
    joinFinished();
    if (running_ >= max_) {
        return false;
    }
    Scan& scan = scans_.emplace_back();
    try {
        // The thread starts only once `scan` is in the list; it marks it done under the lock.
        scan.thread = std::thread([this, &scan, job = std::move(job)]() mutable {
            job();
            job = nullptr;  // its captures go before we may be destroyed
            const std::lock_guard done_lock(mutex_);
            scan.done = true;
            --running_;
            idle_.notify_all();
        });
    } catch (const std::system_error&) {
        scans_.pop_back();
        return false;
    }
    ++running_;
    return true;
}

}  // namespace mailgate::spam_score
