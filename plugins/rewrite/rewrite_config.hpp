#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rewriter.hpp"

// The plugin's YAML subtree read into a RewriteConfig, regexes compiled once, every mistake
// located by its path in the subtree ("sender_map[2].regex").
namespace mailgate::rewrite {

struct ConfigIssue {
    std::string path;
    std::string message;
};

struct ConfigParseResult {
    RewriteConfig config;             // meaningful only when `errors` is empty
    std::vector<ConfigIssue> errors;  // every error found, not just the first
};

// Empty text, "~" or "{}" give an empty rule set (the plugin then changes nothing). Never throws
// on bad input (std::bad_alloc aside).
ConfigParseResult parseRewriteConfig(std::string_view yaml_text);

}  // namespace mailgate::rewrite
