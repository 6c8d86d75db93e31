#include "core/plugin/config_path.hpp"

#include <charconv>
#include <string>

namespace mailgate::plugin {
namespace {

// Steps into a map key or a sequence index; returns a null node when there is none.
// For the last key of a path the key itself is returned: "unknown key" errors point at it.
YAML::Node step(const YAML::Node& node, std::string_view key, bool is_index, bool want_key) {
    if (is_index) {
        size_t index = 0;
        const auto result = std::from_chars(key.data(), key.data() + key.size(), index);
        if (result.ec != std::errc() || !node.IsSequence() || index >= node.size()) {
            return YAML::Node(YAML::NodeType::Undefined);
        }
        return node[index];
    }
    if (!node.IsMap()) {
        return YAML::Node(YAML::NodeType::Undefined);
    }
    for (const auto& item : node) {
        if (item.first.Scalar() == key) {
            return want_key ? item.first : item.second;
        }
    }
    return YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

YAML::Mark markAtPath(const YAML::Node& root, std::string_view path, const YAML::Mark& fallback) {
    if (!root || !root.IsDefined() || root.IsNull()) {
        return fallback;
    }
    YAML::Node node = root;
    size_t pos = 0;
    while (pos < path.size()) {
        const bool is_index = path[pos] == '[';
        if (path[pos] == '.' || is_index) {
            ++pos;
        }
        const size_t end = is_index ? path.find(']', pos) : path.find_first_of(".[", pos);
        const std::string_view key =
            path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        const bool last = end == std::string_view::npos || (is_index && end + 1 >= path.size());
        const YAML::Node next = step(node, key, is_index, last && !is_index);
        if (!next.IsDefined()) {
            break;
        }
        node.reset(next);  // plain assignment would overwrite the tree's node
        pos = end == std::string_view::npos ? path.size() : end + (is_index ? 1 : 0);
    }
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? fallback : mark;
}

}  // namespace mailgate::plugin
