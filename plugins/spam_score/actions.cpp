#include "actions.hpp"

#include <cstdio>

namespace mailgate::spam_score {
namespace {

constexpr std::size_t kFoldAt = 70;

bool reached(const std::optional<double>& threshold, double score) {
    return threshold.has_value() && score >= *threshold;
}

std::vector<SymbolView> sessionSymbols(const sdk::Session& session) {
    std::vector<SymbolView> symbols;
    const mg_host* host = session.host();
    const std::size_t count = host->symbol_count(session.raw());
    for (std::size_t i = 0; i < count; ++i) {
        mg_str name{};
        mg_str description{};
        double score = 0;
        if (host->symbol_at(session.raw(), i, &name, &score, &description) == 0) {
            symbols.push_back({sdk::detail::to_view(name), score});
        }
    }
    return symbols;
}

void prefixSubject(const Actions& actions, const sdk::Session& session) {
    const auto subject = session.header("Subject");
    if (!subject) {
        static_cast<void>(session.add_header("Subject", actions.subject_prefix));
        return;
    }
    static_cast<void>(
        session.change_header("Subject", 1, prefixedSubject(actions.subject_prefix, *subject)));
}

// A client could send its own X-Spam-Flag: downstream must see only ours.
void deleteClientHeaders(const sdk::Session& session) {
    const std::size_t fields = session.headers().size();
    for (const char* name : {"X-Spam-Score", "X-Spam-Status", "X-Spam-Flag"}) {
        for (std::size_t i = 0; i < fields && session.header(name); ++i) {
            static_cast<void>(session.delete_header(name, 1));
        }
    }
}

void addHeaders(const Actions& actions, const sdk::Session& session, double score) {
    const bool spam = score >= actions.required_score;
    deleteClientHeaders(session);
    static_cast<void>(session.add_header("X-Spam-Score", formatScore(score)));
    static_cast<void>(
        session.add_header("X-Spam-Status", spamStatus(actions, score, sessionSymbols(session))));
    if (spam) {
        static_cast<void>(session.add_header("X-Spam-Flag", "YES"));
    }
}

}  // namespace

Action chooseAction(const Actions& actions, double score, Action floor) {
    if (floor == Action::Reject || reached(actions.reject_score, score)) {
        return Action::Reject;
    }
    if (floor == Action::Tempfail || reached(actions.tempfail_score, score)) {
        return Action::Tempfail;
    }
    if (floor == Action::Quarantine || reached(actions.quarantine_score, score)) {
        return Action::Quarantine;
    }
    return actions.add_headers || reached(actions.subject_prefix_score, score) ? Action::Tag
                                                                               : Action::None;
}

std::string_view actionName(Action action) {
    switch (action) {
        case Action::None:
            return "none";
        case Action::Tag:
            return "tag";
        case Action::Quarantine:
            return "quarantine";
        case Action::Tempfail:
            return "tempfail";
        case Action::Reject:
            return "reject";
    }
    return "none";
}

std::string formatScore(double score) {
    char text[64];
    std::snprintf(text, sizeof text, "%.2f", score);
    return text;
}

std::string spamStatus(const Actions& actions, double score,
                       const std::vector<SymbolView>& symbols) {
    std::string status = score >= actions.required_score ? "Yes" : "No";
    status += ", score=" + formatScore(score) + " required=" + formatScore(actions.required_score) +
              " tests=";
    std::size_t line = status.size() + std::string_view("X-Spam-Status: ").size();
    bool first = true;
    for (const SymbolView& symbol : symbols) {
        if (!first) {
            status += ',';
            ++line;
        }
        if (!first && line + symbol.name.size() > kFoldAt) {
            status += "\r\n\t";
            line = 8;
        }
        status += symbol.name;
        line += symbol.name.size();
        first = false;
    }
    if (first) {
        status += "none";
    }
    return status;
}

std::string prefixedSubject(std::string_view prefix, std::string_view value) {
    const std::size_t start = value.find_first_not_of(" \t");
    const std::string_view text =
        start == std::string_view::npos ? std::string_view{} : value.substr(start);
    if (text.substr(0, prefix.size()) == prefix) {
        return std::string(text);
    }
    return std::string(prefix) + std::string(text);
}

sdk::Verdict applyActions(const Actions& actions, const sdk::Session& session, Action floor) {
    const double score = session.score();
    const Action action = chooseAction(actions, score, floor);
    switch (action) {
        case Action::Reject:
            return session.reject(actions.reject_reply.code, actions.reject_reply.enhanced,
                                  actions.reject_reply.text);
        case Action::Tempfail:
            return session.tempfail(actions.tempfail_reply.code, actions.tempfail_reply.enhanced,
                                    actions.tempfail_reply.text);
        case Action::Quarantine:
        case Action::Tag:
        case Action::None:
            break;
    }
    if (reached(actions.subject_prefix_score, score)) {
        prefixSubject(actions, session);
    }
    if (actions.add_headers) {
        addHeaders(actions, session, score);
    }
    return action == Action::Quarantine ? sdk::Verdict::Quarantine : sdk::Verdict::Continue;
}

}  // namespace mailgate::spam_score
