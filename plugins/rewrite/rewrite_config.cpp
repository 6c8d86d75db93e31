#include "rewrite_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <initializer_list>
#include <set>

namespace mailgate::rewrite {
namespace {

constexpr size_t kMaxRegex = 1000;
constexpr size_t kMaxHeaderValue = 900;  // well within the 998-octet line limit
constexpr size_t kMaxNth = 1000;         // the host parses at most 1000 header fields

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(const std::string& path, size_t index) {
    return path + "[" + std::to_string(index) + "]";
}

bool printableLine(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return c == '\t' || (byte >= 0x20 && byte < 0x7f);
    });
}

bool validHeaderName(std::string_view name) {
    return !name.empty() && name.size() <= 76 && std::all_of(name.begin(), name.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 0x20 && byte < 0x7f && c != ':';
    });
}

using KeyReader =
    std::function<void(const std::string& key, const YAML::Node& value, const std::string& path)>;

class Reader {
  public:
    explicit Reader(ConfigParseResult& result) : result_(result) {}

    void root(const YAML::Node& node) {
        forEachKey(node, "", {"sender_map", "recipient_map", "address_headers", "header_rules"},
                   [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                       if (key == "sender_map") {
                           addressMap(value, path, result_.config.sender_map);
                       } else if (key == "recipient_map") {
                           addressMap(value, path, result_.config.recipient_map);
                       } else if (key == "address_headers") {
                           addressHeaders(value, path);
                       } else {
                           headerRules(value, path);
                       }
                   });
    }

  private:
    void error(const std::string& path, std::string message) {
        result_.errors.push_back({path, std::move(message)});
    }

