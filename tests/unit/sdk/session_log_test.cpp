// The C++ wrapper's Session::log_enabled against a fake host table: it asks the host (ABI 1.3)
// and answers true on an older host, which cannot tell.
#include <mailgate/plugin.hpp>

#include <gtest/gtest.h>

#include <cstddef>

namespace {

using mailgate::sdk::LogLevel;
using mailgate::sdk::Session;

mg_log_level g_asked = MG_LOG_ERROR;

mg_host fakeHost() {
    mg_host host{};
    host.struct_size = sizeof(mg_host);
    host.abi_version = MAILGATE_ABI_VERSION;
    host.log_enabled = [](mg_session*, mg_log_level level) {
        g_asked = level;
        return level >= MG_LOG_WARNING ? 1 : 0;
    };
    return host;
}

TEST(SessionLogTest, AsksTheHost) {
    const mg_host host = fakeHost();
    const Session session(&host, nullptr);
    EXPECT_FALSE(session.log_enabled(LogLevel::Debug));
    EXPECT_EQ(g_asked, MG_LOG_DEBUG);
    EXPECT_FALSE(session.log_enabled(LogLevel::Info));
    EXPECT_TRUE(session.log_enabled(LogLevel::Warning));
    EXPECT_EQ(g_asked, MG_LOG_WARNING);
}

TEST(SessionLogTest, OlderHostLogsEverything) {
    mg_host host = fakeHost();
    host.struct_size = offsetof(mg_host, log_enabled);  // ABI 1.2
    const Session session(&host, nullptr);
    g_asked = MG_LOG_ERROR;
    EXPECT_TRUE(session.log_enabled(LogLevel::Debug));
    EXPECT_EQ(g_asked, MG_LOG_ERROR);  // not called
}

}  // namespace
