#include "core/filter/editable_headers.hpp"

#include "core/smtp/command.hpp"

namespace mailgate::filter {
namespace {

std::string withLeadingSpace(std::string_view value) {
    std::string text;
    text.reserve(value.size() + 1);
    text += ' ';
    text += value;
    return text;
}

}  // namespace

void EditableHeaders::setOriginal(const smtp::HeaderSection& section, std::string_view content) {
    // Fields appended before the message arrived (add_header at rcpt_to) stay after the client's.
    original_ = section.fields;
    original_bytes_ = content.substr(0, section.end);
}

void EditableHeaders::clear() {
    original_bytes_ = {};
    original_.clear();
    fields_.clear();
    rewritten_ = false;
}

size_t EditableHeaders::size() const {
    return rewritten_ ? fields_.size() : original_.size() + fields_.size();
}

smtp::HeaderField EditableHeaders::at(size_t index) const {
    if (!rewritten_ && index < original_.size()) {
        return original_[index];
    }
    const Field& field = fields_[rewritten_ ? index : index - original_.size()];
    return {field.name, field.value};
}

size_t EditableHeaders::find(std::string_view name, size_t nth) const {
    const size_t count = size();
    for (size_t i = 0; i < count && nth > 0; ++i) {
        if (smtp::equalsIgnoreCase(at(i).name, name) && --nth == 0) {
            return i;
        }
    }
    return count;
}

void EditableHeaders::append(std::string_view name, std::string_view value) {
    fields_.push_back({std::string(name), withLeadingSpace(value)});
}

bool EditableHeaders::insert(size_t index, std::string_view name, std::string_view value) {
    if (index > size()) {
        return false;
    }
    rewrite();
    fields_.insert(fields_.begin() + static_cast<std::ptrdiff_t>(index),
                   Field{std::string(name), withLeadingSpace(value)});
    return true;
}

bool EditableHeaders::change(std::string_view name, size_t nth, std::string_view value) {
    const size_t index = find(name, nth);
    if (index == size()) {
        return false;
    }
    rewrite();
    fields_[index].value = withLeadingSpace(value);
    return true;
}

bool EditableHeaders::remove(std::string_view name, size_t nth) {
    const size_t index = find(name, nth);
    if (index == size()) {
        return false;
    }
    rewrite();
    fields_.erase(fields_.begin() + static_cast<std::ptrdiff_t>(index));
    return true;
}

void EditableHeaders::rewrite() {
    if (rewritten_) {
        return;
    }
    std::vector<Field> all;
    all.reserve(original_.size() + fields_.size() + 1);
    for (const smtp::HeaderField& field : original_) {
        all.push_back({std::string(field.name), std::string(field.value)});
    }
    for (Field& field : fields_) {
        all.push_back(std::move(field));
    }
    fields_ = std::move(all);
    original_.clear();
    rewritten_ = true;
}

void EditableHeaders::appendTo(std::string& out) const {
    if (!rewritten_) {
        out.append(original_bytes_);
    }
    for (const Field& field : fields_) {
        out += field.name;
        out += ':';
        out += field.value;
        out += "\r\n";
    }
}

}  // namespace mailgate::filter
