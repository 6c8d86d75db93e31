// The plugin through its C ABI, driven by a fake host.
#include <mailgate/plugin.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

extern "C" const mg_plugin_descriptor* mailgate_plugin_entry(void);

namespace {

struct FakeSession {
    FakeSession(std::string client_address, std::string recipient)
        : client(std::move(client_address)), rcpt(std::move(recipient)) {}

    std::string client;
    std::string rcpt;
    int reply_code = 0;
    std::string reply_enhanced;
    std::string reply_text;
    std::vector<std::string> logs;
};

struct FakeLoad {
    std::vector<std::pair<std::string, std::string>> errors;  // path, message
};

std::vector<std::string> g_load_logs;  // lines logged without a session
bool g_debug_logged = true;            // what the fake host's log_enabled says for debug

std::string text(mg_str value) {
    return std::string(value.data, value.len);
}
mg_str view(const std::string& value) {
    return mg_str{value.data(), value.size()};
}
FakeSession& fake(mg_session* session) {
    return *reinterpret_cast<FakeSession*>(session);
}
mg_session* asSession(FakeSession& session) {
    return reinterpret_cast<mg_session*>(&session);
}
mg_load_context* asLoad(FakeLoad& load) {
    return reinterpret_cast<mg_load_context*>(&load);
}

mg_host makeHost() {
    mg_host host{};
    host.struct_size = sizeof(mg_host);
    host.abi_version = MAILGATE_ABI_VERSION;
    host.log = [](mg_session* session, mg_log_level, mg_str message) {
        (session != nullptr ? fake(session).logs : g_load_logs).push_back(text(message));
    };
    host.log_enabled = [](mg_session*, mg_log_level level) {
        return level != MG_LOG_DEBUG || g_debug_logged ? 1 : 0;
    };
    host.config_error = [](mg_load_context* load, const char* path, mg_str message) {
        reinterpret_cast<FakeLoad*>(load)->errors.emplace_back(path, text(message));
    };
    host.set_reply = [](mg_session* session, uint16_t code, mg_str enhanced, mg_str message) {
        fake(session).reply_code = code;
        fake(session).reply_enhanced = text(enhanced);
        fake(session).reply_text = text(message);
        return 0;
    };
    host.client_address = [](mg_session* session) { return view(fake(session).client); };
    host.current_rcpt = [](mg_session* session) { return view(fake(session).rcpt); };
    return host;
}

class RelayAccessPluginTest : public ::testing::Test {
  protected:
    void SetUp() override {
        g_load_logs.clear();
        g_debug_logged = true;
    }

    void TearDown() override {
        if (instance_ != nullptr) {
            descriptor_->destroy(instance_);
        }
    }

    void* create(const std::string& yaml) {
        instance_ = descriptor_->create(&host_, asLoad(load_), view(yaml));
        return instance_;
    }

    mg_verdict rcpt(FakeSession& session) {
        return descriptor_->on_rcpt_to(instance_, asSession(session));
    }

    const mg_plugin_descriptor* descriptor_ = mailgate_plugin_entry();
    mg_host host_ = makeHost();
    FakeLoad load_;
    void* instance_ = nullptr;
};

constexpr const char* kExample = R"(
trusted_networks: ["127.0.0.0/8", "::1/128", "192.0.2.7"]
local_domains: ["example.test", ".example.org"]
)";

// The descriptor matches this SDK and registers the rcpt_to hook only.
TEST_F(RelayAccessPluginTest, DescriptorRegistersRcptToOnly) {
    ASSERT_NE(descriptor_, nullptr);
    EXPECT_EQ(descriptor_->struct_size, sizeof(mg_plugin_descriptor));
    EXPECT_EQ(descriptor_->abi_version, MAILGATE_ABI_VERSION);
    EXPECT_STREQ(descriptor_->name, "relay_access");
    EXPECT_NE(descriptor_->create, nullptr);
    EXPECT_NE(descriptor_->destroy, nullptr);
    EXPECT_NE(descriptor_->on_rcpt_to, nullptr);
    EXPECT_EQ(descriptor_->on_connect, nullptr);
    EXPECT_EQ(descriptor_->on_helo, nullptr);
    EXPECT_EQ(descriptor_->on_mail_from, nullptr);
    EXPECT_EQ(descriptor_->on_end_of_message, nullptr);
    EXPECT_EQ(descriptor_->on_close, nullptr);
}

// Every config error reaches the host with its path, and create returns NULL.
TEST_F(RelayAccessPluginTest, ConfigErrorsReachHost) {
    EXPECT_EQ(create("trusted_networks: [\"127.0.0.1\", \"nonsense\"]\nbogus: 1\n"), nullptr);
    ASSERT_EQ(load_.errors.size(), 2u);
    EXPECT_EQ(load_.errors[0].first, "trusted_networks[1]");
    EXPECT_EQ(load_.errors[1].first, "bogus");
    EXPECT_EQ(load_.errors[1].second.rfind("unknown key", 0), 0u);
}

// Broken YAML is a config error, not an exception across the C boundary.
TEST_F(RelayAccessPluginTest, InvalidYamlIsConfigError) {
    EXPECT_EQ(create("local_domains: [\"a.test\"\n"), nullptr);
    ASSERT_EQ(load_.errors.size(), 1u);
    EXPECT_EQ(load_.errors[0].first, "");
}

