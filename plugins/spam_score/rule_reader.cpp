#include "rule_reader.hpp"

#include <algorithm>
#include <cctype>

namespace mailgate::spam_score {
namespace {

constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxRegexLength = 4096;
constexpr std::size_t kMaxRules = 10000;

bool validName(const std::string& name) {
    return !name.empty() && name.size() <= kMaxNameLength &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
           });
}

// Compiles `node` as an RE2 pattern; nullptr (and a located error) when it does not compile.
std::shared_ptr<const re2::RE2> compile(YamlReader& reader, const YAML::Node& node,
                                        const std::string& path, bool nocase) {
    const auto text = reader.string(node, path);
    if (!text) {
        return nullptr;
    }
    if (text->empty() || text->size() > kMaxRegexLength) {
        reader.error(path, "must be 1 to " + std::to_string(kMaxRegexLength) + " characters", node);
        return nullptr;
    }
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(!nocase);
    auto regex = std::make_shared<const re2::RE2>(*text, options);
    if (!regex->ok()) {
        reader.error(path, "invalid regular expression: " + regex->error(), node);
        return nullptr;
    }
    return regex;
}

struct RuleReading {
    YamlReader& reader;
    const YAML::Node& node;
    const std::string& path;
    Rule& rule;
    bool nocase = false;
    bool ok = true;

    std::shared_ptr<const re2::RE2> regex(std::string_view key = "regex") {
        const YAML::Node value = node[std::string(key)];
        if (!value) {
            reader.error(path, "needs `" + std::string(key) + "`", node);
            ok = false;
            return nullptr;
        }
        auto compiled = compile(reader, value, childPath(path, key), nocase);
        ok = ok && compiled != nullptr;
        return compiled;
    }
    bool flag(std::string_view key) {
        const YAML::Node value = node[std::string(key)];
        if (!value) {
            return false;
        }
        const auto parsed = reader.boolean(value, childPath(path, key));
        ok = ok && parsed.has_value();
        return parsed.value_or(false);
    }
};

void readHeaderRule(RuleReading& r) {
    if (!r.reader.checkMap(r.node, r.path,
                           {"name", "score", "description", "type", "nocase", "header", "regex",
                            "exists", "absent"})) {
        return;
    }
    if (const YAML::Node header = r.node["header"]) {
        r.rule.header = r.reader.string(header, childPath(r.path, "header")).value_or("");
    }
    if (r.rule.header.empty()) {
        r.reader.error(childPath(r.path, "header"), "needs a header field name", r.node);
        r.ok = false;
    }
    const bool exists = r.flag("exists");
    const bool absent = r.flag("absent");
    const bool has_regex = bool(r.node["regex"]);
    if (int(exists) + int(absent) + int(has_regex) != 1) {
        r.reader.error(r.path, "needs exactly one of regex, exists: true, absent: true", r.node);
        r.ok = false;
        return;
    }
    r.rule.header_test = exists   ? HeaderTest::Exists
                         : absent ? HeaderTest::Absent
                                  : HeaderTest::Regex;
    if (has_regex) {
        r.rule.regex = r.regex();
    }
}

void readRegexRule(RuleReading& r) {
    if (r.reader.checkMap(r.node, r.path,
                          {"name", "score", "description", "type", "nocase", "regex"})) {
        r.rule.regex = r.regex();
    }
}

std::optional<EnvelopeField> envelopeField(const std::string& text) {
    if (text == "sender") {
        return EnvelopeField::Sender;
    }
    if (text == "recipient") {
        return EnvelopeField::Recipient;
    }
    if (text == "helo") {
        return EnvelopeField::Helo;
    }
    if (text == "client_ip") {
        return EnvelopeField::ClientIp;
    }
    return std::nullopt;
}

void readNetworks(RuleReading& r, const YAML::Node& list) {
    const std::string path = childPath(r.path, "networks");
    if (!list.IsSequence() || list.size() == 0) {
        r.reader.error(path, "must be a non-empty list of networks (\"192.0.2.0/24\")", list);
        r.ok = false;
        return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto text = r.reader.string(list[i], indexPath(path, i));
        std::string problem;
        const auto network = text ? Network::parse(*text, problem) : std::nullopt;
        if (!network) {
            if (text) {
                r.reader.error(indexPath(path, i), problem, list[i]);
            }
            r.ok = false;
            continue;
        }
        r.rule.networks.push_back(*network);
    }
}

void readEnvelopeRule(RuleReading& r) {
    if (!r.reader.checkMap(r.node, r.path,
                           {"name", "score", "description", "type", "nocase", "field", "regex",
                            "networks", "own_hostname"})) {
        return;
    }
    const YAML::Node field = r.node["field"];
    const auto text = field ? r.reader.string(field, childPath(r.path, "field")) : std::nullopt;
    const auto parsed = text ? envelopeField(*text) : std::nullopt;
    if (!parsed) {
        r.reader.error(childPath(r.path, "field"), "must be sender, recipient, helo or client_ip",
                       field ? field : r.node);
        r.ok = false;
        return;
    }
    r.rule.field = *parsed;
    const bool networks = bool(r.node["networks"]);
    r.rule.own_hostname = r.flag("own_hostname");
    const int tests = int(bool(r.node["regex"])) + int(networks) + int(r.rule.own_hostname);
    if (tests != 1 || (networks && *parsed != EnvelopeField::ClientIp) ||
        (r.rule.own_hostname && *parsed != EnvelopeField::Helo)) {
        r.reader.error(r.path,
                       "needs exactly one of regex, networks (client_ip only), own_hostname: true "
                       "(helo only)",
                       r.node);
        r.ok = false;
        return;
    }
    if (networks) {
        readNetworks(r, r.node["networks"]);
    } else if (!r.rule.own_hostname) {
        r.rule.regex = r.regex();
    }
}

