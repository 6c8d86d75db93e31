#pragma once

// Helpers shared by the config loader and its value parsers; not part of the public config API.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config/config.hpp"

namespace mailgate::config::detail {

// True for a DNS name: dot-separated labels of letters, digits and inner hyphens.
bool isDomainName(std::string_view text);

// Parses "host:port" like parseEndpoint; returns why it is malformed, or "" when it is not.
std::string endpointProblem(std::string_view text, Endpoint& endpoint);

// A size or duration written the way the config accepts it: "64KiB", "24h".
std::string formatSize(uint64_t bytes);
std::string formatDuration(std::chrono::milliseconds duration);

}  // namespace mailgate::config::detail
