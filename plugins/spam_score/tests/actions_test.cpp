// Actions by score, and the header texts.
#include "actions.hpp"

#include <gtest/gtest.h>

namespace mailgate::spam_score {
namespace {

// The strongest action reached wins; without headers and below every threshold: none.
TEST(ActionsTest, ChooseAction) {
    Actions actions;
    actions.quarantine_score = 8;
    actions.tempfail_score = 10;
    actions.reject_score = 15;
    EXPECT_EQ(chooseAction(actions, 1), Action::Tag);
    EXPECT_EQ(chooseAction(actions, 8), Action::Quarantine);
    EXPECT_EQ(chooseAction(actions, 12), Action::Tempfail);
    EXPECT_EQ(chooseAction(actions, 15), Action::Reject);
    actions.add_headers = false;
    EXPECT_EQ(chooseAction(actions, 1), Action::None);
    actions.subject_prefix_score = 1;
    EXPECT_EQ(chooseAction(actions, 1), Action::Tag);
}

// A scanner's own verdict is a floor: the score can only make it stronger.
TEST(ActionsTest, ChooseActionWithFloor) {
    Actions actions;
    actions.reject_score = 15;
    EXPECT_EQ(chooseAction(actions, 0, Action::Reject), Action::Reject);
    EXPECT_EQ(chooseAction(actions, 0, Action::Tempfail), Action::Tempfail);
    EXPECT_EQ(chooseAction(actions, 20, Action::Tempfail), Action::Reject);
    EXPECT_EQ(chooseAction(actions, 0, Action::None), Action::Tag);
}

// X-Spam-Status lists the symbols, folded before the line grows past ~78 columns.
TEST(ActionsTest, SpamStatus) {
    Actions actions;
    EXPECT_EQ(spamStatus(actions, 0, {}), "No, score=0.00 required=5.00 tests=none");
    EXPECT_EQ(spamStatus(actions, 6.5, {{"A", 5}, {"B", 1.5}}),
              "Yes, score=6.50 required=5.00 tests=A,B");
    std::vector<SymbolView> many;
    const std::string name(20, 'X');
    for (int i = 0; i < 6; ++i) {
        many.push_back({name, 1});
    }
    const std::string status = spamStatus(actions, 6, many);
    EXPECT_NE(status.find(",\r\n\t" + name), std::string::npos) << status;
    std::size_t start = 0;
    while (start < status.size()) {
        const std::size_t end = status.find("\r\n", start);
        const std::size_t length = (end == std::string::npos ? status.size() : end) - start;
        EXPECT_LE(length + (start == 0 ? 15 : 0), 78u) << status;
        start = end == std::string::npos ? status.size() : end + 2;
    }
}

// The prefix goes before the trimmed subject, once.
TEST(ActionsTest, PrefixedSubject) {
    EXPECT_EQ(prefixedSubject("[SPAM] ", " hello"), "[SPAM] hello");
    EXPECT_EQ(prefixedSubject("[SPAM] ", " [SPAM] hello"), "[SPAM] hello");
    EXPECT_EQ(prefixedSubject("[SPAM] ", ""), "[SPAM] ");
}

TEST(ActionsTest, FormatScore) {
    EXPECT_EQ(formatScore(1000), "1000.00");
    EXPECT_EQ(formatScore(-0.5), "-0.50");
}

}  // namespace
}  // namespace mailgate::spam_score
