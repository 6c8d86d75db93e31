#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanner_socket.hpp"
#include "yaml_reading.hpp"

// The `scanners:` list of the plugin config: external daemons whose scores join the total.
namespace mailgate::spam_score {

enum class ScannerType { Spamd, Rspamd };

// What a failed scan (down, timed out, a broken reply) leads to.
enum class OnFailure {
    Ignore,    // local score only, with the symbol NAME_FAIL (score 0) and a warning logged
    Tempfail,  // 451 4.3.0: the client retries later
};

struct ScannerConfig {
    ScannerType type = ScannerType::Spamd;
    std::string name;                      // symbol carrying the score: "SPAMD", "RSPAMD"
    std::string symbol_prefix;             // for the scanner's own symbols: "SA:", "RS:"
    std::string address;                   // as configured, for the Host header and logs
    std::vector<SocketAddress> addresses;  // resolved when the config is read
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};
    OnFailure on_failure = OnFailure::Ignore;
    double weight = 1.0;
    std::uint64_t max_size = 1024 * 1024;
    bool envelope = true;       // Rspamd: send IP, Helo, From, Rcpt, Queue-Id, User
    bool follow_action = true;  // Rspamd: its "reject" rejects, its "soft reject" tempfails
};

std::string_view scannerTypeName(ScannerType type);

void readScanners(YamlReader& reader, const YAML::Node& node, std::vector<ScannerConfig>& out);

// "host:port" or "[v6]:port": the host resolved to its addresses; "" or the problem.
std::string resolveAddress(const std::string& text, std::vector<SocketAddress>& out);

// "10s", "500ms", "2m"; nullopt when malformed.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

}  // namespace mailgate::spam_score
