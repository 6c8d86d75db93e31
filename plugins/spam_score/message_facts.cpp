#include "message_facts.hpp"

#include <algorithm>

#include "mime_text.hpp"

namespace mailgate::spam_score {
namespace {

bool isMimeField(std::string_view name) {
    return equalsIgnoreCase(name, "Content-Type") ||
           equalsIgnoreCase(name, "Content-Transfer-Encoding") ||
           equalsIgnoreCase(name, "MIME-Version");
}

bool wanted(const RuleSet& rules, std::string_view name) {
    return std::any_of(
        rules.header_names.begin(), rules.header_names.end(),
        [&](const std::string& wanted_name) { return equalsIgnoreCase(name, wanted_name); });
}

void appendField(std::string& out, const sdk::Header& field) {
    out += field.name;
    out += ':';
    out += field.value;
    out += "\r\n";
}

}  // namespace

MessageFacts gatherFacts(const sdk::Session& session, const RuleSet& rules,
                         const MimeLimits& mime) {
    MessageFacts facts;
    facts.sender = session.mail_from();
    for (const std::string_view rcpt : session.recipients()) {
        facts.recipients.push_back(rcpt);
    }
    facts.helo = session.helo();
    facts.client_ip = session.client_address();
    facts.size = session.message_size();

    std::string mime_fields;
    for (const sdk::Header& field : session.headers()) {
        if (wanted(rules, field.name)) {
            facts.headers.push_back({field.name, decodeHeaderValue(field.value)});
        }
        if (rules.needs_body && isMimeField(field.name)) {
            appendField(mime_fields, field);
        }
        if (rules.needs_raw) {
            appendField(facts.raw, field);
        }
    }
    const std::string_view body = session.body();
    if (rules.needs_raw) {
        facts.raw += "\r\n";
        facts.raw += body;
    }
    if (rules.needs_body) {
        decodeMimeText(mime_fields, body, mime, facts);
    }
    return facts;
}

}  // namespace mailgate::spam_score
