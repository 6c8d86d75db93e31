#pragma once

#include <string>
#include <vector>

#include "rules.hpp"
#include "yaml_reading.hpp"

namespace mailgate::spam_score {

// Reads a `rules:` list (at `path`) and appends the compiled rules; mistakes go to `reader`.
// `origins` gets, for each rule appended, its path and position (for later errors).
void readRules(YamlReader& reader, const YAML::Node& list, const std::string& path,
               std::vector<Rule>& out, std::vector<LocatedIssue>& origins);

}  // namespace mailgate::spam_score
