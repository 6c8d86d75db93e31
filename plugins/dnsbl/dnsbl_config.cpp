#include "dnsbl_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace mailgate::dnsbl {
namespace {

constexpr std::size_t kMaxReplyText = 200;  // keeps the reply within 512 octets
constexpr std::size_t kMaxSymbol = 64;
constexpr double kMaxWeight = 1000.0;
constexpr std::size_t kMaxZones = 64;
constexpr std::size_t kMaxReturns = 64;
constexpr std::size_t kMaxCacheEntries = 10'000'000;
constexpr auto kMinTimeout = std::chrono::milliseconds(10);
constexpr auto kMaxTimeout = std::chrono::seconds(60);
constexpr auto kMaxCacheTtl = std::chrono::hours(24 * 7);

using Errors = std::vector<ConfigIssue>;

std::string indexed(const std::string& key, std::size_t index) {
    return key + "[" + std::to_string(index) + "]";
}

std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
}

bool isPrintableLine(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

// Walks a mapping: `read(key, value, path)` for each known key; unknown and duplicate keys and
// non-string keys are errors. Returns false when the node is not a mapping.
template <typename Read>
bool forEachKey(const YAML::Node& node, const std::string& path,
                const std::vector<std::string>& known, Errors& errors, Read read) {
    if (!node.IsMap()) {
        errors.push_back({path, "must be a mapping"});
        return false;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            errors.push_back({path, "keys must be strings"});
            continue;
        }
        const std::string& key = entry.first.Scalar();
        const std::string key_path = join(path, key);
        if (!seen.insert(key).second) {
            errors.push_back({key_path, "duplicate key"});
        } else if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string expected;
            for (const auto& name : known) {
                expected += (expected.empty() ? "" : ", ") + name;
            }
            errors.push_back({key_path, "unknown key (expected " + expected + ")"});
        } else {
            read(key, entry.second, key_path);
        }
    }
    return true;
}

std::optional<std::string> scalar(const YAML::Node& node, const std::string& path, Errors& errors) {
    if (!node.IsScalar()) {
        errors.push_back({path, "must be a string"});
        return std::nullopt;
    }
    return node.Scalar();
}

std::optional<double> number(const YAML::Node& node, const std::string& path, double low,
                             double high, Errors& errors) {
    const std::string message = "must be a number from " + std::to_string(static_cast<int>(low)) +
                                " to " + std::to_string(static_cast<int>(high));
    if (!node.IsScalar()) {
        errors.push_back({path, message});
        return std::nullopt;
    }
    const std::string& text = node.Scalar();
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(value) || value < low || value > high) {
        errors.push_back({path, message + ", got '" + text + "'"});
        return std::nullopt;
    }
    return value;
}

template <typename Duration>
std::optional<Duration> duration(const YAML::Node& node, const std::string& path, Duration low,
                                 Duration high, const std::string& range, Errors& errors) {
    std::chrono::milliseconds value{};
    if (!node.IsScalar() || !parseDuration(node.Scalar(), value)) {
        errors.push_back({path, "expected a duration like 500ms, 30s, 5m or 1h"});
        return std::nullopt;
    }
    if (value < low || value > high) {
        errors.push_back({path, "must be " + range});
        return std::nullopt;
    }
    return std::chrono::duration_cast<Duration>(value);
}

std::string defaultSymbol(const std::string& zone, double weight) {
    std::string symbol = weight < 0 ? "DNSWL_" : "DNSBL_";
    for (const char c : zone) {
        symbol += (c >= 'a' && c <= 'z')   ? static_cast<char>(c - 'a' + 'A')
                  : (c >= '0' && c <= '9') ? c
                                           : '_';
    }
    return symbol.substr(0, kMaxSymbol);
}

bool isValidSymbol(const std::string& symbol) {
    return !symbol.empty() && symbol.size() <= kMaxSymbol &&
           std::all_of(symbol.begin(), symbol.end(),
                       [](char c) { return c > 0x20 && static_cast<unsigned char>(c) < 0x7f; });
}

