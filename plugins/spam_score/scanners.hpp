#pragma once

#include <mailgate/plugin.hpp>

#include <string>
#include <vector>

#include "actions.hpp"
#include "scan_result.hpp"
#include "scanner_config.hpp"

// Runs the configured scanners one after the other and adds what they found to the session:
// the weighted score as symbol NAME, their own symbols (prefixed) with score 0, NAME_FAIL for a
// failure that is ignored.
namespace mailgate::spam_score {

struct ScannersOutcome {
    Action floor = Action::None;  // the strongest scanner verdict followed (Rspamd's action)
    bool tempfail = false;        // a scanner failed and its on_failure is tempfail
    std::string summary;          // " SPAMD=1004.20 RSPAMD=failed", for the log line
};

// `hostname`: our own name, for the Received field spamd gets.
ScannersOutcome runScanners(const std::vector<ScannerConfig>& scanners, const sdk::Session& session,
                            std::string_view hostname);

// Every scanner failed for `reason` without being asked (too many scans at once): each one's
// on_failure applies, as for any failure.
ScannersOutcome failAll(const std::vector<ScannerConfig>& scanners, const sdk::Session& session,
                        const std::string& reason);

// What one scan result adds to the session and the outcome (also used by the tests).
void applyScanResult(const ScannerConfig& scanner, const ScanResult& result,
                     const sdk::Session& session, ScannersOutcome& outcome);

// A symbol name the host accepts (printable ASCII without spaces, 1-64 octets).
bool validSymbolName(std::string_view name);

}  // namespace mailgate::spam_score
