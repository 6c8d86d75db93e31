#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Small typed readers over yaml-cpp nodes that record located problems instead of throwing.
namespace mailgate::spam_score {

struct LocatedIssue {
    std::string path;
    std::string message;
    YAML::Mark mark;
};

class YamlReader {
  public:
    explicit YamlReader(std::vector<LocatedIssue>& issues) : issues_(issues) {}

    void error(const std::string& path, const std::string& message, const YAML::Node& node) {
        issues_.push_back({path, message, node.Mark()});
    }

    void issuesAt(const std::string& path, const std::string& message, const YAML::Mark& mark) {
        issues_.push_back({path, message, mark});
    }
    bool empty() const { return issues_.empty(); }

    // Reports keys outside `known` and non-string keys; true when the node is a mapping.
    bool checkMap(const YAML::Node& node, const std::string& path,
                  std::initializer_list<std::string_view> known);

    std::optional<std::string> string(const YAML::Node& node, const std::string& path);
    std::optional<double> number(const YAML::Node& node, const std::string& path);
    std::optional<bool> boolean(const YAML::Node& node, const std::string& path);
    std::optional<std::uint64_t> count(const YAML::Node& node, const std::string& path,
                                       std::uint64_t min, std::uint64_t max);
    std::optional<std::uint64_t> size(const YAML::Node& node, const std::string& path);

  private:
    std::vector<LocatedIssue>& issues_;
};

inline std::string childPath(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

inline std::string indexPath(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

}  // namespace mailgate::spam_score
