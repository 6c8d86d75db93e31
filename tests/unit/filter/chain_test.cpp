// The chain is tested with the C verdict_plugin loaded from its .so, as in production (it runs on
// the worker pool: it does not declare itself nonblocking).
#include "core/filter/chain.hpp"

#include <gtest/gtest.h>

namespace mailgate::filter {
namespace {

// Runs one stage to its end on a private io_context, as a session's coroutine would.
Decision runStage(const FilterChain& chain, Stage stage, plugin::SessionState& state) {
    asio::io_context io;
    ChainContext context{state, io.get_executor(), nullptr, nullptr};
    Decision result;
    asio::co_spawn(io, chain.run(stage, context),
                   [&](std::exception_ptr, Decision decision) { result = std::move(decision); });
    io.run();
    return result;
}

struct Verdict {
    std::string stage;
    std::string verdict;
    std::string extra;  // more "key: value" lines
};

FilterChain chainOf(const std::vector<Verdict>& verdicts) {
    std::string yaml = "backend: {type: maildir, path: /tmp/unused}\nplugins:\n";
    int n = 0;
    for (const auto& v : verdicts) {
        yaml += "  - name: p" + std::to_string(n++) +
                "\n    path: " MAILGATE_TEST_PLUGIN_DIR
                "/verdict_plugin.so\n    config:\n      stage: " +
                v.stage + "\n      verdict: " + v.verdict + "\n" + v.extra;
    }
    config::LoadResult result = config::loadConfigText(yaml, "chain.yaml");
    EXPECT_TRUE(result.ok()) << result.errors[0].toString();
    std::vector<config::ConfigError> errors;
    plugin::PluginList plugins = plugin::loadPlugins(result.config, errors);
    EXPECT_TRUE(errors.empty()) << errors[0].toString();
    return FilterChain(std::move(plugins));
}

class ChainTest : public ::testing::Test {
  protected:
    ChainTest() {
        info_.id = "test";
        info_.client_ip = "192.0.2.1";
        transaction_.id = "test.1";
        state_.info = &info_;
        state_.transaction = &transaction_;
        state_.current_rcpt = "user@example.test";
    }
    Decision run(const FilterChain& chain, Stage stage) { return runStage(chain, stage, state_); }

    SessionInfo info_;
    Transaction transaction_;
    plugin::SessionState state_;
};

// With no plugin deciding, the stage continues.
TEST_F(ChainTest, EmptyChainContinues) {
    const FilterChain chain(plugin::PluginList{});
    EXPECT_EQ(run(chain, Stage::RcptTo).verdict, MG_CONTINUE);
}

// Which stages have hooks is known from the descriptors: the verdict plugin has no reset or
// close hook; an empty chain has none at all.
TEST_F(ChainTest, HasHookFollowsTheDescriptors) {
    const FilterChain empty(plugin::PluginList{});
    const FilterChain chain = chainOf({{"rcpt_to", "accept", ""}});
    for (const Stage stage : {Stage::Connect, Stage::Helo, Stage::MailFrom, Stage::RcptTo,
                              Stage::Data, Stage::Headers, Stage::Body, Stage::EndOfMessage}) {
        EXPECT_TRUE(chain.hasHook(stage)) << stageName(stage);
        EXPECT_FALSE(empty.hasHook(stage)) << stageName(stage);
    }
    for (const Stage stage : {Stage::Reset, Stage::Close}) {
        EXPECT_FALSE(chain.hasHook(stage)) << stageName(stage);
        EXPECT_FALSE(empty.hasHook(stage)) << stageName(stage);
    }
}

// Accept stops the stage: later plugins are not asked.
TEST_F(ChainTest, AcceptStopsTheStage) {
    const FilterChain chain = chainOf({{"rcpt_to", "accept", ""}, {"rcpt_to", "reject", ""}});
    const Decision decision = run(chain, Stage::RcptTo);
    EXPECT_EQ(decision.verdict, MG_ACCEPT);
    EXPECT_EQ(decision.plugin, "p0");
}

// Plugins run in config order; a plugin without a hook for the stage is skipped.
TEST_F(ChainTest, RunsInOrder) {
    const FilterChain chain = chainOf({{"helo", "reject", ""}, {"rcpt_to", "tempfail", ""}});
    const Decision decision = run(chain, Stage::RcptTo);
    EXPECT_EQ(decision.verdict, MG_TEMPFAIL);
    EXPECT_EQ(decision.plugin, "p1");
}

// A reply set by the plugin is used when it fits the verdict.
TEST_F(ChainTest, UsesThePluginReply) {
    const FilterChain chain =
        chainOf({{"end_of_message", "reject",
                  "      code: 554\n      enhanced: \"5.7.0\"\n      text: no\n"}});
    const Decision decision = run(chain, Stage::EndOfMessage);
    EXPECT_EQ(decision.reply.toWire(), "554 5.7.0 no\r\n");
}

// A reply whose class contradicts the verdict is replaced by the default.
TEST_F(ChainTest, MismatchedReplyGetsDefault) {
    const FilterChain chain = chainOf({{"rcpt_to", "tempfail", "      code: 550\n"}});
    const Decision decision = run(chain, Stage::RcptTo);
    EXPECT_EQ(decision.reply.code, 451);
}

// Default replies carry the right class and an enhanced code.
TEST(DefaultReplyTest, Classes) {
    EXPECT_EQ(defaultReply(Stage::RcptTo, MG_REJECT).toWire(), "550 5.7.1 Rejected by policy\r\n");
    EXPECT_EQ(defaultReply(Stage::EndOfMessage, MG_REJECT).code, 554);
    EXPECT_EQ(defaultReply(Stage::MailFrom, MG_TEMPFAIL).enhanced, "4.7.1");
    EXPECT_EQ(defaultReply(Stage::Helo, MG_DISCONNECT).code, 421);
}

// The add_header edit lands in the transaction.
TEST_F(ChainTest, AddHeaderEdit) {
    const FilterChain chain =
        chainOf({{"end_of_message", "continue", "      add_header: \"X-Test: yes\"\n"}});
    run(chain, Stage::EndOfMessage);
    ASSERT_EQ(transaction_.headers.size(), 1u);
    EXPECT_EQ(transaction_.headers.at(0).name, "X-Test");
    EXPECT_EQ(transaction_.headers.at(0).value, " yes");
}

// A plugin built for ABI 1.2 may not edit what it did not declare: verdict_plugin declares
// nothing, so its add_header is refused (the header does not appear).
TEST_F(ChainTest, StageOrderNamesEveryHook) {
    EXPECT_STREQ(stageName(Stage::Data), "data");
    EXPECT_STREQ(stageName(Stage::Headers), "headers");
    EXPECT_STREQ(stageName(Stage::Body), "body");
    EXPECT_STREQ(stageName(Stage::Reset), "reset");
    EXPECT_TRUE(isMessageStage(Stage::Body));
    EXPECT_FALSE(isMessageStage(Stage::Data));
}

}  // namespace
}  // namespace mailgate::filter
