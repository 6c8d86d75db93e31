#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spam_config.hpp"

namespace mailgate::spam_score::testing {

// The config of `yaml`, which must have no errors.
inline SpamConfig configFrom(const std::string& yaml) {
    ConfigParseResult parsed = parseSpamConfig(yaml);
    for (const auto& error : parsed.errors) {
        ADD_FAILURE() << error.path << ": " << error.message;
    }
    return std::move(parsed.config);
}

// The errors reading `yaml` gives, each as "path: message".
inline std::vector<std::string> errorsOf(const std::string& yaml) {
    std::vector<std::string> out;
    for (const auto& error : parseSpamConfig(yaml).errors) {
        out.push_back(error.path + ": " + error.message);
    }
    return out;
}

// The names of the rules that match `facts`.
inline std::vector<std::string> matches(const RuleSet& rules, const MessageFacts& facts) {
    std::vector<bool> matched;
    rules.evaluate(facts, matched);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < matched.size(); ++i) {
        if (matched[i]) {
            names.push_back(rules.rules[i].name);
        }
    }
    return names;
}

}  // namespace mailgate::spam_score::testing
