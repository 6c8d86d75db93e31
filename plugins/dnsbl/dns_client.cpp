#include "dns_client.hpp"

#include <ares_nameser.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>
#include <utility>

namespace mailgate::dnsbl {
namespace {

constexpr int kMaxPollMs = 1000;
constexpr int kMaxRecords = 64;

DnsAnswer failed(std::string why) {
    DnsAnswer answer;
    answer.status = DnsAnswer::Status::Failed;
    answer.error = std::move(why);
    return answer;
}

DnsAnswer toAnswer(int status, const unsigned char* abuf, int alen) {
    if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
        return DnsAnswer{DnsAnswer::Status::NotFound, {}, 0, {}};
    }
    if (status != ARES_SUCCESS) {
        return failed(ares_strerror(status));
    }
    std::array<ares_addrttl, kMaxRecords> records{};
    int count = kMaxRecords;
    const int parsed = ares_parse_a_reply(abuf, alen, nullptr, records.data(), &count);
    if (parsed == ARES_ENODATA) {
        return DnsAnswer{DnsAnswer::Status::NotFound, {}, 0, {}};
    }
    if (parsed != ARES_SUCCESS) {
        return failed(std::string("malformed answer: ") + ares_strerror(parsed));
    }
    if (count <= 0) {
        return DnsAnswer{DnsAnswer::Status::NotFound, {}, 0, {}};
    }
    DnsAnswer answer;
    answer.status = DnsAnswer::Status::Found;
    answer.ttl = UINT32_MAX;
    for (int i = 0; i < count; ++i) {
        answer.addresses.push_back(ntohl(records[i].ipaddr.s_addr));
        answer.ttl = std::min(answer.ttl, static_cast<std::uint32_t>(std::max(records[i].ttl, 0)));
    }
    return answer;
}

// c-ares wants its library initialised once per process before the first channel.
void initLibrary() {
    static const int status = ares_library_init(ARES_LIB_INIT_ALL);
    if (status != ARES_SUCCESS) {
        throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
    }
}

}  // namespace

DnsClient::DnsClient(const std::string& server, std::chrono::milliseconds try_timeout) {
    initLibrary();
    ares_options options{};
    options.timeout = static_cast<int>(std::max<long long>(try_timeout.count(), 1));
    options.tries = 2;
    options.flags = ARES_FLAG_NOSEARCH;
    const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
    int status = ares_init_options(&channel_, &options, mask);
    if (status != ARES_SUCCESS) {
        throw std::runtime_error(std::string("cannot start the DNS resolver: ") +
                                 ares_strerror(status));
    }
    if (!server.empty() &&
        (status = ares_set_servers_ports_csv(channel_, server.c_str())) != ARES_SUCCESS) {
        ares_destroy(channel_);
        throw std::runtime_error("cannot use resolver " + server + ": " + ares_strerror(status));
    }
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        ares_destroy(channel_);
        throw std::runtime_error("cannot create an eventfd for the DNS thread");
    }
    thread_ = std::thread([this] { run(); });
}

DnsClient::~DnsClient() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    const std::uint64_t one = 1;
    static_cast<void>(write(wake_fd_, &one, sizeof one));
    thread_.join();
    // The DNS thread has stopped: this thread owns the channel now. Queries asked from here on
    // fail at once; those still open fail as the channel goes.
    shut_down_ = true;
    runJobs();
    ares_destroy(channel_);
    while (!timers_.empty()) {
        Job job = std::move(timers_.begin()->second);
        timers_.erase(timers_.begin());
        job();
    }
    close(wake_fd_);
}

void DnsClient::post(Job job) {
    {
        const std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    const std::uint64_t one = 1;
    static_cast<void>(write(wake_fd_, &one, sizeof one));
}

void DnsClient::query(const std::string& name, Callback callback) {
    if (shut_down_) {
        callback(failed("the plugin is shutting down"));
        return;
    }
    auto [entry, first] = in_flight_.try_emplace(name);
    entry->second.push_back(std::move(callback));
    if (first) {
        ares_query(channel_, name.c_str(), C_IN, T_A, &DnsClient::onAnswer,
                   new QueryContext{this, name});
    }
}

void DnsClient::runAt(Clock::time_point when, Job job) {
    timers_.emplace(when, std::move(job));
}

void DnsClient::onAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    const std::unique_ptr<QueryContext> context(static_cast<QueryContext*>(arg));
    const DnsAnswer answer = toAnswer(status, abuf, alen);
    auto waiting = context->client->in_flight_.extract(context->name);
    if (waiting.empty()) {
        return;
    }
    for (const auto& callback : waiting.mapped()) {
        callback(answer);
    }
}

void DnsClient::run() {
    for (;;) {
        {
            const std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
        }
        runJobs();
        runDueTimers(Clock::now());
        waitAndProcess(Clock::now());
    }
}

void DnsClient::runJobs() {
    std::vector<Job> jobs;
    {
        const std::lock_guard lock(mutex_);
        jobs.swap(jobs_);
    }
    for (auto& job : jobs) {
        job();
    }
}

void DnsClient::runDueTimers(Clock::time_point now) {
    while (!timers_.empty() && timers_.begin()->first <= now) {
        Job job = std::move(timers_.begin()->second);
        timers_.erase(timers_.begin());
        job();
    }
}

int DnsClient::pollTimeoutMs(Clock::time_point now) {
    timeval longest{kMaxPollMs / 1000, (kMaxPollMs % 1000) * 1000};
    timeval wait{};
    const timeval* chosen = ares_timeout(channel_, &longest, &wait);
    long long ms = chosen->tv_sec * 1000LL + (chosen->tv_usec + 999) / 1000;
    if (!timers_.empty()) {
        const auto until =
            std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - now);
        ms = std::min<long long>(ms, std::max<long long>(until.count(), 0));
    }
    return static_cast<int>(std::clamp<long long>(ms, 0, kMaxPollMs));
}

void DnsClient::waitAndProcess(Clock::time_point now) {
    std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> sockets{};
    const int bits = ares_getsock(channel_, sockets.data(), ARES_GETSOCK_MAXNUM);
    std::array<pollfd, ARES_GETSOCK_MAXNUM + 1> fds{};
    fds[0] = pollfd{wake_fd_, POLLIN, 0};
    std::size_t count = 1;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) {
            events |= POLLIN;
        }
        if (ARES_GETSOCK_WRITABLE(bits, i)) {
            events |= POLLOUT;
        }
        if (events != 0) {
            fds[count++] = pollfd{sockets[i], events, 0};
        }
    }
    if (poll(fds.data(), count, pollTimeoutMs(now)) > 0) {
        if ((fds[0].revents & POLLIN) != 0) {
            std::uint64_t drained = 0;
            static_cast<void>(read(wake_fd_, &drained, sizeof drained));
        }
        for (std::size_t i = 1; i < count; ++i) {
            const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
            const bool writable = (fds[i].revents & POLLOUT) != 0;
            if (readable || writable) {
                ares_process_fd(channel_, readable ? fds[i].fd : ARES_SOCKET_BAD,
                                writable ? fds[i].fd : ARES_SOCKET_BAD);
            }
        }
    }
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retries and timeouts
}

}  // namespace mailgate::dnsbl
