// Scan threads: at most `max` at once, each job run exactly once, the destructor waits.
#include "scan_threads.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>

namespace mailgate::spam_score {
namespace {

// A second job is refused while the only slot is taken, and accepted once it is free.
TEST(ScanThreadsTest, BoundedAndReused) {
    ScanThreads threads(1);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> ran{0};
    ASSERT_TRUE(threads.tryStart([&ran, released] {
        released.wait();
        ++ran;
    }));
    EXPECT_FALSE(threads.tryStart([&ran] { ran += 100; }));
    EXPECT_EQ(threads.running(), 1u);
    release.set_value();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (threads.running() != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(ran.load(), 1);
    EXPECT_TRUE(threads.tryStart([&ran] { ++ran; }));
}

// Destroying the object waits for the jobs still running.
TEST(ScanThreadsTest, DestructorWaits) {
    auto done = std::make_shared<std::atomic<int>>(0);
    {
        ScanThreads threads(8);
        for (int i = 0; i < 8; ++i) {
            ASSERT_TRUE(threads.tryStart([done] {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                ++*done;
            }));
        }
    }
    EXPECT_EQ(done->load(), 8);
}

}  // namespace
}  // namespace mailgate::spam_score