// A network with host bits set loads, with a warning in the log.
TEST_F(RelayAccessPluginTest, HostBitsWarningLogged) {
    ASSERT_NE(create("trusted_networks: [\"10.9.8.7/8\"]\n"), nullptr);
    ASSERT_EQ(g_load_logs.size(), 1u);
    EXPECT_NE(g_load_logs[0].find("trusted_networks[0]"), std::string::npos);
    EXPECT_NE(g_load_logs[0].find("10.0.0.0/8"), std::string::npos);
}

// A foreign recipient from an untrusted client gets 550 5.7.1 naming the recipient.
TEST_F(RelayAccessPluginTest, ForeignRecipientRejected) {
    ASSERT_NE(create(kExample), nullptr);
    FakeSession session{"203.0.113.9", "user@other.example"};
    EXPECT_EQ(rcpt(session), MG_REJECT);
    EXPECT_EQ(session.reply_code, 550);
    EXPECT_EQ(session.reply_enhanced, "5.7.1");
    EXPECT_EQ(session.reply_text, "<user@other.example>: Relay access denied");
    ASSERT_EQ(session.logs.size(), 1u);
    EXPECT_NE(session.logs[0].find("relay refused"), std::string::npos);
}

// reject_message replaces the reply text after the recipient.
TEST_F(RelayAccessPluginTest, CustomRejectMessage) {
    ASSERT_NE(create("reject_message: \"We do not relay\"\n"), nullptr);
    FakeSession session{"127.0.0.1", "user%other@example.test"};
    EXPECT_EQ(rcpt(session), MG_REJECT);
    EXPECT_EQ(session.reply_text, "<user%other@example.test>: We do not relay");
}

// Local recipients and trusted clients are accepted without touching the reply.
TEST_F(RelayAccessPluginTest, AcceptedWithoutReply) {
    ASSERT_NE(create(kExample), nullptr);
    FakeSession local{"203.0.113.9", "user@EXAMPLE.test"};
    EXPECT_EQ(rcpt(local), MG_ACCEPT);
    EXPECT_EQ(local.reply_code, 0);
    FakeSession mapped{"::ffff:127.0.0.1", "user@other.example"};
    EXPECT_EQ(rcpt(mapped), MG_ACCEPT);
    FakeSession postmaster{"203.0.113.9", "postmaster"};
    EXPECT_EQ(rcpt(postmaster), MG_ACCEPT);
}

// Each accepted recipient gets a debug line with the reason, when debug lines are written; on
// a host older than ABI 1.3, which cannot say, too. The refusal is logged at info either way.
TEST_F(RelayAccessPluginTest, DebugLinesOnlyWhenWritten) {
    ASSERT_NE(create(kExample), nullptr);
    FakeSession logged{"203.0.113.9", "user@example.test"};
    EXPECT_EQ(rcpt(logged), MG_ACCEPT);
    ASSERT_EQ(logged.logs.size(), 1u);
    EXPECT_EQ(logged.logs[0],
              "relay allowed for <user@example.test> from 203.0.113.9: recipient is in a local "
              "domain");

    g_debug_logged = false;
    FakeSession quiet{"203.0.113.9", "user@example.test"};
    EXPECT_EQ(rcpt(quiet), MG_ACCEPT);
    EXPECT_TRUE(quiet.logs.empty());
    FakeSession refused{"203.0.113.9", "user@other.example"};
    EXPECT_EQ(rcpt(refused), MG_REJECT);
    ASSERT_EQ(refused.logs.size(), 1u);
    EXPECT_NE(refused.logs[0].find("relay refused for <user@other.example>"), std::string::npos);

    host_.struct_size = static_cast<uint32_t>(offsetof(mg_host, log_enabled));  // ABI 1.2
    FakeSession older{"203.0.113.9", "user@example.test"};
    EXPECT_EQ(rcpt(older), MG_ACCEPT);
    EXPECT_EQ(older.logs.size(), 1u);
}

// With no config nothing is relayed, not even for localhost.
TEST_F(RelayAccessPluginTest, EmptyConfigRelaysNothing) {
    instance_ = descriptor_->create(&host_, asLoad(load_), mg_str{nullptr, 0});
    ASSERT_NE(instance_, nullptr);
    EXPECT_TRUE(load_.errors.empty());
    FakeSession session{"127.0.0.1", "user@localhost"};
    EXPECT_EQ(rcpt(session), MG_REJECT);
}

// Control characters from the client are not echoed into the reply.
TEST_F(RelayAccessPluginTest, ReplyIsSanitized) {
    ASSERT_NE(create(kExample), nullptr);
    FakeSession session{"203.0.113.9", std::string("a\r\nb@other.example")};
    EXPECT_EQ(rcpt(session), MG_REJECT);
    EXPECT_EQ(session.reply_text, "<a??b@other.example>: Relay access denied");
}

// A host table too short for the functions the plugin calls is refused with a message.
TEST_F(RelayAccessPluginTest, ShortHostTableRefused) {
    host_.struct_size = static_cast<uint32_t>(offsetof(mg_host, current_rcpt));
    EXPECT_EQ(create(kExample), nullptr);
    EXPECT_EQ(load_.errors.size(), 1u);
}

}  // namespace
