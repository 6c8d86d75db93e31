#include "relay_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace mailgate::relay_access {
namespace {

constexpr size_t kMaxRejectMessage = 200;  // keeps "550 5.7.1 <rcpt>: text" within 512 octets

// Calls `read(text, path)` for each item of a list of strings; reports anything else.
template <typename Read>
void forEachListItem(const YAML::Node& node, const std::string& key,
                     std::vector<ConfigIssue>& errors, Read read) {
    if (node.IsNull()) {
        return;  // "key:" with no value: an empty list
    }
    if (!node.IsSequence()) {
        errors.push_back({key, "must be a list of strings"});
        return;
    }
    size_t index = 0;
    for (const auto& item : node) {
        const std::string path = key + "[" + std::to_string(index++) + "]";
        if (!item.IsScalar()) {
            errors.push_back({path, "must be a string"});
            continue;
        }
        read(item.Scalar(), path);
    }
}

void readTrustedNetworks(const YAML::Node& node, ConfigParseResult& result) {
    forEachListItem(
        node, "trusted_networks", result.errors,
        [&](const std::string& text, const std::string& path) {
            auto parsed = parseNetwork(text);
            if (!parsed.network) {
                result.errors.push_back({path, parsed.error});
                return;
            }
            if (parsed.host_bits_masked) {
                result.warnings.push_back({path, "\"" + text + "\" has host bits set; using " +
                                                     formatNetwork(*parsed.network)});
            }
            result.config.trusted_networks.push_back(*parsed.network);
        });
}

void readLocalDomains(const YAML::Node& node, ConfigParseResult& result) {
    forEachListItem(node, "local_domains", result.errors,
                    [&](const std::string& text, const std::string& path) {
                        auto parsed = parseDomainPattern(text);
                        if (!parsed.pattern) {
                            result.errors.push_back({path, parsed.error});
                            return;
                        }
                        result.config.local_domains.push_back(std::move(*parsed.pattern));
                    });
}

void readRejectMessage(const YAML::Node& node, ConfigParseResult& result) {
    const std::string key = "reject_message";
    if (!node.IsScalar()) {
        result.errors.push_back({key, "must be a string"});
        return;
    }
    const std::string& text = node.Scalar();
    const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    if (text.empty() || text.size() > kMaxRejectMessage || !printable) {
        result.errors.push_back({key, "must be 1 to " + std::to_string(kMaxRejectMessage) +
                                          " printable ASCII characters on one line"});
        return;
    }
    result.config.reject_message = text;
}

void readAllowAuthenticated(const YAML::Node& node, ConfigParseResult& result) {
    const std::string text = node.IsScalar() ? node.Scalar() : "";
    if (text != "true" && text != "false") {
        result.errors.push_back({"allow_authenticated", "must be true or false"});
        return;
    }
    result.config.allow_authenticated = text == "true";
}

void readRoot(const YAML::Node& root, ConfigParseResult& result) {
    std::set<std::string> seen;
    for (const auto& entry : root) {
        if (!entry.first.IsScalar()) {
            result.errors.push_back({"", "keys must be strings"});
            continue;
        }
        const std::string& key = entry.first.Scalar();
        if (!seen.insert(key).second) {
            result.errors.push_back({key, "duplicate key"});
        } else if (key == "trusted_networks") {
            readTrustedNetworks(entry.second, result);
        } else if (key == "local_domains") {
            readLocalDomains(entry.second, result);
        } else if (key == "reject_message") {
            readRejectMessage(entry.second, result);
        } else if (key == "allow_authenticated") {
            readAllowAuthenticated(entry.second, result);
        } else {
            result.errors.push_back({key,
                                     "unknown key (expected trusted_networks, local_domains, "
                                     "reject_message, allow_authenticated)"});
        }
    }
}

}  // namespace

ConfigParseResult parseRelayConfig(std::string_view yaml_text) {
    ConfigParseResult result;
    try {
        const YAML::Node root = YAML::Load(std::string(yaml_text));
        if (root.IsNull()) {
            return result;
        }
        if (!root.IsMap()) {
            result.errors.push_back({"", "must be a mapping"});
            return result;
        }
        readRoot(root, result);
    } catch (const YAML::Exception& error) {
        result.errors.push_back({"", std::string("invalid YAML: ") + error.what()});
    }
    return result;
}

}  // namespace mailgate::relay_access
