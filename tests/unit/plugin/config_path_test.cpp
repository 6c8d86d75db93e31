#include "core/plugin/config_path.hpp"

#include <gtest/gtest.h>

namespace mailgate::plugin {
namespace {

const char* const kYaml = R"(networks:
  - 10.0.0.0/8
  - bad
limits:
  size: 12
)";

// Paths with keys and indexes lead to the node's own line and column.
TEST(ConfigPathTest, FindsNestedNodes) {
    const YAML::Node root = YAML::Load(kYaml);
    const YAML::Mark fallback;
    EXPECT_EQ(markAtPath(root, "networks[1]", fallback).line, 2);
    EXPECT_EQ(markAtPath(root, "networks[1]", fallback).column, 4);
    EXPECT_EQ(markAtPath(root, "limits.size", fallback).line, 4);
}

// An unknown path stops at the deepest node that exists.
TEST(ConfigPathTest, UnknownPathStopsAtParent) {
    const YAML::Node root = YAML::Load(kYaml);
    EXPECT_EQ(markAtPath(root, "limits.nothing", YAML::Mark()).line, 4);
    EXPECT_EQ(markAtPath(root, "networks[9]", YAML::Mark()).line, 1);
}

// Looking a path up does not change the tree (yaml-cpp's assignment would).
TEST(ConfigPathTest, LeavesTheTreeAlone) {
    const YAML::Node root = YAML::Load(kYaml);
    markAtPath(root, "networks[1]", YAML::Mark());
    EXPECT_EQ(root["networks"][0].as<std::string>(), "10.0.0.0/8");
    EXPECT_EQ(root["limits"]["size"].as<int>(), 12);
}

}  // namespace
}  // namespace mailgate::plugin

namespace mailgate::plugin {
namespace {

// The last key of a path is located at the key, where an "unknown key" error belongs.
TEST(ConfigPathTest, LastKeyPointsAtTheKey) {
    const YAML::Node root = YAML::Load("limits:\n  size:   12\n");
    EXPECT_EQ(markAtPath(root, "limits.size", YAML::Mark()).column, 2);
    EXPECT_EQ(markAtPath(root, "limits", YAML::Mark()).column, 0);
}

}  // namespace
}  // namespace mailgate::plugin
