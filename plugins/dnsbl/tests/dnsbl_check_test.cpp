// Deciding from the answers: weights, allowlists, threshold, reply, fail open.
#include "dnsbl_check.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mailgate::dnsbl {
namespace {

using mailgate::sdk::Session;
using mailgate::sdk::Verdict;

struct FakeSession {
    std::vector<std::string> logs;
    std::vector<std::pair<std::string, double>> symbols;
    int code = 0;
    std::string enhanced;
    std::string text;
    void* data = nullptr;
    void (*free_data)(void*) = nullptr;
    ~FakeSession() {
        if (free_data != nullptr) {
            free_data(data);
        }
    }
};

FakeSession& fake(mg_session* session) {
    return *reinterpret_cast<FakeSession*>(session);
}
std::string text(mg_str value) {
    return std::string(value.data, value.len);
}

mg_host makeHost() {
    mg_host host{};
    host.struct_size = sizeof(mg_host);
    host.abi_version = MAILGATE_ABI_VERSION;
    host.log = [](mg_session* s, mg_log_level, mg_str message) {
        fake(s).logs.push_back(text(message));
    };
    host.set_reply = [](mg_session* s, uint16_t code, mg_str enhanced, mg_str message) {
        fake(s).code = code;
        fake(s).enhanced = text(enhanced);
        fake(s).text = text(message);
        return 0;
    };
    host.add_symbol = [](mg_session* s, mg_str name, double score, mg_str) {
        fake(s).symbols.emplace_back(text(name), score);
        return 0;
    };
    host.set_session_data = [](mg_session* s, void* data, void (*free_data)(void*)) {
        if (fake(s).free_data != nullptr) {
            fake(s).free_data(fake(s).data);
        }
        fake(s).data = data;
        fake(s).free_data = free_data;
    };
    host.session_data = [](mg_session* s) { return fake(s).data; };
    return host;
}

DnsblConfig configOf(const std::string& yaml) {
    auto parsed = parseDnsblConfig(yaml);
    EXPECT_TRUE(parsed.errors.empty());
    return parsed.config;
}

class CheckTest : public ::testing::Test {
  protected:
    Session session() { return Session(&host_, reinterpret_cast<mg_session*>(&fake_)); }

    mg_host host_ = makeHost();
    FakeSession fake_;
};

const char* const kZones = R"(
threshold: 5
zones:
  - {zone: zen.test, weight: 10, returns: [127.0.0.2, 127.0.0.4/30]}
  - {zone: wl.test, weight: -20}
  - {zone: small.test, weight: 2}
  - {zone: dbl.test, weight: 3, lookup: sender_domain}
)";

// Only answers in `returns` count.
TEST(MatchingAnswer, ReturnCodes) {
    const DnsblConfig config = configOf(kZones);
    const Zone& zen = config.zones[0];
    EXPECT_EQ(matchingAnswer(zen, {0x7f000002u}), 0x7f000002u);
    EXPECT_EQ(matchingAnswer(zen, {0x7f000003u, 0x7f000007u}), 0x7f000007u);
    EXPECT_FALSE(matchingAnswer(zen, {0x7f000003u}));
    EXPECT_FALSE(matchingAnswer(zen, {}));
}

// A listed client over the threshold: symbol, reply naming the zone, reject; the outcome is
// kept for MAIL FROM.
TEST_F(CheckTest, ListedClientRejected) {
    const DnsblConfig config = configOf(kZones);
    Check check(config, Check::Stage::Connect, "192.0.2.1", "", {});
    check.add(config.zones[0], "1.2.0.192.zen.test");
    check.add(config.zones[2], "1.2.0.192.small.test");
    EXPECT_FALSE(check.complete());
    check.resolve(0, CachedAnswer{{0x7f000002u}});
    check.resolve(1, CachedAnswer{});
    ASSERT_TRUE(check.complete());
    EXPECT_EQ(check.decide(session()), Verdict::Reject);
    EXPECT_EQ(fake_.code, 554);
    EXPECT_EQ(fake_.enhanced, "5.7.1");
    EXPECT_EQ(fake_.text, "Service unavailable; client [192.0.2.1] blocked using zen.test");
    ASSERT_EQ(fake_.symbols.size(), 1u);
    EXPECT_EQ(fake_.symbols[0], std::make_pair(std::string("DNSBL_ZEN_TEST"), 10.0));
    const auto* outcome = static_cast<ClientOutcome*>(fake_.data);
    ASSERT_NE(outcome, nullptr);
    EXPECT_EQ(outcome->weight, 10);
    EXPECT_EQ(outcome->listed_zones, std::vector<std::string>{"zen.test"});
}

