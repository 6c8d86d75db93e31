#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules.hpp"
#include "scanner_config.hpp"

// The plugin's YAML subtree (and its rules file) read into a compiled rule set and the actions,
// with every mistake located by its path.
namespace mailgate::spam_score {

struct Reply {
    std::uint16_t code;
    std::string enhanced;
    std::string text;
};

struct Actions {
    bool add_headers = true;      // X-Spam-Score, X-Spam-Status, X-Spam-Flag
    double required_score = 5.0;  // at or above: the message is spam (X-Spam-Flag: YES)
    std::optional<double> subject_prefix_score;
    std::string subject_prefix = "[SPAM] ";
    std::optional<double> quarantine_score;
    std::optional<double> tempfail_score;
    Reply tempfail_reply{451, "4.7.1", "Message deferred by content filter, try again later"};
    std::optional<double> reject_score;
    Reply reject_reply{550, "5.7.1", "Message refused as spam"};
};

struct MimeLimits {
    std::size_t max_parts = 100;              // Content-Type fields; more: no MIME decoding
    std::size_t max_depth = 8;                // nesting of multiparts and attached messages
    std::size_t max_text_size = 1024 * 1024;  // decoded text octets the body rules see
};

struct SpamConfig {
    RuleSet rules;
    Actions actions;
    MimeLimits mime;
    std::vector<ScannerConfig> scanners;    // external daemons, asked in this order
    std::size_t max_concurrent_scans = 64;  // messages being scanned at once (a thread each)
};

// A problem at `path` in the subtree ("rules[3].regex", "" for the subtree itself).
struct ConfigIssue {
    std::string path;
    std::string message;
};

struct ConfigParseResult {
    SpamConfig config;                // meaningful only when `errors` is empty
    std::vector<ConfigIssue> errors;  // every error found, not just the first
};

// Never throws on bad input (std::bad_alloc aside). A rules_file is read from disk; errors in
// it are reported at "rules_file" with FILE:LINE:COL and the path inside the file.
ConfigParseResult parseSpamConfig(std::string_view yaml_text);

// "1048576", "512KB", "10MB", "1GB" (binary units); nullopt when malformed.
std::optional<std::uint64_t> parseSize(std::string_view text);

}  // namespace mailgate::spam_score
