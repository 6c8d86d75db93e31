#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/smtp/message_headers.hpp"

namespace mailgate::filter {

// The header section of a message as plugins read and edit it: the fields the client sent, with
// every edit applied at once so later plugins see the result. Until the first edit other than
// an append it stays a view over the client's bytes plus the appended fields, so the common path
// copies nothing.
//
// Values keep what follows the colon as sent (leading space and folding); values given by plugins
// get one leading space, so every field leaves as `name ":" value CRLF`.
class EditableHeaders {
  public:
    // `section` points into the message content, which must outlive this object's use. Fields
    // appended before stay, after the client's.
    void setOriginal(const smtp::HeaderSection& section, std::string_view content);
    void clear();

    size_t size() const;
    smtp::HeaderField at(size_t index) const;
    // The index of the nth (from 1) field named `name` (ASCII case ignored), or size().
    size_t find(std::string_view name, size_t nth) const;

    void append(std::string_view name, std::string_view value);
    // False when index > size().
    bool insert(size_t index, std::string_view name, std::string_view value);
    // False when there is no such field.
    bool change(std::string_view name, size_t nth, std::string_view value);
    bool remove(std::string_view name, size_t nth);

    // True once the section differs from the client's bytes other than by appended fields.
    bool rewritten() const { return rewritten_; }
    // Appends the header section as it leaves (without the blank line that ends it).
    void appendTo(std::string& out) const;

  private:
    struct Field {
        std::string name;
        std::string value;  // with its leading space
    };
    void rewrite();  // copies the client's fields so they can be edited in place

    std::string_view original_bytes_;
    std::vector<smtp::HeaderField> original_;
    std::vector<Field> fields_;  // appended fields, or every field once rewritten
    bool rewritten_ = false;
};

}  // namespace mailgate::filter
