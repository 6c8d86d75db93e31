#pragma once

#include <mailgate/plugin.hpp>

#include "rules.hpp"
#include "spam_config.hpp"

namespace mailgate::spam_score {

// Gathers what the rule set needs from the session at end of message (and nothing more:
// MIME is decoded only when body or content_type rules exist, the raw text only for raw rules).
MessageFacts gatherFacts(const sdk::Session& session, const RuleSet& rules, const MimeLimits& mime);

}  // namespace mailgate::spam_score
