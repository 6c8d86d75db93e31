#pragma once

#include <ares.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

// Asynchronous A lookups with c-ares on a thread of our own, so the hooks never wait on DNS.
namespace mailgate::dnsbl {

struct DnsAnswer {
    enum class Status { Found, NotFound, Failed };
    Status status = Status::Failed;
    std::vector<std::uint32_t> addresses;  // IPv4, host order (Found)
    std::uint32_t ttl = 0;                 // the smallest TTL of the records (Found)
    std::string error;                     // why (Failed)
};

// c-ares 1.18 channels are not thread-safe: every use of the channel happens on the DNS thread.
// Other threads hand it work through post().
class DnsClient {
  public:
    using Clock = std::chrono::steady_clock;
    using Job = std::function<void()>;
    using Callback = std::function<void(const DnsAnswer&)>;

    // `server`: "IP", "IP:PORT" or "[IPv6]:PORT"; empty for the servers of /etc/resolv.conf.
    // `try_timeout`: c-ares' wait for one try (two tries per query). Throws std::runtime_error.
    DnsClient(const std::string& server, std::chrono::milliseconds try_timeout);
    // Answers every query still open with Failed and runs every job and timer still queued.
    ~DnsClient();
    DnsClient(const DnsClient&) = delete;
    DnsClient& operator=(const DnsClient&) = delete;

    // Any thread: runs `job` on the DNS thread.
    void post(Job job);

    // DNS thread only. Queries for the same name in flight at once share one DNS query.
    void query(const std::string& name, Callback callback);
    // DNS thread only: runs `job` on the DNS thread at `when` (or at shutdown).
    void runAt(Clock::time_point when, Job job);

  private:
    struct QueryContext {
        DnsClient* client;
        std::string name;
    };

    static void onAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
    void run();
    void runJobs();
    void runDueTimers(Clock::time_point now);
    int pollTimeoutMs(Clock::time_point now);
    void waitAndProcess(Clock::time_point now);

    ares_channel channel_ = nullptr;
    int wake_fd_ = -1;
    std::mutex mutex_;
    std::vector<Job> jobs_;   // guarded by mutex_
    bool stopping_ = false;   // guarded by mutex_
    bool shut_down_ = false;  // DNS thread (then the destroying thread) only
    std::multimap<Clock::time_point, Job> timers_;
    std::unordered_map<std::string, std::vector<Callback>> in_flight_;
    std::thread thread_;
};

}  // namespace mailgate::dnsbl