// An allowlist with a negative weight outweighs a listing.
TEST_F(CheckTest, AllowlistOutweighs) {
    const DnsblConfig config = configOf(kZones);
    Check check(config, Check::Stage::Connect, "192.0.2.1", "", {});
    check.add(config.zones[0], "1.2.0.192.zen.test");
    check.add(config.zones[1], "1.2.0.192.wl.test");
    check.resolve(0, CachedAnswer{{0x7f000002u}});
    check.resolve(1, CachedAnswer{{0x7f000a02u}});
    EXPECT_EQ(check.decide(session()), Verdict::Continue);
    EXPECT_EQ(fake_.code, 0);
    ASSERT_EQ(fake_.symbols.size(), 2u);
    EXPECT_EQ(fake_.symbols[1], std::make_pair(std::string("DNSWL_WL_TEST"), -20.0));
}

// Below the threshold: scored, not refused. The sender domain adds to the client's weight.
TEST_F(CheckTest, WeightsAddUpAcrossStages) {
    const DnsblConfig config = configOf(kZones);
    Check check(config, Check::Stage::MailFrom, "192.0.2.1", "spam.test",
                ClientOutcome{2, {"small.test"}});
    check.add(config.zones[3], "spam.test.dbl.test");
    check.resolve(0, CachedAnswer{{0x7f000002u}});
    EXPECT_EQ(check.decide(session()), Verdict::Reject);
    EXPECT_EQ(fake_.text,
              "Service unavailable; client [192.0.2.1] blocked using small.test, dbl.test");
    EXPECT_EQ(fake_.data, nullptr);  // only connect keeps an outcome
}

// A lookup that failed or timed out counts as not listed, and is logged.
TEST_F(CheckTest, FailureFailsOpen) {
    const DnsblConfig config = configOf(kZones);
    Check check(config, Check::Stage::Connect, "192.0.2.1", "", {});
    check.add(config.zones[0], "1.2.0.192.zen.test");
    check.add(config.zones[2], "1.2.0.192.small.test");
    check.fail(0, "Connection refused");
    check.expire();
    EXPECT_TRUE(check.complete());
    EXPECT_EQ(check.decide(session()), Verdict::Continue);
    ASSERT_EQ(fake_.logs.size(), 2u);
    EXPECT_EQ(fake_.logs[0],
              "lookup of 1.2.0.192.zen.test failed (Connection refused); counted "
              "as not listed (fail open)");
    EXPECT_NE(fake_.logs[1].find("no answer within 2000 ms"), std::string::npos);
}

// action: score only adds symbols; action: tempfail gives the 4xx reply.
TEST_F(CheckTest, ScoreAndTempfailActions) {
    const DnsblConfig score = configOf("action: score\nzones: [{zone: zen.test}]");
    Check scored(score, Check::Stage::Connect, "192.0.2.1", "", {});
    scored.add(score.zones[0], "1.2.0.192.zen.test");
    scored.resolve(0, CachedAnswer{{0x7f000002u}});
    EXPECT_EQ(scored.decide(session()), Verdict::Continue);
    EXPECT_EQ(fake_.symbols.size(), 1u);

    const DnsblConfig tempfail = configOf(
        "action: tempfail\nreply: {text: \"{sender_domain} via {client}\"}\n"
        "zones: [{zone: dbl.test, lookup: sender_domain}]");
    Check later(tempfail, Check::Stage::MailFrom, "192.0.2.1", "spam.test", {});
    later.add(tempfail.zones[0], "spam.test.dbl.test");
    later.resolve(0, CachedAnswer{{0x7f000002u}});
    EXPECT_EQ(later.decide(session()), Verdict::Tempfail);
    EXPECT_EQ(fake_.code, 451);
    EXPECT_EQ(fake_.text, "spam.test via 192.0.2.1");
}

}  // namespace
}  // namespace mailgate::dnsbl
