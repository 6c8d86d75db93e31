// log_enabled (ABI 1.3) through the real host table: it follows the configured log level.
#include <mailgate/plugin.h>

#include <gtest/gtest.h>

#include "core/ops/log.hpp"
#include "core/plugin/host_api.hpp"

namespace mailgate::plugin {
namespace {

class HostLogTest : public ::testing::Test {
  protected:
    void TearDown() override { ops::setLogLevel(ops::LogLevel::Info); }

    const mg_host& host_ = *hostTable();
};

TEST_F(HostLogTest, TableHasLogEnabled) {
    EXPECT_EQ(host_.abi_version, MAILGATE_ABI_VERSION);
    ASSERT_TRUE(MG_HOST_HAS(&host_, log_enabled));
    EXPECT_NE(host_.log_enabled, nullptr);
}

TEST_F(HostLogTest, LogEnabledFollowsTheLevel) {
    ops::setLogLevel(ops::LogLevel::Warning);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_DEBUG), 0);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_INFO), 0);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_WARNING), 1);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_ERROR), 1);

    ops::setLogLevel(ops::LogLevel::Debug);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_DEBUG), 1);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_INFO), 1);

    ops::setLogLevel(ops::LogLevel::Error);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_WARNING), 0);
    EXPECT_EQ(host_.log_enabled(nullptr, MG_LOG_ERROR), 1);
}

}  // namespace
}  // namespace mailgate::plugin
