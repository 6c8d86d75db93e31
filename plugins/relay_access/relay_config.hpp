#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "relay_policy.hpp"

// The plugin's YAML subtree read into typed settings, with every mistake located by its path.
namespace mailgate::relay_access {

inline constexpr std::string_view kDefaultRejectMessage = "Relay access denied";

struct RelayConfig {
    std::vector<Network> trusted_networks;
    std::vector<DomainPattern> local_domains;
    std::string reject_message{kDefaultRejectMessage};
    bool allow_authenticated = false;  // accept every recipient of a client that did AUTH
};

// A problem at `path` in the subtree: "trusted_networks[1]", "reject_message", "" for the whole.
struct ConfigIssue {
    std::string path;
    std::string message;
};

struct ConfigParseResult {
    RelayConfig config;                 // meaningful only when `errors` is empty
    std::vector<ConfigIssue> errors;    // every error found, not just the first
    std::vector<ConfigIssue> warnings;  // accepted but worth a log line (host bits masked)
};

// Empty text, "~" or "{}" give the defaults: no trusted network, no local domain. Never throws
// on bad input (std::bad_alloc aside).
ConfigParseResult parseRelayConfig(std::string_view yaml_text);

}  // namespace mailgate::relay_access
