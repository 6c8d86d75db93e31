#include "scanners.hpp"

#include <algorithm>
#include <optional>

#include "scanner_client.hpp"

namespace mailgate::spam_score {
namespace {

// Text from a daemon goes into descriptions and the log: no control characters.
std::string printable(std::string_view text) {
    std::string out(text.substr(0, 300));
    std::replace_if(
        out.begin(), out.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
    return out;
}

std::string describe(const ScannerConfig& scanner) {
    return std::string(scannerTypeName(scanner.type)) + " at " + scanner.address;
}

void addSymbols(const ScannerConfig& scanner, const ScanResult& result,
                const sdk::Session& session) {
    for (const ScannerSymbol& symbol : result.symbols) {
        const std::string name = scanner.symbol_prefix + symbol.name;
        if (!validSymbolName(name)) {
            continue;
        }
        std::string description = formatScore(symbol.score);
        if (!symbol.description.empty()) {
            description += " " + printable(symbol.description);
        }
        static_cast<void>(session.add_symbol(name, 0, description));
    }
}

}  // namespace

bool validSymbolName(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

void applyScanResult(const ScannerConfig& scanner, const ScanResult& result,
                     const sdk::Session& session, ScannersOutcome& outcome) {
    if (!result.ok) {
        const bool tempfail = scanner.on_failure == OnFailure::Tempfail;
        session.log(sdk::LogLevel::Warning,
                    scanner.name + " (" + describe(scanner) +
                        ") failed: " + printable(result.error) +
                        (tempfail ? "; on_failure=tempfail" : "; on_failure=ignore"));
        outcome.summary += " " + scanner.name + "=failed";
        if (tempfail) {
            outcome.tempfail = true;
            return;
        }
        static_cast<void>(session.add_symbol(
            scanner.name + "_FAIL", 0, describe(scanner) + " failed: " + printable(result.error)));
        return;
    }
    const double weighted = result.score * scanner.weight + 0.0;  // + 0.0: no "-0.00"
    std::string description =
        describe(scanner) + ": " + formatScore(result.score) + "/" + formatScore(result.required);
    if (!result.action.empty()) {
        description += " " + printable(result.action);
    }
    static_cast<void>(session.add_symbol(scanner.name, weighted, description));
    addSymbols(scanner, result, session);
    outcome.summary += " " + scanner.name + "=" + formatScore(weighted);
    if (scanner.type == ScannerType::Rspamd && scanner.follow_action) {
        if (result.action == "reject") {
            outcome.floor = std::max(outcome.floor, Action::Reject);
        } else if (result.action == "soft reject") {
            outcome.floor = std::max(outcome.floor, Action::Tempfail);
        }
    }
}

ScannersOutcome failAll(const std::vector<ScannerConfig>& scanners, const sdk::Session& session,
                        const std::string& reason) {
    ScannersOutcome outcome;
    for (const ScannerConfig& scanner : scanners) {
        applyScanResult(scanner, ScanResult::failure(reason), session, outcome);
        if (outcome.tempfail) {
            break;
        }
    }
    return outcome;
}

ScannersOutcome runScanners(const std::vector<ScannerConfig>& scanners, const sdk::Session& session,
                            std::string_view hostname) {
    ScannersOutcome outcome;
    if (scanners.empty()) {
        return outcome;
    }
    const MessageText text = messageText(session, hostname);
    std::optional<RspamdEnvelope> envelope;
    for (const ScannerConfig& scanner : scanners) {
        if (text.size() > scanner.max_size) {
            session.log(sdk::LogLevel::Info, scanner.name + " skipped: the message (" +
                                                 std::to_string(text.size()) +
                                                 " octets) is larger than max_size (" +
                                                 std::to_string(scanner.max_size) + ")");
            outcome.summary += " " + scanner.name + "=skipped";
            continue;
        }
        if (!envelope && scanner.type == ScannerType::Rspamd && scanner.envelope) {
            envelope = envelopeOf(session);
        }
        const ScanResult result =
            scanMessage(scanner, text, envelope ? *envelope : RspamdEnvelope{});
        applyScanResult(scanner, result, session, outcome);
        if (outcome.tempfail) {
            break;
        }
    }
    return outcome;
}

}  // namespace mailgate::spam_score
