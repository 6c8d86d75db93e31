#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "query_names.hpp"

// The plugin's YAML subtree read into typed settings, with every mistake located by its path.
namespace mailgate::dnsbl {

enum class Lookup { ClientIp, SenderDomain };

// One DNS list: what is looked up in it, what its answers mean, and what a listing weighs.
struct Zone {
    std::string zone;  // lower case, no trailing dot
    Lookup lookup = Lookup::ClientIp;
    double weight = 1.0;               // negative: an allowlist
    std::vector<Ipv4Network> returns;  // an answer in any of these means "listed"
    std::string symbol;                // the score symbol added when listed
};

enum class Action { Reject, Tempfail, Score };

struct ReplySettings {
    std::uint16_t code = 554;
    std::string enhanced = "5.7.1";
    std::string text;  // may hold {client}, {zones} and {sender_domain}
};

struct CacheSettings {
    std::size_t max_entries = 10000;                             // 0: no cache
    std::chrono::seconds max_ttl{std::chrono::hours(1)};         // caps the records' TTL
    std::chrono::seconds negative_ttl{std::chrono::minutes(5)};  // "not listed" answers
};

struct DnsblConfig {
    std::string resolver;  // "IP" or "IP:PORT" or "[IPv6]:PORT"; empty: /etc/resolv.conf
    std::chrono::milliseconds timeout{2000};
    double threshold = 1.0;
    Action action = Action::Reject;
    ReplySettings reply;
    CacheSettings cache;
    std::vector<Zone> zones;

    bool hasLookup(Lookup lookup) const;
};

struct ConfigIssue {
    std::string path;  // "zones[1].returns[0]", "" for the whole subtree
    std::string message;
};

struct ConfigParseResult {
    DnsblConfig config;               // meaningful only when `errors` is empty
    std::vector<ConfigIssue> errors;  // every error found, not just the first
};

// Never throws on bad input (std::bad_alloc aside). At least one zone is required.
ConfigParseResult parseDnsblConfig(std::string_view yaml_text);

// "500ms", "2s", "5m", "1h"; false on anything else.
bool parseDuration(std::string_view text, std::chrono::milliseconds& duration);

}  // namespace mailgate::dnsbl
