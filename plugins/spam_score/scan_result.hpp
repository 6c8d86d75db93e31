#pragma once

#include <cstddef>
#include <string>
#include <vector>

// What an external scanner (spamd, Rspamd) said about one message, or why it said nothing.
namespace mailgate::spam_score {

// At most this many of a scanner's symbols are listed (X-Spam-Status stays readable).
inline constexpr std::size_t kMaxScannerSymbols = 50;
// A reply larger than this is refused: both daemons answer in a few kilobytes.
inline constexpr std::size_t kMaxScannerReply = 1024 * 1024;

struct ScannerSymbol {
    std::string name;
    double score = 0;         // the scanner's own score for it (spamd's SYMBOLS give none: 0)
    std::string description;  // may be empty
};

struct ScanResult {
    bool ok = false;
    std::string error;  // why, when !ok
    double score = 0;
    double required = 0;
    bool spam = false;   // spamd's "Spam: True"; Rspamd: an action other than "no action"
    std::string action;  // Rspamd's action ("reject", "soft reject", ...); empty for spamd
    std::vector<ScannerSymbol> symbols;

    static ScanResult failure(std::string why) {
        ScanResult result;
        result.error = std::move(why);
        return result;
    }
};

}  // namespace mailgate::spam_score
