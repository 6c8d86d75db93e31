// spam_score: rules add named symbols with weights; the total decides. See README.md.
#include <mailgate/plugin.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actions.hpp"
#include "message_facts.hpp"
#include "mime_text.hpp"
#include "scanners.hpp"
#include "spam_config.hpp"

namespace mailgate::spam_score {

constexpr std::chrono::milliseconds kDefaultHookTimeout = std::chrono::seconds(30);

class SpamScore : public sdk::Plugin {
  public:
    // Not `nonblocking`: external scanners are asked with blocking sockets (bounded by their
    // timeouts), so the hook runs on the host's worker pool, never on an I/O thread.
    static constexpr bool nonblocking = false;
    static constexpr std::uint32_t edits = MG_EDIT_ADD_HEADER | MG_EDIT_CHANGE_HEADER;

    SpamScore(std::string_view yaml, sdk::ConfigErrors& errors) {
        ConfigParseResult parsed = parseSpamConfig(yaml);
        for (const auto& error : parsed.errors) {
            errors.add(error.path, error.message);
        }
        config_ = std::move(parsed.config);
        warnWithoutHostname(errors);
        warnAboutTimeouts(errors);
        initMime();
    }

    sdk::Verdict on_end_of_message(sdk::Session& session) const override {
        const MessageFacts facts = gatherFacts(session, config_.rules, config_.mime);
        std::vector<bool> matched;
        config_.rules.evaluate(facts, matched);
        for (std::size_t i = 0; i < matched.size(); ++i) {
            const Rule& rule = config_.rules.rules[i];
            if (matched[i] && rule.reported()) {
                static_cast<void>(
                    session.add_symbol(rule.name, rule.score,
                                       rule.description.empty() ? rule.name : rule.description));
            }
        }
        const ScannersOutcome scanned = runScanners(
            config_.scanners, session,
            config_.rules.own_names.empty() ? "localhost" : config_.rules.own_names.front());
        const double score = session.score();
        if (scanned.tempfail) {
            session.log(sdk::LogLevel::Info,
                        "score=" + formatScore(score) + " action=tempfail" + scanned.summary);
            return session.tempfail(451, "4.3.0", "Content scanner unavailable, try again later");
        }
        const Action action = chooseAction(config_.actions, score, scanned.floor);
        const sdk::Verdict verdict = applyActions(config_.actions, session, scanned.floor);
        session.log(sdk::LogLevel::Info, "score=" + formatScore(score) + " action=" +
                                             std::string(actionName(action)) + scanned.summary);
        return verdict;
    }

  private:
    // The host's hook timeout (the plugin entry's `timeout`, 30s unless set) must outlast the
    // scanners, or a hung scanner ends in the plugin's on_error instead of its on_failure.
    void warnAboutTimeouts(const sdk::ConfigErrors& errors) const {
        std::chrono::milliseconds total{0};
        for (const ScannerConfig& scanner : config_.scanners) {
            total += scanner.timeout;
        }
        if (total >= kDefaultHookTimeout) {
            errors.log(sdk::LogLevel::Warning,
                       "spam_score: the scanners' timeouts add up to " +
                           std::to_string(total.count()) +
                           "ms: set the plugin entry's timeout above that (default 30s)");
        }
    }

    void warnWithoutHostname(const sdk::ConfigErrors& errors) const {
        if (!config_.rules.own_names.empty()) {
            return;
        }
        for (const Rule& rule : config_.rules.rules) {
            if (rule.own_hostname) {
                errors.log(sdk::LogLevel::Warning,
                           "spam_score: rule " + rule.name +
                               " uses own_hostname, but no hostname is configured: it never "
                               "matches");
            }
        }
    }

    SpamConfig config_;
};

}  // namespace mailgate::spam_score

MAILGATE_PLUGIN(mailgate::spam_score::SpamScore, "spam_score", "0.1.0")