void readReturns(const YAML::Node& node, const std::string& path, Zone& zone, Errors& errors) {
    if (!node.IsSequence() || node.size() == 0) {
        errors.push_back({path, "must be a non-empty list of addresses or networks"});
        return;
    }
    if (node.size() > kMaxReturns) {
        errors.push_back({path, "at most " + std::to_string(kMaxReturns) + " items"});
        return;
    }
    zone.returns.clear();
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string item_path = indexed(path, i);
        const auto text = scalar(node[i], item_path, errors);
        if (!text) {
            continue;
        }
        const auto network = parseIpv4Network(*text);
        if (!network) {
            errors.push_back({item_path,
                              "expected an IPv4 address like 127.0.0.2 or a network "
                              "like 127.0.0.0/24, got '" +
                                  *text + "'"});
            continue;
        }
        zone.returns.push_back(*network);
    }
}

std::optional<Zone> readZone(const YAML::Node& node, const std::string& path, Errors& errors) {
    Zone zone;
    zone.returns = {Ipv4Network{0x7f000000u, 8}};
    bool has_zone = false;
    bool has_symbol = false;
    const std::size_t errors_before = errors.size();
    const bool is_map = forEachKey(
        node, path, {"zone", "lookup", "weight", "returns", "symbol"}, errors,
        [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
            if (key == "zone") {
                const auto text = scalar(value, key_path, errors);
                const auto name = text ? normalizedDomain(*text) : std::nullopt;
                if (text && !name) {
                    errors.push_back({key_path, "must be a domain name, got '" + *text + "'"});
                }
                has_zone = name.has_value();
                zone.zone = name.value_or("");
            } else if (key == "lookup") {
                const auto text = scalar(value, key_path, errors);
                if (text && *text == "client_ip") {
                    zone.lookup = Lookup::ClientIp;
                } else if (text && *text == "sender_domain") {
                    zone.lookup = Lookup::SenderDomain;
                } else if (text) {
                    errors.push_back(
                        {key_path, "must be client_ip or sender_domain, got '" + *text + "'"});
                }
            } else if (key == "weight") {
                zone.weight =
                    number(value, key_path, -kMaxWeight, kMaxWeight, errors).value_or(1.0);
            } else if (key == "returns") {
                readReturns(value, key_path, zone, errors);
            } else if (key == "symbol") {
                const auto text = scalar(value, key_path, errors);
                if (text && !isValidSymbol(*text)) {
                    errors.push_back({key_path,
                                      "must be 1 to 64 printable ASCII characters "
                                      "without spaces"});
                }
                has_symbol = text.has_value();
                zone.symbol = text.value_or("");
            }
        });
    if (is_map && !has_zone && errors.size() == errors_before) {
        errors.push_back({path, "needs a zone"});
    }
    if (!has_symbol) {
        zone.symbol = defaultSymbol(zone.zone, zone.weight);
    }
    if (!is_map || errors.size() != errors_before) {
        return std::nullopt;
    }
    return zone;
}

void readZones(const YAML::Node& node, const std::string& path, DnsblConfig& config,
               Errors& errors) {
    if (!node.IsSequence() || node.size() == 0) {
        errors.push_back({path, "must be a non-empty list of zones"});
        return;
    }
    if (node.size() > kMaxZones) {
        errors.push_back({path, "at most " + std::to_string(kMaxZones) + " zones"});
        return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string zone_path = indexed(path, i);
        auto zone = readZone(node[i], zone_path, errors);
        if (!zone) {
            continue;
        }
        const bool duplicate =
            std::any_of(config.zones.begin(), config.zones.end(), [&](const Zone& other) {
                return other.zone == zone->zone && other.lookup == zone->lookup;
            });
        if (duplicate) {
            errors.push_back({zone_path + ".zone",
                              "zone '" + zone->zone + "' is listed twice for the same lookup"});
            continue;
        }
        config.zones.push_back(std::move(*zone));
    }
}

