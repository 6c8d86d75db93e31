#include "core/net/memory_trim.hpp"

#include <gtest/gtest.h>

namespace mailgate::net {
namespace {

// A trim is due once the open sessions fall to a quarter of a peak worth trimming after.
TEST(MemoryTrimTest, DueAfterABurstHasEnded) {
    MemoryTrim trim;
    EXPECT_FALSE(trim.due(0));  // no burst yet
    trim.noteOpen(MemoryTrim::kMinimumPeak - 1);
    EXPECT_FALSE(trim.due(0));  // too small a peak to bother
    trim.noteOpen(1000);
    trim.noteOpen(10);  // the peak stays
    EXPECT_FALSE(trim.due(251));
    EXPECT_TRUE(trim.due(250));
    EXPECT_TRUE(trim.due(0));
}

// After a trim the peak starts again from the sessions still open: no second trim until the
// next burst is over.
TEST(MemoryTrimTest, TrimStartsANewPeak) {
    MemoryTrim trim;
    trim.noteOpen(1000);
    ASSERT_TRUE(trim.due(100));
    trim.trim(100);
    EXPECT_FALSE(trim.due(0));
    trim.noteOpen(400);
    EXPECT_FALSE(trim.due(101));
    EXPECT_TRUE(trim.due(100));
}

}  // namespace
}  // namespace mailgate::net
