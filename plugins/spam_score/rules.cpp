#include "rules.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace mailgate::spam_score {
namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool anyMatches(const re2::RE2& regex, const std::vector<std::string>& texts) {
    return std::any_of(texts.begin(), texts.end(), [&](const std::string& text) {
        return re2::RE2::PartialMatch(text, regex);
    });
}

bool testHeader(const Rule& rule, const MessageFacts& facts) {
    bool present = false;
    for (const auto& field : facts.headers) {
        if (!equalsIgnoreCase(field.name, rule.header)) {
            continue;
        }
        present = true;
        if (rule.header_test == HeaderTest::Regex &&
            re2::RE2::PartialMatch(field.value, *rule.regex)) {
            return true;
        }
    }
    switch (rule.header_test) {
        case HeaderTest::Exists:
            return present;
        case HeaderTest::Absent:
            return !present;
        case HeaderTest::Regex:
            break;
    }
    return false;
}

bool testEnvelope(const Rule& rule, const RuleSet& set, const MessageFacts& facts) {
    switch (rule.field) {
        case EnvelopeField::Sender:
            return re2::RE2::PartialMatch(facts.sender, *rule.regex);
        case EnvelopeField::Recipient:
            return std::any_of(
                facts.recipients.begin(), facts.recipients.end(),
                [&](std::string_view rcpt) { return re2::RE2::PartialMatch(rcpt, *rule.regex); });
        case EnvelopeField::Helo:
            if (rule.own_hostname) {
                return std::any_of(
                    set.own_names.begin(), set.own_names.end(),
                    [&](const std::string& own) { return equalsIgnoreCase(facts.helo, own); });
            }
            return re2::RE2::PartialMatch(facts.helo, *rule.regex);
        case EnvelopeField::ClientIp:
            if (rule.regex) {
                return re2::RE2::PartialMatch(facts.client_ip, *rule.regex);
            }
            return std::any_of(rule.networks.begin(), rule.networks.end(),
                               [&](const Network& net) { return net.contains(facts.client_ip); });
    }
    return false;
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

bool RuleSet::test(const Rule& rule, const MessageFacts& facts) const {
    switch (rule.kind) {
        case RuleKind::Header:
            return testHeader(rule, facts);
        case RuleKind::Body:
            return anyMatches(*rule.regex, facts.text_parts);
        case RuleKind::Raw:
            return re2::RE2::PartialMatch(facts.raw, *rule.regex);
        case RuleKind::Envelope:
            return testEnvelope(rule, *this, facts);
        case RuleKind::Size:
            return (!rule.min_size || facts.size >= *rule.min_size) &&
                   (!rule.max_size || facts.size <= *rule.max_size);
        case RuleKind::ContentType:
            return anyMatches(*rule.regex, facts.content_types);
        case RuleKind::Meta:
            break;  // evaluated in order by evaluate()
    }
    return false;
}

void RuleSet::evaluate(const MessageFacts& facts, std::vector<bool>& matched) const {
    matched.assign(rules.size(), false);
    matchBodySet(facts, matched);
    for (const std::size_t index : order) {
        const Rule& rule = rules[index];
        if (rule.kind == RuleKind::Body && body_set.set) {
            continue;  // decided by matchBodySet
        }
        if (rule.kind == RuleKind::Meta) {
            matched[index] = rule.meta->evaluate(
                [&](std::size_t i) { return bool(matched[rule.meta_operands[i]]); });
        } else {
            matched[index] = test(rule, facts);
        }
    }
}

std::vector<std::pair<std::size_t, std::string>> RuleSet::link() {
    std::vector<std::pair<std::size_t, std::string>> problems;
    std::map<std::string, std::size_t> by_name;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        by_name.emplace(rules[i].name, i);
    }
    std::vector<std::size_t> metas;
    order.clear();
    header_names.clear();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        Rule& rule = rules[i];
        if (rule.kind != RuleKind::Meta) {
            order.push_back(i);
            needs_body =
                needs_body || rule.kind == RuleKind::Body || rule.kind == RuleKind::ContentType;
            needs_raw = needs_raw || rule.kind == RuleKind::Raw;
            if (rule.kind == RuleKind::Header) {
                std::string name(rule.header);
                std::transform(name.begin(), name.end(), name.begin(), lower);
                if (std::find(header_names.begin(), header_names.end(), name) ==
                    header_names.end()) {
                    header_names.push_back(name);
                }
            }
            continue;
        }
        metas.push_back(i);
        rule.meta_operands.clear();
        for (const std::string& name : rule.meta->names()) {
            const auto found = by_name.find(name);
            if (found == by_name.end()) {
                problems.emplace_back(i, "unknown rule \"" + name + "\"");
            } else {
                rule.meta_operands.push_back(found->second);
            }
        }
    }
    if (!problems.empty()) {
        return problems;
    }
    // Metas may use metas: order them so each comes after what it uses (Kahn, by rounds).
    std::vector<bool> done(rules.size(), false);
    for (const std::size_t i : order) {
        done[i] = true;
    }
    while (!metas.empty()) {
        const auto ready = std::stable_partition(metas.begin(), metas.end(), [&](std::size_t i) {
            const auto& ops = rules[i].meta_operands;
            return !std::all_of(ops.begin(), ops.end(),
                                [&](std::size_t op) { return bool(done[op]); });
        });
        if (ready == metas.end()) {
            for (const std::size_t i : metas) {
                problems.emplace_back(i, "meta rules depend on each other in a cycle");
            }
            return problems;
        }
        for (auto it = ready; it != metas.end(); ++it) {
            order.push_back(*it);
            done[*it] = true;
        }
        metas.erase(ready, metas.end());
    }
    buildBodySet();
    return problems;
}

void RuleSet::buildBodySet() {
    body_set = {};
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto set = std::make_unique<re2::RE2::Set>(options, re2::RE2::UNANCHORED);
    BodyPatternSet patterns;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const Rule& rule = rules[i];
        if (rule.kind != RuleKind::Body) {
            continue;
        }
        // One set for both case modes: a nocase rule carries its mode as an inline flag.
        const std::string pattern = rule.regex->options().case_sensitive()
                                        ? rule.regex->pattern()
                                        : "(?i:" + rule.regex->pattern() + ")";
        std::string error;
        if (set->Add(pattern, &error) < 0) {
            return;  // each rule compiled alone, so evaluate() can still test them one by one
        }
        patterns.rule_of.push_back(i);
    }
    if (patterns.rule_of.empty() || !set->Compile()) {
        return;
    }
    patterns.set = std::move(set);
    body_set = std::move(patterns);
}

void RuleSet::matchBodySet(const MessageFacts& facts, std::vector<bool>& matched) const {
    if (!body_set.set) {
        return;
    }
    std::vector<int> found;
    for (const std::string& text : facts.text_parts) {
        re2::RE2::Set::ErrorInfo error{};
        found.clear();
        if (body_set.set->Match(text, &found, &error)) {
            for (const int index : found) {
                matched[body_set.rule_of[static_cast<std::size_t>(index)]] = true;
            }
        } else if (error.kind != re2::RE2::Set::kNoError) {
            // The set's DFA gave up on this text (out of memory): test its rules one by one.
            for (const std::size_t rule : body_set.rule_of) {
                matched[rule] = matched[rule] || re2::RE2::PartialMatch(text, *rules[rule].regex);
            }
        }
    }
}

}  // namespace mailgate::spam_score