void readCache(const YAML::Node& node, const std::string& path, CacheSettings& cache,
               Errors& errors) {
    forEachKey(node, path, {"max_entries", "max_ttl", "negative_ttl"}, errors,
               [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                   if (key == "max_entries") {
                       const auto count = number(value, key_path, 0,
                                                 static_cast<double>(kMaxCacheEntries), errors);
                       if (count && *count != std::floor(*count)) {
                           errors.push_back({key_path, "must be a whole number"});
                       } else if (count) {
                           cache.max_entries = static_cast<std::size_t>(*count);
                       }
                   } else {
                       auto& target = key == "max_ttl" ? cache.max_ttl : cache.negative_ttl;
                       target =
                           duration<std::chrono::seconds>(value, key_path, std::chrono::seconds(0),
                                                          kMaxCacheTtl, "from 0s to 168h", errors)
                               .value_or(target);
                   }
               });
}

// The text may hold the placeholders {client}, {zones} and {sender_domain}, nothing else.
bool hasOnlyKnownPlaceholders(const std::string& text) {
    static const std::vector<std::string> known = {"{client}", "{zones}", "{sender_domain}"};
    for (std::size_t open = text.find('{'); open != std::string::npos;
         open = text.find('{', open + 1)) {
        const bool matches = std::any_of(known.begin(), known.end(), [&](const std::string& p) {
            return text.compare(open, p.size(), p) == 0;
        });
        if (!matches) {
            return false;
        }
    }
    return true;
}

