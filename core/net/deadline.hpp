#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "core/net/asio.hpp"

namespace mailgate::net {

// A deadline for the I/O of one connection, in the manner of Beast's tcp_stream: when it passes,
// `on_expire` runs (it cancels the socket's pending operations). Re-arming is cheap: the timer
// only wakes when the earliest deadline passes, not on every arm().
class Deadline {
  public:
    Deadline(asio::any_io_executor executor, std::function<void()> on_expire);
    ~Deadline();
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    void arm(std::chrono::milliseconds duration);
    void disarm();
    // True when the last armed deadline passed (reset by arm()).
    bool expired() const;

    struct State;  // shared with the watcher coroutine, which may outlive this object briefly

  private:
    std::shared_ptr<State> state_;
};

}  // namespace mailgate::net
