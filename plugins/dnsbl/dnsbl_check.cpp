#include "dnsbl_check.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

namespace mailgate::dnsbl {
namespace {

using mailgate::sdk::LogLevel;
using mailgate::sdk::Session;
using mailgate::sdk::Verdict;

std::string formatWeight(double weight) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", weight);
    return text;
}

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

}  // namespace

std::optional<std::uint32_t> matchingAnswer(const Zone& zone,
                                            const std::vector<std::uint32_t>& addresses) {
    for (const std::uint32_t address : addresses) {
        for (const auto& network : zone.returns) {
            if (networkContains(network, address)) {
                return address;
            }
        }
    }
    return std::nullopt;
}

Check::Check(const DnsblConfig& config, Stage stage, std::string client, std::string sender_domain,
             ClientOutcome before)
    : config_(config),
      stage_(stage),
      client_(std::move(client)),
      sender_domain_(std::move(sender_domain)),
      before_(std::move(before)) {}

void Check::add(const Zone& zone, std::string name) {
    lookups_.push_back(ZoneLookup{&zone, std::move(name), ZoneLookup::State::Waiting, {}});
}

void Check::resolve(std::size_t index, const CachedAnswer& answer) {
    ZoneLookup& lookup = lookups_[index];
    if (lookup.state != ZoneLookup::State::Waiting) {
        return;
    }
    if (const auto match = matchingAnswer(*lookup.zone, answer.addresses)) {
        lookup.state = ZoneLookup::State::Listed;
        lookup.detail = formatIpv4(*match);
    } else {
        lookup.state = ZoneLookup::State::NotListed;
    }
}

void Check::fail(std::size_t index, const std::string& why) {
    ZoneLookup& lookup = lookups_[index];
    if (lookup.state == ZoneLookup::State::Waiting) {
        lookup.state = ZoneLookup::State::Failed;
        lookup.detail = why;
    }
}

void Check::expire() {
    for (std::size_t i = 0; i < lookups_.size(); ++i) {
        fail(i, "no answer within " + std::to_string(config_.timeout.count()) + " ms");
    }
}

bool Check::complete() const {
    return std::none_of(lookups_.begin(), lookups_.end(), [](const ZoneLookup& lookup) {
        return lookup.state == ZoneLookup::State::Waiting;
    });
}

std::string Check::replyText(const std::vector<std::string>& zones) const {
    std::string joined;
    for (const auto& zone : zones) {
        joined += (joined.empty() ? "" : ", ") + zone;
    }
    std::string text = config_.reply.text;
    replaceAll(text, "{client}", client_);
    replaceAll(text, "{zones}", joined);
    replaceAll(text, "{sender_domain}", sender_domain_);
    return text;
}

Verdict Check::decide(const Session& session) const {
    const std::string subject =
        stage_ == Stage::Connect ? "client " + client_ : "sender domain " + sender_domain_;
    double weight = before_.weight;
    std::vector<std::string> listed = before_.listed_zones;
    for (const auto& lookup : lookups_) {
        const Zone& zone = *lookup.zone;
        if (lookup.state == ZoneLookup::State::Failed) {
            session.log(LogLevel::Warning, "lookup of " + lookup.name + " failed (" +
                                               lookup.detail +
                                               "); counted as not listed (fail open)");
        } else if (lookup.state == ZoneLookup::State::Listed) {
            weight += zone.weight;
            if (zone.weight > 0) {
                listed.push_back(zone.zone);
            }
            session.add_symbol(zone.symbol, zone.weight,
                               zone.zone + " answered " + lookup.detail + " for " + lookup.name);
            session.log(LogLevel::Info, subject + " listed in " + zone.zone + " (" + lookup.detail +
                                            "), weight " + formatWeight(zone.weight));
        }
    }
    if (stage_ == Stage::Connect) {
        session.set_session_data(std::make_unique<ClientOutcome>(ClientOutcome{weight, listed}));
    }
    if (config_.action == Action::Score || weight < config_.threshold) {
        return Verdict::Continue;
    }
    session.log(LogLevel::Info, subject + ": total weight " + formatWeight(weight) +
                                    " reaches the threshold " + formatWeight(config_.threshold));
    const std::string text = replyText(listed);
    static_cast<void>(session.reply(config_.reply.code, config_.reply.enhanced, text));
    return config_.action == Action::Reject ? Verdict::Reject : Verdict::Tempfail;
}

}  // namespace mailgate::dnsbl