void readReply(const YAML::Node& node, const std::string& path, ReplySettings& reply,
               Errors& errors) {
    forEachKey(
        node, path, {"code", "enhanced", "text"}, errors,
        [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
            const auto text = scalar(value, key_path, errors);
            if (!text) {
                return;
            }
            if (key == "code") {
                const auto code = number(value, key_path, 400, 599, errors);
                if (code &&
                    (*code != std::floor(*code) || (static_cast<int>(*code) / 10) % 10 > 5)) {
                    errors.push_back({key_path, "must be a reply code like 451 or 554"});
                } else if (code) {
                    reply.code = static_cast<std::uint16_t>(*code);
                }
            } else if (key == "enhanced") {
                const bool ok =
                    text->size() >= 5 && (text->front() == '4' || text->front() == '5') &&
                    text->at(1) == '.' && std::count(text->begin(), text->end(), '.') == 2 &&
                    std::all_of(text->begin(), text->end(),
                                [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
                if (!ok) {
                    errors.push_back({key_path, "must be an enhanced status code like 5.7.1"});
                } else {
                    reply.enhanced = *text;
                }
            } else {
                if (text->empty() || text->size() > kMaxReplyText || !isPrintableLine(*text)) {
                    errors.push_back({key_path, "must be 1 to 200 printable ASCII characters"});
                } else if (!hasOnlyKnownPlaceholders(*text)) {
                    errors.push_back({key_path,
                                      "unknown placeholder (expected {client}, "
                                      "{zones} or {sender_domain})"});
                } else {
                    reply.text = *text;
                }
            }
        });
}

void readRoot(const YAML::Node& root, ConfigParseResult& result) {
    DnsblConfig& config = result.config;
    Errors& errors = result.errors;
    bool has_zones = false;
    bool has_code = false;
    bool has_enhanced = false;
    forEachKey(root, "", {"resolver", "timeout", "threshold", "action", "reply", "cache", "zones"},
               errors,
               [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                   if (key == "resolver") {
                       const auto text = scalar(value, path, errors);
                       if (text && !isValidResolverAddress(*text)) {
                           errors.push_back({path,
                                             "expected an IP address with an optional port "
                                             "(127.0.0.1:5353, [::1]:53), got '" +
                                                 *text + "'"});
                       } else if (text) {
                           config.resolver = *text;
                       }
                   } else if (key == "timeout") {
                       config.timeout =
                           duration<std::chrono::milliseconds>(
                               value, path, kMinTimeout, kMaxTimeout, "from 10ms to 60s", errors)
                               .value_or(config.timeout);
                   } else if (key == "threshold") {
                       const auto threshold = number(value, path, -kMaxWeight, kMaxWeight, errors);
                       if (threshold && *threshold <= 0) {
                           errors.push_back({path, "must be greater than 0"});
                       } else if (threshold) {
                           config.threshold = *threshold;
                       }
                   } else if (key == "action") {
                       const auto text = scalar(value, path, errors);
                       if (text && *text == "reject") {
                           config.action = Action::Reject;
                       } else if (text && *text == "tempfail") {
                           config.action = Action::Tempfail;
                       } else if (text && *text == "score") {
                           config.action = Action::Score;
                       } else if (text) {
                           errors.push_back(
                               {path, "must be reject, tempfail or score, got '" + *text + "'"});
                       }
                   } else if (key == "reply") {
                       has_code = value.IsMap() && value["code"];
                       has_enhanced = value.IsMap() && value["enhanced"];
                       readReply(value, path, config.reply, errors);
                   } else if (key == "cache") {
                       readCache(value, path, config.cache, errors);
                   } else if (key == "zones") {
                       has_zones = true;
                       readZones(value, path, config, errors);
                   }
               });
    if (!has_zones && root.IsMap()) {
        errors.push_back({"zones", "at least one zone is required"});
    }
    // The reply's class follows the action unless both are given.
    const bool tempfail = config.action == Action::Tempfail;
    if (!has_code) {
        config.reply.code = tempfail ? 451 : 554;
    }
    if (!has_enhanced) {
        config.reply.enhanced = config.reply.code / 100 == 4 ? "4.7.1" : "5.7.1";
    }
    if (config.action != Action::Score && (config.reply.code / 100 == 4) != tempfail) {
        errors.push_back({"reply.code", std::string("must be a ") + (tempfail ? "4xx" : "5xx") +
                                            " code for action " +
                                            (tempfail ? "tempfail" : "reject")});
    }
    if (config.reply.enhanced.front() - '0' != config.reply.code / 100) {
        errors.push_back({"reply.enhanced", "must be of the same class as reply.code"});
    }
    if (config.reply.text.empty()) {
        config.reply.text = tempfail
                                ? "Service temporarily unavailable; client [{client}] listed by "
                                  "{zones}"
                                : "Service unavailable; client [{client}] blocked using {zones}";
    }
}

}  // namespace

bool DnsblConfig::hasLookup(Lookup lookup) const {
    return std::any_of(zones.begin(), zones.end(),
                       [lookup](const Zone& zone) { return zone.lookup == lookup; });
}

bool parseDuration(std::string_view text, std::chrono::milliseconds& duration) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0 || digits > 9) {
        return false;
    }
    long long value = 0;
    std::from_chars(text.data(), text.data() + digits, value);
    const std::string_view unit = text.substr(digits);
    if (unit == "ms") {
        duration = std::chrono::milliseconds(value);
    } else if (unit == "s") {
        duration = std::chrono::seconds(value);
    } else if (unit == "m") {
        duration = std::chrono::minutes(value);
    } else if (unit == "h") {
        duration = std::chrono::hours(value);
    } else {
        return false;
    }
    return true;
}

ConfigParseResult parseDnsblConfig(std::string_view yaml_text) {
    ConfigParseResult result;
    try {
        const YAML::Node root = YAML::Load(std::string(yaml_text));
        if (root.IsNull()) {
            result.errors.push_back({"zones", "at least one zone is required"});
            return result;
        }
        readRoot(root, result);
    } catch (const YAML::Exception& error) {
        result.errors.push_back({"", std::string("invalid YAML: ") + error.what()});
    }
    return result;
}

}  // namespace mailgate::dnsbl
