#pragma once

#include <mailgate/plugin.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "spam_config.hpp"

// What the total score leads to: headers, subject prefix, quarantine, tempfail or reject.
namespace mailgate::spam_score {

struct SymbolView {
    std::string_view name;
    double score;
};

enum class Action { None, Tag, Quarantine, Tempfail, Reject };

// The strongest action `score` reaches, and at least `floor` (a scanner's own verdict).
Action chooseAction(const Actions& actions, double score, Action floor = Action::None);
std::string_view actionName(Action action);

// "12.50"
std::string formatScore(double score);
// "Yes, score=12.50 required=5.00 tests=GTUBE,MISSING_DATE", folded before ~78 columns.
std::string spamStatus(const Actions& actions, double score,
                       const std::vector<SymbolView>& symbols);
// The Subject value with the prefix, unless it already starts with it.
std::string prefixedSubject(std::string_view prefix, std::string_view value);

// Applies the configured actions to the session; returns the verdict of the hook.
sdk::Verdict applyActions(const Actions& actions, const sdk::Session& session,
                          Action floor = Action::None);

}  // namespace mailgate::spam_score
