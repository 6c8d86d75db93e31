#include "core/net/disk_threads.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace mailgate::net {
namespace {

using namespace std::chrono_literals;

// The job runs away from the I/O thread; the coroutine resumes on it with the job's result.
// run() has no other work meanwhile: it must not return before the coroutine has ended.
TEST(DiskThreadsTest, ResultComesBackOnTheAwaitingThread) {
    asio::io_context context;
    std::thread::id job_thread;
    std::thread::id resumed_thread;
    std::optional<int> result;
    asio::co_spawn(
        context,
        [&]() -> awaitable<void> {
            result = co_await runOnDiskThread([&] {
                job_thread = std::this_thread::get_id();
                std::this_thread::sleep_for(50ms);
                return 42;
            });
            resumed_thread = std::this_thread::get_id();
        },
        asio::detached);
    context.run();
    ASSERT_TRUE(result.has_value()) << "run() returned while the job was away";
    EXPECT_EQ(*result, 42);
    EXPECT_NE(job_thread, std::this_thread::get_id());
    EXPECT_EQ(resumed_thread, std::this_thread::get_id());
}

// While one coroutine waits on a slow disk job, another on the same one-thread io_context goes
// on: here it is the one that lets the job finish. Were the job run on the I/O thread, it would
// give up after its 5 s bound, unreleased.
TEST(DiskThreadsTest, OtherCoroutinesRunWhileAJobWaits) {
    asio::io_context context(1);
    std::promise<void> release;
    std::future<void> released = release.get_future();
    std::optional<bool> job_was_released;
    asio::co_spawn(
        context,
        [&]() -> awaitable<void> {
            job_was_released = co_await runOnDiskThread(
                [&] { return released.wait_for(5s) == std::future_status::ready; });
        },
        asio::detached);
    asio::co_spawn(
        context,
        [&]() -> awaitable<void> {
            asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
            co_await timer.async_wait(asio::use_awaitable);
            release.set_value();
        },
        asio::detached);
    const auto started = std::chrono::steady_clock::now();
    context.run();
    ASSERT_TRUE(job_was_released.has_value());
    EXPECT_TRUE(*job_was_released);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
}

// A job that throws hands its exception to the awaiting coroutine.
TEST(DiskThreadsTest, ExceptionReachesTheAwaitingCoroutine) {
    asio::io_context context;
    std::string caught;
    asio::co_spawn(
        context,
        [&]() -> awaitable<void> {
            try {
                co_await runOnDiskThread(
                    []() -> std::string { throw std::runtime_error("No space left on device"); });
            } catch (const std::runtime_error& error) {
                caught = error.what();
            }
        },
        asio::detached);
    context.run();
    EXPECT_EQ(caught, "No space left on device");
}

}  // namespace
}  // namespace mailgate::net
