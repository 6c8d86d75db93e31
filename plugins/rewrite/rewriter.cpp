#include "rewriter.hpp"

#include <algorithm>
#include <utility>

#include "header_addresses.hpp"

namespace mailgate::rewrite {
namespace {

struct Envelope {
    std::string sender;
    std::vector<std::string> recipients;
    std::vector<std::string_view> recipient_views;
    Context context;  // every recipient
};

bool hasRecipient(const Message& message, std::string_view address) {
    const auto rcpts = message.recipients();
    return std::any_of(rcpts.begin(), rcpts.end(),
                       [&](const std::string& rcpt) { return equalsIgnoreCase(rcpt, address); });
}

void rewriteSender(const RewriteConfig& config, const Envelope& envelope, Message& message) {
    const auto sender = config.sender_map.lookup(envelope.sender, envelope.context);
    if (sender && !message.changeSender(*sender)) {
        message.warn("sender <" + envelope.sender + "> not rewritten: the host refused <" +
                     *sender + ">");
    }
}

bool contains(const std::vector<std::string>& list, std::string_view address) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& item) { return equalsIgnoreCase(item, address); });
}

void refusedRecipient(const std::string& old_rcpt, const std::string& new_rcpt, Message& message) {
    message.warn("recipient <" + old_rcpt + "> not rewritten: the host refused <" + new_rcpt + ">");
}

// Adds `new_rcpt` for `old_rcpt`; false when the host refuses it. `targets` is what every
// recipient maps to: an old address still wanted by another recipient is kept.
bool addRewritten(const std::string& old_rcpt, const std::string& new_rcpt,
                  const std::vector<std::string>& targets, Message& message) {
    if (!equalsIgnoreCase(old_rcpt, new_rcpt)) {
        if (hasRecipient(message, new_rcpt) || message.addRecipient(new_rcpt)) {
            return true;
        }
        if (contains(targets, old_rcpt)) {
            return false;
        }
    }
    // The same address in another case, or a full list: the old one has to go first, and
    // comes back when the new one is refused, so no recipient is ever lost.
    if (!message.deleteRecipient(old_rcpt)) {
        return false;
    }
    if (message.addRecipient(new_rcpt)) {
        return true;
    }
    static_cast<void>(message.addRecipient(old_rcpt));
    return false;
}

// Every recipient is looked up in the envelope as the client gave it, so A->B and B->C give
// B and C (not C twice), and two recipients mapped to one address become one.
void rewriteRecipients(const RewriteConfig& config, const Envelope& envelope, Message& message) {
    const std::vector<std::string>& originals = envelope.recipients;
    std::vector<std::string> targets;
    std::vector<bool> changed;
    for (const std::string& rcpt : originals) {
        const std::vector<std::string_view> only{rcpt};
        Context context = envelope.context;
        context.recipients = &only;
        auto mapped = config.recipient_map.lookup(rcpt, context);
        changed.push_back(mapped.has_value());
        targets.push_back(mapped ? std::move(*mapped) : rcpt);
    }
    for (size_t i = 0; i < originals.size(); ++i) {
        if (changed[i] && !addRewritten(originals[i], targets[i], targets, message)) {
            refusedRecipient(originals[i], targets[i], message);
            targets[i] = originals[i];
            changed[i] = false;
        }
    }
    for (size_t i = 0; i < originals.size(); ++i) {
        if (changed[i] && !contains(targets, originals[i])) {
            static_cast<void>(message.deleteRecipient(originals[i]));  // gone already: fine
        }
    }
}

const AddressHeader* addressHeader(const RewriteConfig& config, std::string_view name) {
    for (const AddressHeader& header : config.address_headers) {
        if (equalsIgnoreCase(header.name, name)) {
            return &header;
        }
    }
    return nullptr;
}

void rewriteAddressHeaders(const RewriteConfig& config, const Envelope& envelope,
                           Message& message) {
    std::vector<std::pair<std::string, size_t>> seen;  // name (lower case), count so far
    for (size_t i = 0; i < message.headerCount(); ++i) {
        const Field field = message.headerAt(i);
        const AddressHeader* header = addressHeader(config, field.name);
        if (header == nullptr) {
            continue;
        }
        const std::string key = toLower(field.name);
        auto counter = std::find_if(seen.begin(), seen.end(),
                                    [&](const auto& entry) { return entry.first == key; });
        if (counter == seen.end()) {
            counter = seen.insert(seen.end(), {key, 0});
        }
        const size_t nth = ++counter->second;
        const AddressMap& map = header->sender ? config.sender_map : config.recipient_map;
        const auto value =
            rewriteAddresses(trimLeadingBlanks(field.value),
                             [&](std::string_view a) { return map.lookup(a, envelope.context); });
        if (value && !message.changeHeader(header->name, nth, *value)) {
            message.warn("address header " + header->name + " not rewritten: refused by the host");
        }
    }
}

}  // namespace

void rewriteMessage(const RewriteConfig& config, Message& message) {
    Envelope envelope;
    envelope.sender = std::string(message.sender());
    envelope.recipients = message.recipients();
    envelope.recipient_views.assign(envelope.recipients.begin(), envelope.recipients.end());
    envelope.context.sender = envelope.sender;
    envelope.context.recipients = &envelope.recipient_views;
    envelope.context.client = parseAddress(message.clientAddress());

    if (!config.sender_map.empty()) {
        rewriteSender(config, envelope, message);
    }
    if (!config.recipient_map.empty()) {
        rewriteRecipients(config, envelope, message);
    }
    if (!config.address_headers.empty()) {
        rewriteAddressHeaders(config, envelope, message);
    }
    for (const HeaderRule& rule : config.header_rules) {
        if (rule.when.holds(envelope.context)) {
            applyHeaderRule(rule, message);
        }
    }
}

}  // namespace mailgate::rewrite
