#include "yaml_reading.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "spam_config.hpp"

namespace mailgate::spam_score {

bool YamlReader::checkMap(const YAML::Node& node, const std::string& path,
                          std::initializer_list<std::string_view> known) {
    if (!node.IsMap()) {
        error(path, "must be a mapping", node);
        return false;
    }
    std::string expected;
    for (const auto key : known) {
        expected += (expected.empty() ? "" : ", ") + std::string(key);
    }
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            error(path, "keys must be strings", entry.first);
            continue;
        }
        const std::string& key = entry.first.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            error(childPath(path, key), "unknown key (expected " + expected + ")", entry.first);
        }
    }
    return true;
}

std::optional<std::string> YamlReader::string(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
        error(path, "must be a string", node);
        return std::nullopt;
    }
    return node.Scalar();
}

std::optional<double> YamlReader::number(const YAML::Node& node, const std::string& path) {
    double value = 0;
    const std::string* text = node.IsScalar() ? &node.Scalar() : nullptr;
    const auto parsed = text == nullptr
                            ? std::from_chars_result{nullptr, std::errc::invalid_argument}
                            : std::from_chars(text->data(), text->data() + text->size(), value);
    if (text == nullptr || parsed.ec != std::errc() || parsed.ptr != text->data() + text->size() ||
        !std::isfinite(value) || std::fabs(value) > 1e6) {
        error(path, "must be a number between -1000000 and 1000000", node);
        return std::nullopt;
    }
    return value;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) {
        const std::string& text = node.Scalar();
        if (text == "true" || text == "yes") {
            return true;
        }
        if (text == "false" || text == "no") {
            return false;
        }
    }
    error(path, "must be true or false", node);
    return std::nullopt;
}

std::optional<std::uint64_t> YamlReader::count(const YAML::Node& node, const std::string& path,
                                               std::uint64_t min, std::uint64_t max) {
    std::uint64_t value = 0;
    const std::string* text = node.IsScalar() ? &node.Scalar() : nullptr;
    if (text != nullptr) {
        const auto parsed = std::from_chars(text->data(), text->data() + text->size(), value);
        if (parsed.ec == std::errc() && parsed.ptr == text->data() + text->size() && value >= min &&
            value <= max) {
            return value;
        }
    }
    error(path, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max),
          node);
    return std::nullopt;
}

std::optional<std::uint64_t> YamlReader::size(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) {
        if (const auto value = parseSize(node.Scalar())) {
            return value;
        }
    }
    error(path, "must be a size in octets (\"1048576\", \"512KB\", \"10MB\", \"1GB\")", node);
    return std::nullopt;
}

}  // namespace mailgate::spam_score
