#include "core/net/disk_threads.hpp"

namespace mailgate::net {

// Four threads: fsyncs of different files can overlap on most disks, and the quarantine and a
// Maildir backend may be busy at the same time.
asio::thread_pool& diskThreads() {
    static asio::thread_pool threads(4);
    return threads;
}

}  // namespace mailgate::net
