// The host functions of ABI 1.2 called the way a plugin calls them, through the host table, on an
// mg_session that stands for one hook call (no plugin behind it: every edit is declared).
#include <mailgate/plugin.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/plugin/host_api.hpp"

namespace mailgate::plugin {
namespace {

mg_str str(std::string_view text) {
    return mg_str{text.data(), text.size()};
}
std::string text(mg_str value) {
    return std::string(value.data, value.len);
}

class HostEditsTest : public ::testing::Test {
  protected:
    HostEditsTest() {
        info_.id = "S1";
        info_.client_ip = "192.0.2.7";
        transaction_.mail_from = "sender@example.test";
        transaction_.rcpts = {"a@example.test", "b@example.test"};
        transaction_.content.appendTarget() = content_;
        transaction_.parsed_headers = smtp::parseHeaderSection(content_);
        transaction_.headers.setOriginal(transaction_.parsed_headers, content_);
        state_.info = &info_;
        state_.transaction = &transaction_;
        state_.max_recipients = 3;
    }
    std::unique_ptr<mg_session> call(filter::Stage stage = filter::Stage::EndOfMessage) {
        return std::make_unique<mg_session>(&state_, nullptr, 0, stage, false);
    }

    const std::string content_ = "Subject: hi\r\nX-Drop: 1\r\n\r\nbody line\r\n";
    const mg_host& host_ = *hostTable();
    filter::SessionInfo info_;
    filter::Transaction transaction_;
    SessionState state_;
};

TEST_F(HostEditsTest, HeaderEditsApplyAtOnce) {
    auto c = call();
    EXPECT_EQ(host_.insert_header(c.get(), 0, str("X-First"), str("1")), 0);
    EXPECT_EQ(host_.change_header(c.get(), str("subject"), 1, str("changed")), 0);
    EXPECT_EQ(host_.delete_header(c.get(), str("X-Drop"), 1), 0);
    ASSERT_EQ(host_.header_count(c.get()), 2u);
    mg_str name{};
    mg_str value{};
    ASSERT_EQ(host_.header_at(c.get(), 1, &name, &value), 0);
    EXPECT_EQ(text(name), "Subject");
    EXPECT_EQ(text(value), " changed");
}

TEST_F(HostEditsTest, MalformedEditsAreRefused) {
    auto c = call();
    EXPECT_EQ(host_.insert_header(c.get(), 9, str("X"), str("1")), -1);  // past the end
    EXPECT_EQ(host_.insert_header(c.get(), 0, str("Bad Name"), str("1")), -1);
    EXPECT_EQ(host_.change_header(c.get(), str("X-Missing"), 1, str("v")), -1);
    EXPECT_EQ(host_.change_header(c.get(), str("Subject"), 1, str("a\nb")), -1);  // bare LF
    EXPECT_EQ(host_.delete_header(c.get(), str("Subject"), 2), -1);
    EXPECT_EQ(host_.replace_body(c.get(), str("bare\nlf")), -1);
    EXPECT_EQ(host_.replace_body(c.get(), str(std::string(999, 'x'))), -1);  // line too long
    EXPECT_EQ(host_.change_sender(c.get(), str("not an address")), -1);
    EXPECT_EQ(host_.add_rcpt(c.get(), str("a@example.test")), -1);  // already there
    EXPECT_EQ(host_.add_rcpt(c.get(), str("<x@example.test>")), -1);
    EXPECT_EQ(host_.delete_rcpt(c.get(), str("nobody@example.test")), -1);
    EXPECT_FALSE(transaction_.envelope_edited);
    EXPECT_FALSE(transaction_.headers.rewritten());
}

TEST_F(HostEditsTest, BodyReplacementGetsAFinalCrlf) {
    auto c = call();
    ASSERT_EQ(host_.replace_body(c.get(), str("new\r\nbody")), 0);
    EXPECT_EQ(*transaction_.replaced_body, "new\r\nbody\r\n");
    EXPECT_EQ(text(host_.body(c.get())), "new\r\nbody\r\n");  // later plugins see it
}

TEST_F(HostEditsTest, EnvelopeEditsRememberWhatTheBackendHas) {
    auto c = call();
    ASSERT_EQ(host_.change_sender(c.get(), str("bounce@example.test")), 0);
    ASSERT_EQ(host_.add_rcpt(c.get(), str("c@example.test")), 0);
    EXPECT_EQ(host_.add_rcpt(c.get(), str("d@example.test")), -1);  // max_recipients 3
    ASSERT_EQ(host_.delete_rcpt(c.get(), str("A@example.test")), 0);
    EXPECT_TRUE(transaction_.envelope_edited);
    EXPECT_EQ(transaction_.backend_mail_from, "sender@example.test");
    EXPECT_EQ(transaction_.backend_rcpts.size(), 2u);
    EXPECT_EQ(transaction_.mail_from, "bounce@example.test");
    EXPECT_EQ(transaction_.rcpts, (std::vector<std::string>{"b@example.test", "c@example.test"}));
    ASSERT_EQ(host_.change_sender(c.get(), str("")), 0);  // the null sender
    EXPECT_EQ(text(host_.mail_from(c.get())), "");
}

TEST_F(HostEditsTest, RejectRecipientKeepsTheReply) {
    auto c = call();
    EXPECT_EQ(host_.reject_rcpt(c.get(), str("a@example.test"), 250, str(""), str("")), -1);
    ASSERT_EQ(host_.reject_rcpt(c.get(), str("a@example.test"), 550, str("5.7.1"), str("no")), 0);
    ASSERT_EQ(transaction_.refused_rcpts.size(), 1u);
    EXPECT_EQ(transaction_.refused_rcpts[0].reply.toWire(), "550 5.7.1 no\r\n");
    EXPECT_EQ(transaction_.rcpts, (std::vector<std::string>{"b@example.test"}));
}

// Before the message arrives only add_header may be used (as in ABI 1.0).
TEST_F(HostEditsTest, EditsWaitForTheMessage) {
    auto c = call(filter::Stage::RcptTo);
    EXPECT_EQ(host_.change_sender(c.get(), str("x@example.test")), -1);
    EXPECT_EQ(host_.insert_header(c.get(), 0, str("X"), str("1")), -1);
    EXPECT_EQ(host_.reject_rcpt(c.get(), str("a@example.test"), 550, str(""), str("")), -1);
    EXPECT_EQ(host_.add_header(c.get(), str("X-Early"), str("1")), 0);
    EXPECT_EQ(text(host_.body(c.get())), "");
}

// Once the host stops waiting for a call, the plugin can no longer reach the session, and data
// handed over then is freed at once instead of leaking.
TEST_F(HostEditsTest, AClosedCallReachesNothing) {
    auto c = call();
    c->state = nullptr;
    EXPECT_EQ(text(host_.mail_from(c.get())), "");
    EXPECT_EQ(host_.add_header(c.get(), str("X"), str("1")), -1);
    EXPECT_EQ(host_.set_reply(c.get(), 550, str(""), str("")), -1);
    static int freed = 0;
    host_.set_session_data(c.get(), &freed, [](void* data) { ++*static_cast<int*>(data); });
    EXPECT_EQ(freed, 1);
}

// Strings given to a call that may outlive the session are copies owned by the call.
TEST_F(HostEditsTest, WorkerCallsGetCopies) {
    auto c = std::make_unique<mg_session>(&state_, nullptr, 0, filter::Stage::MailFrom, true);
    const mg_str sender = host_.mail_from(c.get());
    transaction_.mail_from = "changed@example.test";
    EXPECT_EQ(text(sender), "sender@example.test");
}

// complete() once per pending call; the second and a pending verdict are refused.
TEST_F(HostEditsTest, CompleteOnce) {
    auto c = call();
    c->status = CallStatus::Pending;
    EXPECT_EQ(host_.complete(c.get(), MG_PENDING), -1);
    EXPECT_EQ(host_.complete(c.get(), MG_REJECT), 0);
    EXPECT_EQ(c->status, CallStatus::Done);
    EXPECT_EQ(c->result, MG_REJECT);
    EXPECT_EQ(host_.complete(c.get(), MG_ACCEPT), -1);
}

// A completion after the host gave up says so (-2) and releases the call.
TEST_F(HostEditsTest, CompleteAfterAbandon) {
    auto owner = std::make_shared<mg_session>(&state_, nullptr, 0, filter::Stage::RcptTo, true);
    mg_session* raw = owner.get();
    raw->status = CallStatus::Abandoned;
    raw->self = owner;
    owner.reset();
    const size_t before = liveCalls();
    std::thread completer([&] { EXPECT_EQ(host_.complete(raw, MG_ACCEPT), -2); });
    completer.join();
    // Released on the worker pool when there is one (not on the plugin's thread): wait for it.
    for (int i = 0; i < 200 && liveCalls() != before - 1; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(liveCalls(), before - 1);
}

}  // namespace
}  // namespace mailgate::plugin
