#include "core/auth/failure_limit.hpp"

#include <gtest/gtest.h>

namespace mailgate::auth {
namespace {

using namespace std::chrono_literals;

// max failures within the window from the first: refused until the window has passed.
TEST(FailureLimitTest, CountsPerAddressWithinTheWindow) {
    FailureLimit limit;
    const auto start = FailureLimit::Clock::now();
    EXPECT_TRUE(limit.allowed("192.0.2.1", 2, 10min, start));
    limit.failed("192.0.2.1", 10min, start);
    EXPECT_TRUE(limit.allowed("192.0.2.1", 2, 10min, start + 1s));
    limit.failed("192.0.2.1", 10min, start + 1s);
    EXPECT_FALSE(limit.allowed("192.0.2.1", 2, 10min, start + 2s));
    EXPECT_TRUE(limit.allowed("192.0.2.2", 2, 10min, start + 2s));  // another address
    EXPECT_TRUE(limit.allowed("192.0.2.1", 2, 10min, start + 10min));
    limit.failed("192.0.2.1", 10min, start + 10min);  // a new window
    EXPECT_TRUE(limit.allowed("192.0.2.1", 2, 10min, start + 10min + 1s));
}

}  // namespace
}  // namespace mailgate::auth
