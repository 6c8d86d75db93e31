#include "spam_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "rule_reader.hpp"
#include "yaml_reading.hpp"

namespace mailgate::spam_score {
namespace {

constexpr std::size_t kMaxReplyText = 200;
constexpr std::size_t kMaxRulesFile = 16 * 1024 * 1024;

std::string formatMark(const std::string& file, const YAML::Mark& mark) {
    return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

bool printableLine(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

// `key: 15` or `key: {score: 15, code: 550, enhanced: 5.7.1, text: ...}`.
std::optional<double> readThreshold(YamlReader& reader, const YAML::Node& node,
                                    const std::string& path, Reply* reply, char reply_class) {
    if (node.IsScalar()) {
        return reader.number(node, path);
    }
    const bool ok = reply != nullptr
                        ? reader.checkMap(node, path, {"score", "code", "enhanced", "text"})
                        : reader.checkMap(node, path, {"score"});
    if (!ok) {
        return std::nullopt;
    }
    const YAML::Node score = node["score"];
    if (!score) {
        reader.error(childPath(path, "score"), "needs a score", node);
    }
    const auto value = score ? reader.number(score, childPath(path, "score")) : std::nullopt;
    if (reply == nullptr) {
        return value;
    }
    if (const YAML::Node code = node["code"]) {
        const std::uint64_t low = reply_class == '5' ? 500 : 400;
        if (const auto parsed = reader.count(code, childPath(path, "code"), low, low + 99)) {
            reply->code = static_cast<std::uint16_t>(*parsed);
        }
    }
    if (const YAML::Node enhanced = node["enhanced"]) {
        const auto text = reader.string(enhanced, childPath(path, "enhanced"));
        if (text && (text->size() < 5 || text->size() > 11 || (*text)[0] != reply_class ||
                     (*text)[1] != '.' || !std::all_of(text->begin(), text->end(), [](char c) {
                         return c == '.' || std::isdigit(static_cast<unsigned char>(c));
                     }))) {
            reader.error(
                childPath(path, "enhanced"),
                std::string("must be an enhanced status code like ") + reply_class + ".7.1",
                enhanced);
        } else if (text) {
            reply->enhanced = *text;
        }
    }
    if (const YAML::Node text_node = node["text"]) {
        const auto text = reader.string(text_node, childPath(path, "text"));
        if (text && (text->empty() || text->size() > kMaxReplyText || !printableLine(*text))) {
            reader.error(childPath(path, "text"),
                         "must be 1 to " + std::to_string(kMaxReplyText) +
                             " printable ASCII characters on one line",
                         text_node);
        } else if (text) {
            reply->text = *text;
        }
    }
    return value;
}

void readSubjectPrefix(YamlReader& reader, const YAML::Node& node, const std::string& path,
                       Actions& actions) {
    if (!reader.checkMap(node, path, {"score", "text"})) {
        return;
    }
    const YAML::Node score = node["score"];
    if (!score) {
        reader.error(childPath(path, "score"), "needs a score", node);
    } else {
        actions.subject_prefix_score = reader.number(score, childPath(path, "score"));
    }
    if (const YAML::Node text_node = node["text"]) {
        const auto text = reader.string(text_node, childPath(path, "text"));
        if (text && (text->empty() || text->size() > 100 || !printableLine(*text))) {
            reader.error(childPath(path, "text"), "must be 1 to 100 printable ASCII characters",
                         text_node);
        } else if (text) {
            actions.subject_prefix = *text;
        }
    }
}

void readActions(YamlReader& reader, const YAML::Node& node, Actions& actions) {
    const std::string path = "actions";
    if (!reader.checkMap(node, path,
                         {"add_headers", "required_score", "subject_prefix", "quarantine",
                          "tempfail", "reject"})) {
        return;
    }
    if (const YAML::Node value = node["add_headers"]) {
        actions.add_headers = reader.boolean(value, "actions.add_headers").value_or(true);
    }
    if (const YAML::Node value = node["required_score"]) {
        actions.required_score = reader.number(value, "actions.required_score").value_or(5.0);
    }
    if (const YAML::Node value = node["subject_prefix"]) {
        readSubjectPrefix(reader, value, "actions.subject_prefix", actions);
    }
    if (const YAML::Node value = node["quarantine"]) {
        actions.quarantine_score = readThreshold(reader, value, "actions.quarantine", nullptr, 0);
    }
    if (const YAML::Node value = node["tempfail"]) {
        actions.tempfail_score =
            readThreshold(reader, value, "actions.tempfail", &actions.tempfail_reply, '4');
    }
    if (const YAML::Node value = node["reject"]) {
        actions.reject_score =
            readThreshold(reader, value, "actions.reject", &actions.reject_reply, '5');
    }
}

void readMime(YamlReader& reader, const YAML::Node& node, MimeLimits& mime) {
    if (!reader.checkMap(node, "mime", {"max_parts", "max_depth", "max_text_size"})) {
        return;
    }
    if (const YAML::Node value = node["max_parts"]) {
        mime.max_parts = reader.count(value, "mime.max_parts", 1, 10000).value_or(mime.max_parts);
    }
    if (const YAML::Node value = node["max_depth"]) {
        mime.max_depth = reader.count(value, "mime.max_depth", 1, 64).value_or(mime.max_depth);
    }
    if (const YAML::Node value = node["max_text_size"]) {
        const auto size = reader.size(value, "mime.max_text_size");
        if (size && (*size < 1024 || *size > 256ull * 1024 * 1024)) {
            reader.error("mime.max_text_size", "must be from 1KB to 256MB", value);
        } else if (size) {
            mime.max_text_size = static_cast<std::size_t>(*size);
        }
    }
}

void readHostnames(YamlReader& reader, const YAML::Node& node, std::vector<std::string>& out) {
    const auto add = [&](const YAML::Node& item, const std::string& path) {
        const auto name = reader.string(item, path);
        if (name && (name->empty() || name->size() > 255 || !printableLine(*name))) {
            reader.error(path, "must be a host name", item);
        } else if (name) {
            std::string lower = *name;
            std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
                return char(std::tolower(static_cast<unsigned char>(c)));
            });
            out.push_back(lower);
        }
    };
    if (node.IsSequence()) {
        for (std::size_t i = 0; i < node.size(); ++i) {
            add(node[i], indexPath("hostname", i));
        }
    } else {
        add(node, "hostname");
    }
}

// Reads the rules file; its problems are reported at `rules_file` with the file's own position.
void readRulesFile(YamlReader& reader, const YAML::Node& node, std::vector<Rule>& rules,
                   std::vector<LocatedIssue>& origins, std::string& file) {
    const auto name = reader.string(node, "rules_file");
    if (!name) {
        return;
    }
    file = *name;
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf()) || text.str().size() > kMaxRulesFile) {
        reader.error("rules_file", "cannot read rules file " + file, node);
        return;
    }
    std::vector<LocatedIssue> file_issues;
    YamlReader file_reader(file_issues);
    try {
        const YAML::Node root = YAML::Load(text.str());
        const bool is_map = file_reader.checkMap(root, "", {"rules"});
        if (is_map && root["rules"]) {
            readRules(file_reader, root["rules"], "rules", rules, origins);
        }
    } catch (const YAML::Exception& error) {
        file_issues.push_back({"", "invalid YAML: " + error.msg, error.mark});
    }
    for (const auto& issue : file_issues) {
        reader.error("rules_file",
                     formatMark(file, issue.mark) + ": " +
                         (issue.path.empty() ? "" : issue.path + ": ") + issue.message,
                     node);
    }
}