    // Walks a mapping: string keys, no duplicates, only `allowed` keys (listed in the error).
    bool forEachKey(const YAML::Node& node, const std::string& path,
                    std::initializer_list<std::string_view> allowed, const KeyReader& read) {
        if (!node.IsMap()) {
            error(path, "must be a mapping");
            return false;
        }
        std::set<std::string> seen;
        for (const auto& entry : node) {
            if (!entry.first.IsScalar()) {
                error(path, "keys must be strings");
                continue;
            }
            const std::string& key = entry.first.Scalar();
            const std::string key_path = join(path, key);
            if (!seen.insert(key).second) {
                error(key_path, "duplicate key");
            } else if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                std::string expected;
                for (const auto name : allowed) {
                    expected += (expected.empty() ? "" : ", ") + std::string(name);
                }
                error(key_path, "unknown key (expected " + expected + ")");
            } else {
                read(key, entry.second, key_path);
            }
        }
        return true;
    }

    bool scalar(const YAML::Node& node, const std::string& path, std::string& out) {
        if (!node.IsScalar()) {
            error(path, "must be a string");
            return false;
        }
        out = node.Scalar();
        return true;
    }

    // A string or a list of strings, each with its path.
    void strings(const YAML::Node& node, const std::string& path,
                 const std::function<void(const std::string&, const std::string&)>& read) {
        if (node.IsScalar()) {
            read(node.Scalar(), path);
            return;
        }
        if (!node.IsSequence() || node.size() == 0) {
            error(path, "must be a string or a non-empty list of strings");
            return;
        }
        for (size_t i = 0; i < node.size(); ++i) {
            std::string text;
            if (scalar(node[i], indexed(path, i), text)) {
                read(text, indexed(path, i));
            }
        }
    }

    std::optional<size_t> nth(const YAML::Node& node, const std::string& path) {
        std::string text;
        size_t value = 0;
        if (scalar(node, path, text)) {
            const auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (code == std::errc() && end == text.data() + text.size() && value >= 1 &&
                value <= kMaxNth) {
                return value;
            }
            error(path, "must be a whole number from 1 to " + std::to_string(kMaxNth));
        }
        return std::nullopt;
    }

    std::shared_ptr<const re2::RE2> regex(const YAML::Node& node, const std::string& path) {
        std::string pattern;
        if (!scalar(node, path, pattern)) {
            return nullptr;
        }
        if (pattern.empty() || pattern.size() > kMaxRegex) {
            error(path, "must be a regex of 1 to " + std::to_string(kMaxRegex) + " characters");
            return nullptr;
        }
        re2::RE2::Options options;
        options.set_log_errors(false);
        auto compiled = std::make_shared<const re2::RE2>(pattern, options);
        if (!compiled->ok()) {
            error(path, "invalid regex: " + compiled->error());
            return nullptr;
        }
        return compiled;
    }

    bool rewriteString(const re2::RE2& regex, const std::string& text, const std::string& path) {
        std::string problem;
        if (!regex.CheckRewriteString(text, &problem)) {
            error(path, "invalid rewrite: " + problem);
            return false;
        }
        return true;
    }

    Conditions conditions(const YAML::Node& node, const std::string& path) {
        Conditions when;
        forEachKey(
            node, path, {"sender_domain", "recipient_domain", "client_network"},
            [&](const std::string& key, const YAML::Node& value, const std::string& at) {
                strings(value, at, [&](const std::string& text, const std::string& item) {
                    std::string problem;
                    if (key == "client_network") {
                        if (auto network = parseNetwork(text, problem)) {
                            when.client_networks.push_back(*network);
                            return;
                        }
                    } else if (auto domain = parseDomainPattern(text, problem)) {
                        (key == "sender_domain" ? when.sender_domains : when.recipient_domains)
                            .push_back(std::move(*domain));
                        return;
                    }
                    error(item, problem);
                });
            });
        return when;
    }

    void addressMap(const YAML::Node& node, const std::string& path, AddressMap& map) {
        if (node.IsNull()) {
            return;
        }
        if (!node.IsSequence()) {
            error(path, "must be a list of entries");
            return;
        }
        for (size_t i = 0; i < node.size(); ++i) {
            mapEntry(node[i], indexed(path, i), map);
        }
    }

    void mapEntry(const YAML::Node& node, const std::string& path, AddressMap& map) {
        MapEntry entry;
        std::optional<std::string> match;
        bool has_regex = false;
        bool has_to = false;
        const bool mapping =
            forEachKey(node, path, {"match", "regex", "to", "when"},
                       [&](const std::string& key, const YAML::Node& value, const std::string& at) {
                           if (key == "match") {
                               std::string text;
                               if (scalar(value, at, text)) {
                                   match = text;
                                   readMatch(text, at, entry);
                               }
                           } else if (key == "regex") {
                               has_regex = true;
                               entry.regex = regex(value, at);
                           } else if (key == "to") {
                               has_to = scalar(value, at, entry.to);
                           } else {
                               entry.when = conditions(value, at);
                           }
                       });
        if (!mapping) {
            return;
        }
        if (match.has_value() == has_regex) {
            error(path, "needs exactly one of match (an address or @domain) and regex");
            return;
        }
        if (!node["to"]) {
            error(path, "needs to (the new address, @domain, or a rewrite with \\1..\\9)");
            return;
        }
        if (!has_to || !checkTo(entry, join(path, "to"))) {
            return;
        }
        if (has_regex) {
            if (entry.regex == nullptr) {
                return;
            }
            entry.kind = MapEntry::Kind::Regex;
        }
        map.add(std::move(entry));
    }

    void readMatch(const std::string& text, const std::string& path, MapEntry& entry) {
        if (!validConfigAddress(text, true)) {
            error(path, "\"" + text +
                            "\" is not an address (user@example.org) or a domain "
                            "(@example.org)");
            return;
        }
        entry.kind = text.starts_with('@') ? MapEntry::Kind::Domain : MapEntry::Kind::Exact;
        entry.key = toLower(text.starts_with('@') ? text.substr(1) : text);
    }

    bool checkTo(const MapEntry& entry, const std::string& path) {
        const std::string& to = entry.to;
        if (entry.regex != nullptr) {
            const bool plain =
                !to.empty() && to.size() <= 254 && std::none_of(to.begin(), to.end(), [](char c) {
                    const auto byte = static_cast<unsigned char>(c);
                    return byte <= 0x20 || byte == 0x7f || c == '<' || c == '>';
                });
            if (!plain) {
                error(path, "must be 1 to 254 characters without blanks, controls, < or >");
                return false;
            }
            return rewriteString(*entry.regex, to, path);
        }
        if (!validConfigAddress(to, true)) {
            error(path, "\"" + to +
                            "\" is not an address (user@example.org) or a domain "
                            "(@example.org)");
            return false;
        }
        return true;
    }

    void addressHeaders(const YAML::Node& node, const std::string& path) {
        if (node.IsNull() || (node.IsSequence() && node.size() == 0)) {
            return;  // none: the envelope only
        }
        strings(node, path, [&](const std::string& text, const std::string& item) {
            static const std::vector<AddressHeader> known = {
                {"From", true}, {"Sender", true}, {"Reply-To", true}, {"To", false}, {"Cc", false}};
            const auto found = std::find_if(known.begin(), known.end(), [&](const auto& header) {
                return equalsIgnoreCase(header.name, text);
            });
            if (found == known.end()) {
                error(item, "\"" + text + "\" is not one of From, Sender, Reply-To, To, Cc");
                return;
            }
            result_.config.address_headers.push_back(*found);
        });
    }

    void headerRules(const YAML::Node& node, const std::string& path) {
        if (node.IsNull()) {
            return;
        }
        if (!node.IsSequence()) {
            error(path, "must be a list of rules");
            return;
        }
        for (size_t i = 0; i < node.size(); ++i) {
            headerRule(node[i], indexed(path, i));
        }
    }

    void headerRule(const YAML::Node& node, const std::string& path) {
        if (!node.IsMap()) {
            error(path, "must be a mapping with one of add, remove, replace, prefix_subject");
            return;
        }
        std::vector<std::string> actions;
        for (const char* action : {"add", "remove", "replace", "prefix_subject"}) {
            if (node[action]) {
                actions.emplace_back(action);
            }
        }
        if (actions.size() != 1) {
            error(path, "needs exactly one of add, remove, replace, prefix_subject");
            return;
        }
        const size_t errors_before = result_.errors.size();
        HeaderRule rule;
        const std::string& action = actions.front();
        if (action == "add") {
            readAdd(node, path, rule);
        } else if (action == "remove") {
            readRemove(node, path, rule);
        } else if (action == "replace") {
            readReplace(node, path, rule);
        } else {
            readPrefix(node, path, rule);
        }
        if (result_.errors.size() == errors_before) {
            result_.config.header_rules.push_back(std::move(rule));
        }
    }

    void headerName(const YAML::Node& node, const std::string& path, HeaderRule& rule) {
        if (scalar(node, path, rule.name) && !validHeaderName(rule.name)) {
            error(path,
                  "must be a header name: 1 to 76 printable ASCII characters without "
                  "':' or blanks");
        }
    }

    void headerText(const YAML::Node& node, const std::string& path, std::string& out,
                    bool allow_empty) {
        if (scalar(node, path, out) && ((out.empty() && !allow_empty) ||
                                        out.size() > kMaxHeaderValue || !printableLine(out))) {
            error(path, std::string("must be ") + (allow_empty ? "0" : "1") + " to " +
                            std::to_string(kMaxHeaderValue) +
                            " printable ASCII characters on one line");
        }
    }

    void require(const YAML::Node& node, const std::string& path, const char* key,
                 const char* what) {
        if (!node[key]) {
            error(path, std::string("needs ") + key + " (" + what + ")");
        }
    }

    void readAdd(const YAML::Node& node, const std::string& path, HeaderRule& rule) {
        rule.action = HeaderRule::Action::Add;
        require(node, path, "value", "the new field's value");
        forEachKey(node, path, {"add", "value", "at", "when"},
                   [&](const std::string& key, const YAML::Node& value, const std::string& at) {
                       if (key == "add") {
                           headerName(value, at, rule);
                       } else if (key == "value") {
                           headerText(value, at, rule.value, true);
                       } else if (key == "at") {
                           std::string where;
                           if (scalar(value, at, where) && where != "top" && where != "bottom") {
                               error(at, "must be top or bottom");
                           }
                           rule.at_top = where == "top";
                       } else {
                           rule.when = conditions(value, at);
                       }
                   });
    }

    void readRemove(const YAML::Node& node, const std::string& path, HeaderRule& rule) {
        rule.action = HeaderRule::Action::Remove;
        forEachKey(node, path, {"remove", "nth", "when"},
                   [&](const std::string& key, const YAML::Node& value, const std::string& at) {
                       if (key == "remove") {
                           headerName(value, at, rule);
                       } else if (key == "nth") {
                           rule.nth = nth(value, at).value_or(0);
                       } else {
                           rule.when = conditions(value, at);
                       }
                   });
    }

    void readReplace(const YAML::Node& node, const std::string& path, HeaderRule& rule) {
        rule.action = HeaderRule::Action::Replace;
        require(node, path, "regex", "what to find in the value");
        require(node, path, "with", "the replacement, \\0..\\9 for the captures");
        forEachKey(node, path, {"replace", "regex", "with", "nth", "when"},
                   [&](const std::string& key, const YAML::Node& value, const std::string& at) {
                       if (key == "replace") {
                           headerName(value, at, rule);
                       } else if (key == "regex") {
                           rule.regex = regex(value, at);
                       } else if (key == "with") {
                           headerText(value, at, rule.with, true);
                       } else if (key == "nth") {
                           rule.nth = nth(value, at).value_or(0);
                       } else {
                           rule.when = conditions(value, at);
                       }
                   });
        if (rule.regex != nullptr && node["with"]) {
            rewriteString(*rule.regex, rule.with, join(path, "with"));
        }
    }

    void readPrefix(const YAML::Node& node, const std::string& path, HeaderRule& rule) {
        rule.action = HeaderRule::Action::PrefixSubject;
        rule.name = "Subject";
        forEachKey(node, path, {"prefix_subject", "when"},
                   [&](const std::string& key, const YAML::Node& value, const std::string& at) {
                       if (key == "prefix_subject") {
                           headerText(value, at, rule.value, false);
                       } else {
                           rule.when = conditions(value, at);
                       }
                   });
    }

    ConfigParseResult& result_;
};

}  // namespace

ConfigParseResult parseRewriteConfig(std::string_view yaml_text) {
    ConfigParseResult result;
    try {
        const YAML::Node root = YAML::Load(std::string(yaml_text));
        if (root.IsNull()) {
            return result;
        }
        Reader(result).root(root);
    } catch (const YAML::Exception& error) {
        result.errors.push_back({"", std::string("invalid YAML: ") + error.what()});
    }
    return result;
}

}  // namespace mailgate::rewrite
