// spam_score: rules add named symbols with weights; the total decides. See README.md.
#include <mailgate/plugin.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actions.hpp"
#include "message_facts.hpp"
#include "mime_text.hpp"
#include "scan_threads.hpp"
#include "scanners.hpp"
#include "spam_config.hpp"

namespace mailgate::spam_score {

constexpr std::chrono::milliseconds kDefaultHookTimeout = std::chrono::seconds(30);

class SpamScore : public sdk::Plugin {
  public:
    // Regex matching and MIME decoding are CPU work bounded by the message size: no blocking.
    // External scanners are asked on threads of our own while the hook is pending.
    static constexpr bool nonblocking = true;
    static constexpr std::uint32_t edits = MG_EDIT_ADD_HEADER | MG_EDIT_CHANGE_HEADER;

    SpamScore(std::string_view yaml, sdk::ConfigErrors& errors)
        : config_(configFrom(yaml, errors)), threads_(config_.max_concurrent_scans) {
        warnWithoutHostname(errors);
        warnAboutTimeouts(errors);
        initMime();
    }

    sdk::Verdict on_end_of_message(sdk::Session& session) const override {
        addRuleSymbols(session);
        if (config_.scanners.empty()) {
            return decide(session, ScannersOutcome{});
        }
        const sdk::Completion completion(session);
        const bool started = threads_.tryStart([this, completion] {
            const sdk::Session pending = completion.session();
            sdk::Verdict verdict = sdk::Verdict::Error;
            try {
                verdict = decide(pending, runScanners(config_.scanners, pending, ourName()));
            } catch (...) {
                pending.log(sdk::LogLevel::Error, "scanning failed (out of memory?)");
            }
            static_cast<void>(completion.complete(verdict));
        });
        if (started) {
            return sdk::Verdict::Pending;
        }
        return decide(session,
                      failAll(config_.scanners, session,
                              "not asked: already scanning max_concurrent_scans (" +
                                  std::to_string(config_.max_concurrent_scans) + ") messages"));
    }

  private:
    static SpamConfig configFrom(std::string_view yaml, sdk::ConfigErrors& errors) {
        ConfigParseResult parsed = parseSpamConfig(yaml);
        for (const auto& error : parsed.errors) {
            errors.add(error.path, error.message);
        }
        return std::move(parsed.config);
    }

    void addRuleSymbols(const sdk::Session& session) const {
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
    }

    // The actions on the total, after the scanners (if any) have added theirs.
    sdk::Verdict decide(const sdk::Session& session, const ScannersOutcome& scanned) const {
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

    std::string_view ourName() const {
        return config_.rules.own_names.empty() ? std::string_view("localhost")
                                               : std::string_view(config_.rules.own_names.front());
    }

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
    mutable ScanThreads threads_;  // last: destroyed first, waiting for running scans
};

}  // namespace mailgate::spam_score

MAILGATE_PLUGIN(mailgate::spam_score::SpamScore, "spam_score", "0.1.0")
