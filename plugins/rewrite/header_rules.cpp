#include "header_rules.hpp"

namespace mailgate::rewrite {
namespace {

size_t countFields(const Message& message, std::string_view name) {
    size_t count = 0;
    for (size_t i = 0; i < message.headerCount(); ++i) {
        count += equalsIgnoreCase(message.headerAt(i).name, name) ? 1 : 0;
    }
    return count;
}

// The value of the nth (from 1) field named `name`; empty when there is none.
std::string_view nthValue(const Message& message, std::string_view name, size_t nth) {
    for (size_t i = 0; i < message.headerCount(); ++i) {
        const Field field = message.headerAt(i);
        if (equalsIgnoreCase(field.name, name) && --nth == 0) {
            return field.value;
        }
    }
    return {};
}

void refused(Message& message, const std::string& what, std::string_view name) {
    message.warn(what + " " + std::string(name) + " refused by the host");
}

void add(const HeaderRule& rule, Message& message) {
    const bool ok = rule.at_top ? message.insertHeader(0, rule.name, rule.value)
                                : message.addHeader(rule.name, rule.value);
    if (!ok) {
        refused(message, "adding", rule.name);
    }
}

void remove(const HeaderRule& rule, Message& message) {
    if (rule.nth != 0) {
        static_cast<void>(message.deleteHeader(rule.name, rule.nth));  // absent: nothing to do
        return;
    }
    for (size_t count = countFields(message, rule.name); count > 0; --count) {
        if (!message.deleteHeader(rule.name, 1)) {
            refused(message, "removing", rule.name);
            return;
        }
    }
}

void replaceOne(const HeaderRule& rule, Message& message, size_t nth) {
    std::string value(trimLeadingBlanks(nthValue(message, rule.name, nth)));
    if (re2::RE2::GlobalReplace(&value, *rule.regex, rule.with) == 0 ||
        value == trimLeadingBlanks(nthValue(message, rule.name, nth))) {
        return;
    }
    if (!message.changeHeader(rule.name, nth, value)) {
        refused(message, "replacing in", rule.name);
    }
}

void replace(const HeaderRule& rule, Message& message) {
    if (rule.nth != 0) {
        if (rule.nth <= countFields(message, rule.name)) {
            replaceOne(rule, message, rule.nth);
        }
        return;
    }
    const size_t count = countFields(message, rule.name);
    for (size_t nth = 1; nth <= count; ++nth) {
        replaceOne(rule, message, nth);
    }
}

void prefixSubject(const HeaderRule& rule, Message& message) {
    if (countFields(message, "Subject") == 0) {
        std::string_view prefix = rule.value;
        while (prefix.ends_with(' ')) {
            prefix.remove_suffix(1);
        }
        if (!message.addHeader("Subject", prefix)) {
            refused(message, "adding", "Subject");
        }
        return;
    }
    const std::string_view subject = trimLeadingBlanks(nthValue(message, "Subject", 1));
    if (subject.starts_with(rule.value)) {
        return;  // already tagged, e.g. a reply to a tagged message
    }
    if (!message.changeHeader("Subject", 1, rule.value + std::string(subject))) {
        refused(message, "prefixing", "Subject");
    }
}

}  // namespace

std::string_view trimLeadingBlanks(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t' ||
                              value.front() == '\r' || value.front() == '\n')) {
        value.remove_prefix(1);
    }
    return value;
}

void applyHeaderRule(const HeaderRule& rule, Message& message) {
    switch (rule.action) {
        case HeaderRule::Action::Add:
            add(rule, message);
            break;
        case HeaderRule::Action::Remove:
            remove(rule, message);
            break;
        case HeaderRule::Action::Replace:
            replace(rule, message);
            break;
        case HeaderRule::Action::PrefixSubject:
            prefixSubject(rule, message);
            break;
    }
}

}  // namespace mailgate::rewrite