// Duplicate names and meta links, reported where each rule came from.
void linkRules(YamlReader& reader, SpamConfig& config, const std::vector<LocatedIssue>& origins,
               std::size_t inline_count, const std::string& file, const YAML::Node& file_node) {
    const auto report = [&](std::size_t index, const std::string& suffix,
                            const std::string& message) {
        const LocatedIssue& origin = origins[index];
        if (index < inline_count) {
            reader.issuesAt(origin.path + suffix, message, origin.mark);
        } else {
            reader.error(
                "rules_file",
                formatMark(file, origin.mark) + ": " + origin.path + suffix + ": " + message,
                file_node);
        }
    };
    std::set<std::string> names;
    bool duplicates = false;
    for (std::size_t i = 0; i < config.rules.rules.size(); ++i) {
        if (!names.insert(config.rules.rules[i].name).second) {
            report(i, ".name", "duplicate rule name \"" + config.rules.rules[i].name + "\"");
            duplicates = true;
        }
    }
    if (duplicates) {
        return;
    }
    for (const auto& [index, message] : config.rules.link()) {
        report(index, ".expression", message);
    }
}

void readRoot(YamlReader& reader, const YAML::Node& root, SpamConfig& config) {
    if (!reader.checkMap(root, "",
                         {"hostname", "rules", "rules_file", "actions", "mime", "scanners",
                          "max_concurrent_scans"})) {
        return;
    }
    if (const YAML::Node node = root["hostname"]) {
        readHostnames(reader, node, config.rules.own_names);
    }
    std::vector<LocatedIssue> origins;
    if (const YAML::Node rules = root["rules"]) {
        readRules(reader, rules, "rules", config.rules.rules, origins);
    }
    const std::size_t inline_count = config.rules.rules.size();
    std::string file;
    const YAML::Node file_node = root["rules_file"];
    if (file_node) {
        readRulesFile(reader, file_node, config.rules.rules, origins, file);
    }
    if (const YAML::Node node = root["actions"]) {
        readActions(reader, node, config.actions);
    }
    if (const YAML::Node node = root["mime"]) {
        readMime(reader, node, config.mime);
    }
    if (const YAML::Node node = root["scanners"]) {
        readScanners(reader, node, config.scanners);
    }
    if (const YAML::Node node = root["max_concurrent_scans"]) {
        config.max_concurrent_scans =
            reader.count(node, "max_concurrent_scans", 1, 4096).value_or(64);
    }
    if (reader.empty()) {
        linkRules(reader, config, origins, inline_count, file, file_node);
    }
}

}  // namespace

std::optional<std::uint64_t> parseSize(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) {
        return std::nullopt;
    }
    const std::string_view unit = text.substr(static_cast<std::size_t>(end - text.data()));
    std::uint64_t factor = 1;
    if (unit == "KB") {
        factor = 1024;
    } else if (unit == "MB") {
        factor = 1024 * 1024;
    } else if (unit == "GB") {
        factor = 1024ull * 1024 * 1024;
    } else if (!unit.empty()) {
        return std::nullopt;
    }
    if (value > UINT64_MAX / factor) {
        return std::nullopt;
    }
    return value * factor;
}

ConfigParseResult parseSpamConfig(std::string_view yaml_text) {
    ConfigParseResult result;
    std::vector<LocatedIssue> issues;
    YamlReader reader(issues);
    try {
        const YAML::Node root = YAML::Load(std::string(yaml_text));
        if (!root.IsNull()) {
            readRoot(reader, root, result.config);
        }
    } catch (const YAML::Exception& error) {
        issues.push_back({"", "invalid YAML: " + error.msg, error.mark});
    }
    for (auto& issue : issues) {
        result.errors.push_back({std::move(issue.path), std::move(issue.message)});
    }
    return result;
}

}  // namespace mailgate::spam_score
