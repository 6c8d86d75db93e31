#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "conditions.hpp"
#include "message.hpp"

// An in-memory Message with the host's rules: values keep their leading space, edits add one,
// recipients are unique ignoring case and at most `max_recipients`, mailboxes need an '@'.
namespace mailgate::rewrite::testing {

class FakeMessage final : public Message {
  public:
    std::string from;
    std::vector<std::string> rcpts;
    std::string client = "192.0.2.1";
    std::vector<std::pair<std::string, std::string>> fields;  // value with its leading space
    std::vector<std::string> warnings;
    size_t max_recipients = 100;

    std::string_view sender() const override { return from; }
    std::vector<std::string> recipients() const override { return rcpts; }
    std::string_view clientAddress() const override { return client; }
    size_t headerCount() const override { return fields.size(); }
    Field headerAt(size_t index) const override {
        return {fields[index].first, fields[index].second};
    }

    bool changeSender(std::string_view address) override {
        if (!valid(address)) {
            return false;
        }
        from = address;
        return true;
    }
    bool addRecipient(std::string_view address) override {
        if (!valid(address) || find(address) != rcpts.end() || rcpts.size() >= max_recipients) {
            return false;
        }
        rcpts.emplace_back(address);
        return true;
    }
    bool deleteRecipient(std::string_view address) override {
        const auto found = find(address);
        if (found == rcpts.end()) {
            return false;
        }
        rcpts.erase(found);
        return true;
    }
    bool addHeader(std::string_view name, std::string_view value) override {
        fields.emplace_back(name, " " + std::string(value));
        return true;
    }
    bool insertHeader(size_t index, std::string_view name, std::string_view value) override {
        if (index > fields.size()) {
            return false;
        }
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(index),
                      {std::string(name), " " + std::string(value)});
        return true;
    }
    bool changeHeader(std::string_view name, size_t nth, std::string_view value) override {
        const auto index = findField(name, nth);
        if (index == fields.size() || hasBareLf(value)) {
            return false;
        }
        fields[index].second = " " + std::string(value);
        return true;
    }
    bool deleteHeader(std::string_view name, size_t nth) override {
        const auto index = findField(name, nth);
        if (index == fields.size()) {
            return false;
        }
        fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(index));
        return true;
    }
    void warn(const std::string& text) override { warnings.push_back(text); }

    // The header section as "Name: value\n" lines.
    std::string headerText() const {
        std::string out;
        for (const auto& [name, value] : fields) {
            out += name + ":" + value + "\n";
        }
        return out;
    }

  private:
    static bool hasBareLf(std::string_view value) {
        for (size_t i = 0; i < value.size(); ++i) {
            if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) {
                return true;
            }
        }
        return false;
    }
    static bool valid(std::string_view address) {
        return address.find('@') != std::string_view::npos &&
               address.find(' ') == std::string_view::npos;
    }
    std::vector<std::string>::iterator find(std::string_view address) {
        return std::find_if(rcpts.begin(), rcpts.end(), [&](const std::string& rcpt) {
            return equalsIgnoreCase(rcpt, address);
        });
    }
    size_t findField(std::string_view name, size_t nth) const {
        for (size_t i = 0; i < fields.size(); ++i) {
            if (equalsIgnoreCase(fields[i].first, name) && --nth == 0) {
                return i;
            }
        }
        return fields.size();
    }
};

}  // namespace mailgate::rewrite::testing
