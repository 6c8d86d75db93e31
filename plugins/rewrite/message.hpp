#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// What the rewriter reads and edits: the SDK session in the plugin, a fake in the unit tests.
// Header values are as the host gives them (what follows the colon, leading space kept); values
// passed to edits get one leading space from the host. Edits return false when refused.
namespace mailgate::rewrite {

struct Field {
    std::string_view name;
    std::string_view value;
};

class Message {
  public:
    virtual ~Message() = default;

    virtual std::string_view sender() const = 0;
    virtual std::vector<std::string> recipients() const = 0;
    virtual std::string_view clientAddress() const = 0;
    virtual size_t headerCount() const = 0;
    virtual Field headerAt(size_t index) const = 0;

    virtual bool changeSender(std::string_view address) = 0;
    virtual bool addRecipient(std::string_view address) = 0;
    virtual bool deleteRecipient(std::string_view address) = 0;
    virtual bool addHeader(std::string_view name, std::string_view value) = 0;
    virtual bool insertHeader(size_t index, std::string_view name, std::string_view value) = 0;
    virtual bool changeHeader(std::string_view name, size_t nth, std::string_view value) = 0;
    virtual bool deleteHeader(std::string_view name, size_t nth) = 0;

    virtual void warn(const std::string& text) = 0;
};

}  // namespace mailgate::rewrite
