#include "core/config/reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/config/values.hpp"

namespace mailgate::config::detail {
namespace {

constexpr auto kMaxDuration = std::chrono::milliseconds(std::chrono::hours(24));

}  // namespace

std::string describe(const YAML::Node& node) {
    if (node.IsMap()) {
        return "a map";
    }
    if (node.IsSequence()) {
        return "a list";
    }
    if (node.IsScalar()) {
        return "'" + node.Scalar() + "'";
    }
    return "an empty value";
}

namespace {

std::string where(const std::string& path) {
    return path.empty() ? " at the top level" : " in '" + path + "'";
}

size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string unknownKey(const std::string& path, const std::string& key,
                       const std::vector<Field>& fields) {
    std::string message = "unknown key '" + key + "'" + where(path);
    std::string_view best;
    size_t bestDistance = 3;  // suggest only near misses
    for (const Field& field : fields) {
        size_t distance = editDistance(key, field.key);
        if (distance < bestDistance) {
            best = field.key;
            bestDistance = distance;
        }
    }
    if (!best.empty()) {
        message += " (did you mean '" + std::string(best) + "'?)";
    }
    return message;
}

// The scalar text of the entry, or an error naming what was expected instead.
std::optional<std::string> scalarText(Diagnostics& diag, const Entry& entry,
                                      std::string_view expected) {
    if (!entry.node.IsScalar()) {
        fail(diag, entry, "expected " + std::string(expected) + ", got " + describe(entry.node));
        return std::nullopt;
    }
    return entry.node.Scalar();
}

bool allDigits(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(),
                                        [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// A hint for sizes written with decimal units, which the config does not accept.
std::string sizeHint(const std::string& text) {
    size_t unit = text.find_first_not_of("0123456789");
    std::string suffix = unit == std::string::npos ? "" : lower(text.substr(unit));
    if (suffix == "kb" || suffix == "mb" || suffix == "gb") {
        return " (use KiB, MiB or GiB; KB, MB and GB are not accepted)";
    }
    return "";
}

std::string got(const std::string& text) {
    return ", got '" + text + "'";
}

}  // namespace

void Diagnostics::error(const YAML::Mark& mark, std::string message) {
    bool located = !mark.is_null();
    errors_.push_back(ConfigError{file_, located ? mark.line + 1 : 0, located ? mark.column + 1 : 0,
                                  std::move(message)});
}

std::vector<ConfigError> Diagnostics::take() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
        return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(errors_);
}

Entry Entry::root(const YAML::Node& node) {
    YAML::Mark start;  // line 0, column 0: the document start
    return Entry{node, "", node.IsNull() ? start : node.Mark(), start};
}

Entry Entry::child(const YAML::Node& key, const YAML::Node& value) const {
    std::string childPath = path.empty() ? key.Scalar() : path + "." + key.Scalar();
    return Entry{value, std::move(childPath), value.IsNull() ? key.Mark() : value.Mark(),
                 key.Mark()};
}

Entry Entry::item(size_t index, const YAML::Node& value) const {
    // yaml-cpp marks an empty item at the next token, so point at the list instead.
    YAML::Mark itemMark = value.IsNull() ? mark : value.Mark();
    return Entry{value, path + "[" + std::to_string(index) + "]", itemMark, itemMark};
}

void fail(Diagnostics& diag, const Entry& entry, const std::string& message) {
    diag.error(entry.mark, entry.path.empty() ? message : entry.path + ": " + message);
}

void missingKey(Diagnostics& diag, const Entry& parent, std::string_view key,
                const std::string& message) {
    std::string path =
        parent.path.empty() ? std::string(key) : parent.path + "." + std::string(key);
    diag.error(parent.keyMark, path + ": " + message);
}

std::map<std::string, Entry> readMap(Diagnostics& diag, const Entry& entry,
                                     const std::vector<Field>& fields) {
    std::map<std::string, Entry> read;
    if (entry.node.IsNull()) {
        return read;
    }
    if (!entry.node.IsMap()) {
        fail(diag, entry, "expected a map of settings, got " + describe(entry.node));
        return read;
    }
    std::map<std::string, YAML::Mark> seen;
    for (const auto& pair : entry.node) {
        const YAML::Node& key = pair.first;
        if (!key.IsScalar()) {
            diag.error(key.Mark(),
                       "keys must be plain names" + where(entry.path) + ", got " + describe(key));
            continue;
        }
        const std::string& name = key.Scalar();
        if (auto first = seen.find(name); first != seen.end()) {
            diag.error(key.Mark(), "duplicate key '" + name + "'" + where(entry.path) +
                                       " (first at line " + std::to_string(first->second.line + 1) +
                                       ")");
            continue;
        }
        seen.emplace(name, key.Mark());
        auto field = std::find_if(fields.begin(), fields.end(),
                                  [&](const Field& f) { return f.key == name; });
        if (field == fields.end()) {
            diag.error(key.Mark(), unknownKey(entry.path, name, fields));
            continue;
        }
        Entry value = entry.child(key, pair.second);
        read.emplace(name, value);
        field->read(value);
    }
    return read;
}

std::optional<uint64_t> countValue(Diagnostics& diag, const Entry& entry, uint64_t min,
                                   uint64_t max) {
    std::string expected = min > 0 ? "a positive integer" : "a non-negative integer";
    std::optional<std::string> text = scalarText(diag, entry, expected);
    if (!text) {
        return std::nullopt;
    }
    uint64_t value = 0;
    if (!allDigits(*text)) {
        fail(diag, entry, "expected " + expected + got(*text));
        return std::nullopt;
    }
    auto parsed = std::from_chars(text->data(), text->data() + text->size(), value);
    if (parsed.ec != std::errc() || value > max) {
        fail(diag, entry, "must be at most " + std::to_string(max) + got(*text));
        return std::nullopt;
    }
    if (value < min) {
        fail(diag, entry,
             min == 1 ? "expected " + expected + got(*text)
                      : "must be at least " + std::to_string(min) + got(*text));
        return std::nullopt;
    }
    return value;
}

std::optional<uint64_t> sizeValue(Diagnostics& diag, const Entry& entry, uint64_t min,
                                  uint64_t max) {
    const std::string expected = "a size like 25MiB, 512KiB or 1000 (bytes)";
    std::optional<std::string> text = scalarText(diag, entry, expected);
    if (!text) {
        return std::nullopt;
    }
    uint64_t bytes = 0;
    if (!parseSize(*text, bytes)) {
        fail(diag, entry, "expected " + expected + got(*text) + sizeHint(*text));
        return std::nullopt;
    }
    if (bytes < min) {
        fail(diag, entry,
             (min <= 1 ? "must be greater than 0" : "must be at least " + formatSize(min)) +
                 got(*text));
        return std::nullopt;
    }
    if (bytes > max) {
        fail(diag, entry, "must be at most " + formatSize(max) + got(*text));
        return std::nullopt;
    }
    return bytes;
}

std::optional<std::chrono::milliseconds> durationValue(Diagnostics& diag, const Entry& entry,
                                                       bool allowZero) {
    const std::string expected = "a duration like 500ms, 30s, 5m or 1h";
    std::optional<std::string> text = scalarText(diag, entry, expected);
    if (!text) {
        return std::nullopt;
    }
    std::chrono::milliseconds duration{};
    if (!parseDuration(*text, duration)) {
        std::string hint = allDigits(*text) ? " (add a unit: ms, s, m or h)" : "";
        fail(diag, entry, "expected " + expected + got(*text) + hint);
        return std::nullopt;
    }
    if (duration.count() == 0 && !allowZero) {
        fail(diag, entry, "must be greater than 0" + got(*text));
        return std::nullopt;
    }
    if (duration > kMaxDuration) {
        fail(diag, entry, "must be at most " + formatDuration(kMaxDuration) + got(*text));
        return std::nullopt;
    }
    return duration;
}

std::optional<std::string> stringValue(Diagnostics& diag, const Entry& entry,
                                       std::string_view expected) {
    std::optional<std::string> text = scalarText(diag, entry, expected);
    if (text && text->empty()) {
        fail(diag, entry, "expected " + std::string(expected) + ", got an empty string");
        return std::nullopt;
    }
    return text;
}

std::optional<std::string> domainValue(Diagnostics& diag, const Entry& entry) {
    std::optional<std::string> text = stringValue(diag, entry, "a domain name");
    if (text && !isDomainName(*text)) {
        fail(diag, entry,
             "'" + *text + "' is not a valid domain name (letters, digits, hyphens and dots)");
        return std::nullopt;
    }
    return text;
}

std::optional<bool> boolValue(Diagnostics& diag, const Entry& entry) {
    std::optional<std::string> text = scalarText(diag, entry, "true or false");
    if (!text) {
        return std::nullopt;
    }
    if (*text == "true") {
        return true;
    }
    if (*text == "false") {
        return false;
    }
    fail(diag, entry, "expected true or false" + got(*text));
    return std::nullopt;
}

std::optional<std::vector<Endpoint>> endpointsValue(Diagnostics& diag, const Entry& entry,
                                                    bool allowUnix) {
    std::vector<Entry> items;
    if (entry.node.IsScalar()) {
        items.push_back(entry);
    } else if (entry.node.IsSequence()) {
        for (size_t i = 0; i < entry.node.size(); ++i) {
            items.push_back(entry.item(i, entry.node[i]));
        }
    } else {
        fail(diag, entry, "expected host:port or a list of them, got " + describe(entry.node));
        return std::nullopt;
    }
    std::vector<Endpoint> endpoints;
    for (const Entry& item : items) {
        std::optional<std::string> text =
            scalarText(diag, item, allowUnix ? "host:port or unix:/path" : "host:port");
        Endpoint endpoint;
        if (!text) {
            continue;
        }
        if (allowUnix && text->starts_with("unix:")) {
            endpoint.path = text->substr(5);
            if (!endpoint.path.starts_with('/') || endpoint.path.size() > 107) {
                fail(diag, item,
                     "invalid endpoint '" + *text +
                         "': a unix socket is written unix:/absolute/path (at most 107 "
                         "characters)");
                continue;
            }
            endpoints.push_back(std::move(endpoint));
            continue;
        }
        if (std::string problem = endpointProblem(*text, endpoint); !problem.empty()) {
            fail(diag, item, "invalid endpoint '" + *text + "': " + problem);
            continue;
        }
        endpoints.push_back(std::move(endpoint));
    }
    if (items.empty()) {
        fail(diag, entry, "expected at least one host:port");
    }
    if (items.empty() || endpoints.size() != items.size()) {
        return std::nullopt;
    }
    return endpoints;
}

FieldReader durationField(Diagnostics& diag, std::chrono::milliseconds& target, bool allowZero) {
    return [&diag, &target, allowZero](const Entry& value) {
        assign(target, durationValue(diag, value, allowZero));
    };
}

FieldReader domainField(Diagnostics& diag, std::string& target) {
    return [&diag, &target](const Entry& value) { assign(target, domainValue(diag, value)); };
}

FieldReader boolField(Diagnostics& diag, bool& target) {
    return [&diag, &target](const Entry& value) { assign(target, boolValue(diag, value)); };
}

FieldReader endpointsField(Diagnostics& diag, std::vector<Endpoint>& target, bool allowUnix) {
    return [&diag, &target, allowUnix](const Entry& value) {
        assign(target, endpointsValue(diag, value, allowUnix));
    };
}

}  // namespace mailgate::config::detail
