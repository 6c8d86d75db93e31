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

// Swaps one recipient for another without ever losing it: when the new one cannot be added,
// the old one stays (or comes back).
void replaceRecipient(const std::string& old_rcpt, const std::string& new_rcpt, Message& message) {
    if (!equalsIgnoreCase(old_rcpt, new_rcpt)) {
        if (message.addRecipient(new_rcpt) || hasRecipient(message, new_rcpt)) {
            static_cast<void>(message.deleteRecipient(old_rcpt));
            return;
        }
    }
    // The same address in another case, or the list is full: make room first.
    if (message.deleteRecipient(old_rcpt) && !message.addRecipient(new_rcpt)) {
        static_cast<void>(message.addRecipient(old_rcpt));
        message.warn("recipient <" + old_rcpt + "> not rewritten: the host refused <" + new_rcpt +
                     ">");
    }
}

void rewriteRecipients(const RewriteConfig& config, const Envelope& envelope, Message& message) {
    std::vector<std::pair<std::string, std::string>> changes;
    for (const std::string_view rcpt : envelope.recipient_views) {
        const std::vector<std::string_view> only{rcpt};
        Context context = envelope.context;
        context.recipients = &only;
        if (auto mapped = config.recipient_map.lookup(rcpt, context)) {
            changes.emplace_back(std::string(rcpt), std::move(*mapped));
        }
    }
    for (const auto& [old_rcpt, new_rcpt] : changes) {
        replaceRecipient(old_rcpt, new_rcpt, message);
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
