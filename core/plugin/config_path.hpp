#pragma once

#include <string_view>

#include <yaml-cpp/yaml.h>

namespace mailgate::plugin {

// The source position of the node at `path` ("networks[2]", "limits.size", "" for the root)
// inside a plugin's config subtree; `fallback` when the path does not lead to a node.
YAML::Mark markAtPath(const YAML::Node& root, std::string_view path, const YAML::Mark& fallback);

}  // namespace mailgate::plugin
