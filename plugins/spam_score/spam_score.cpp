// spam_score: rules add named symbols with weights; the total decides. See README.md.
#include <mailgate/plugin.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actions.hpp"
#include "message_facts.hpp"
#include "mime_text.hpp"
#include "scanners.hpp"
#include "spam_config.hpp"

namespace mailgate::spam_score {

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
        const ScannersOutcome scanned = runScanners(config_.scanners, session);
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
