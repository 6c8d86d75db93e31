#include "core/net/deadline.hpp"

namespace mailgate::net {

using Clock = std::chrono::steady_clock;

struct Deadline::State {
    explicit State(asio::any_io_executor executor) : timer(executor) {}
    asio::steady_timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point timer_at = Clock::time_point::max();
    std::function<void()> on_expire;
    bool stopped = false;
    bool expired = false;
};

namespace {

awaitable<void> watch(std::shared_ptr<Deadline::State> state) {
    while (!state->stopped) {
        state->timer_at = state->deadline;
        state->timer.expires_at(state->timer_at);
        co_await state->timer.async_wait(use_nothrow);
        if (state->stopped) {
            break;
        }
        if (state->deadline != Clock::time_point::max() && Clock::now() >= state->deadline) {
            state->expired = true;
            state->deadline = Clock::time_point::max();
            if (state->on_expire) {
                state->on_expire();
            }
        }
    }
}

}  // namespace

Deadline::Deadline(asio::any_io_executor executor, std::function<void()> on_expire)
    : state_(std::make_shared<State>(executor)) {
    state_->on_expire = std::move(on_expire);
    asio::co_spawn(executor, watch(state_), asio::detached);
}

Deadline::~Deadline() {
    state_->stopped = true;
    state_->on_expire = nullptr;
    state_->timer.cancel();
}

void Deadline::arm(std::chrono::milliseconds duration) {
    const auto when = Clock::now() + duration;
    state_->deadline = when;
    state_->expired = false;
    if (when < state_->timer_at) {
        state_->timer.cancel();  // the watcher sleeps too long: wake it to wait for `when`
    }
}

void Deadline::disarm() {
    state_->deadline = Clock::time_point::max();
}

bool Deadline::expired() const {
    return state_->expired;
}

}  // namespace mailgate::net