void readSizeRule(RuleReading& r) {
    if (!r.reader.checkMap(r.node, r.path,
                           {"name", "score", "description", "type", "min", "max"})) {
        return;
    }
    for (const char* key : {"min", "max"}) {
        if (const YAML::Node value = r.node[key]) {
            const auto size = r.reader.size(value, childPath(r.path, key));
            r.ok = r.ok && size.has_value();
            (std::string_view(key) == "min" ? r.rule.min_size : r.rule.max_size) = size;
        }
    }
    if (r.ok && !r.rule.min_size && !r.rule.max_size) {
        r.reader.error(r.path, "needs min, max or both", r.node);
        r.ok = false;
    }
}

void readMetaRule(RuleReading& r) {
    if (!r.reader.checkMap(r.node, r.path,
                           {"name", "score", "description", "type", "expression"})) {
        return;
    }
    const std::string path = childPath(r.path, "expression");
    const YAML::Node node = r.node["expression"];
    const auto text = node ? r.reader.string(node, path) : std::nullopt;
    if (!node) {
        r.reader.error(r.path, "needs `expression`", r.node);
    }
    std::string problem;
    r.rule.meta = text ? MetaExpression::parse(*text, problem) : std::nullopt;
    if (text && !r.rule.meta) {
        r.reader.error(path, "invalid expression: " + problem, node);
    }
    r.ok = r.ok && r.rule.meta.has_value();
}

bool readCommon(YamlReader& reader, const YAML::Node& node, const std::string& path, Rule& rule,
                std::string& type) {
    bool ok = true;
    const YAML::Node name = node["name"];
    rule.name = name ? reader.string(name, childPath(path, "name")).value_or("") : "";
    if (!validName(rule.name)) {
        reader.error(childPath(path, "name"),
                     "needs a name of 1 to 64 letters, digits and '_' (\"MISSING_DATE\")",
                     name ? name : node);
        ok = false;
    }
    const YAML::Node score = node["score"];
    const auto value = score ? reader.number(score, childPath(path, "score")) : std::nullopt;
    if (!score) {
        reader.error(childPath(path, "score"), "needs a score", node);
    }
    ok = ok && value.has_value();
    rule.score = value.value_or(0);
    if (const YAML::Node description = node["description"]) {
        rule.description = reader.string(description, childPath(path, "description")).value_or("");
    }
    const YAML::Node type_node = node["type"];
    type = type_node ? reader.string(type_node, childPath(path, "type")).value_or("") : "";
    return ok;
}

void readRule(YamlReader& reader, const YAML::Node& node, const std::string& path, Rule& rule,
              bool& ok) {
    if (!node.IsMap()) {
        reader.error(path, "must be a mapping (name, score, type, ...)", node);
        ok = false;
        return;
    }
    std::string type;
    ok = readCommon(reader, node, path, rule, type);
    RuleReading r{reader, node, path, rule};
    r.nocase = r.flag("nocase");
    if (type == "header") {
        rule.kind = RuleKind::Header;
        readHeaderRule(r);
    } else if (type == "body" || type == "raw" || type == "content_type") {
        rule.kind = type == "body"  ? RuleKind::Body
                    : type == "raw" ? RuleKind::Raw
                                    : RuleKind::ContentType;
        readRegexRule(r);
    } else if (type == "envelope") {
        rule.kind = RuleKind::Envelope;
        readEnvelopeRule(r);
    } else if (type == "size") {
        rule.kind = RuleKind::Size;
        readSizeRule(r);
    } else if (type == "meta") {
        rule.kind = RuleKind::Meta;
        readMetaRule(r);
    } else {
        reader.error(childPath(path, "type"),
                     "must be header, body, raw, envelope, size, content_type or meta",
                     node["type"] ? node["type"] : node);
        r.ok = false;
    }
    ok = ok && r.ok;
}

}  // namespace

void readRules(YamlReader& reader, const YAML::Node& list, const std::string& path,
               std::vector<Rule>& out, std::vector<LocatedIssue>& origins) {
    if (list.IsNull()) {
        return;
    }
    if (!list.IsSequence()) {
        reader.error(path, "must be a list of rules", list);
        return;
    }
    if (list.size() + out.size() > kMaxRules) {
        reader.error(path, "more than " + std::to_string(kMaxRules) + " rules", list);
        return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
        Rule rule;
        bool ok = true;
        readRule(reader, list[i], indexPath(path, i), rule, ok);
        if (ok) {
            origins.push_back({indexPath(path, i), "", list[i].Mark()});
            out.push_back(std::move(rule));
        }
    }
}

}  // namespace mailgate::spam_score
