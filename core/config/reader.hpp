#pragma once

// Typed, located reading of YAML nodes for the config loader; not part of the public config API.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/config/config.hpp"

namespace mailgate::config::detail {

// Collects located errors while one config document is read.
class Diagnostics {
  public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}

    // A null mark gives an error without a position ("FILE: message").
    void error(const YAML::Mark& mark, std::string message);
    std::vector<ConfigError> take();

  private:
    std::string file_;
    std::vector<ConfigError> errors_;
};

// A node to read, its key path for messages ("backend.servers[1]") and where errors point.
struct Entry {
    YAML::Node node;
    std::string path;
    YAML::Mark mark;     // the value; the key when the value is empty (yaml-cpp marks it elsewhere)
    YAML::Mark keyMark;  // the key, where a missing setting inside this entry is reported

    static Entry root(const YAML::Node& node);
    Entry child(const YAML::Node& key, const YAML::Node& value) const;
    Entry item(size_t index, const YAML::Node& value) const;
};

// How a value that is not the expected scalar is named in messages: "a map", "'x'".
std::string describe(const YAML::Node& node);

// "path: message" at the entry's mark.
void fail(Diagnostics& diag, const Entry& entry, const std::string& message);
// "path.key: message" at the parent's key, for a setting missing from the parent.
void missingKey(Diagnostics& diag, const Entry& parent, std::string_view key,
                const std::string& message);

using FieldReader = std::function<void(const Entry& value)>;

// One known key of a map and how to read its value.
struct Field {
    std::string_view key;
    FieldReader read;
};

// Reads a map (an empty value counts as an empty map) by handing each key to its field.
// Reports unknown and duplicate keys and a value that is not a map. Returns the keys read.
std::map<std::string, Entry> readMap(Diagnostics& diag, const Entry& entry,
                                     const std::vector<Field>& fields);

// Each reader reports its own errors and returns nothing when the value is invalid.
std::optional<uint64_t> countValue(Diagnostics& diag, const Entry& entry, uint64_t min,
                                   uint64_t max);
std::optional<uint64_t> sizeValue(Diagnostics& diag, const Entry& entry, uint64_t min,
                                  uint64_t max);
// At most 24h; zero only when allowZero.
std::optional<std::chrono::milliseconds> durationValue(Diagnostics& diag, const Entry& entry,
                                                       bool allowZero);
// A non-empty scalar; `expected` names it in messages ("a path").
std::optional<std::string> stringValue(Diagnostics& diag, const Entry& entry,
                                       std::string_view expected);
std::optional<std::string> domainValue(Diagnostics& diag, const Entry& entry);
// true or false.
std::optional<bool> boolValue(Diagnostics& diag, const Entry& entry);
// "host:port" or a non-empty list of them; with allowUnix also "unix:/absolute/path".
std::optional<std::vector<Endpoint>> endpointsValue(Diagnostics& diag, const Entry& entry,
                                                    bool allowUnix = false);

// Stores a valid value, leaving the default in place otherwise.
template <class Target, class Value>
void assign(Target& target, const std::optional<Value>& value) {
    if (value) {
        target = static_cast<Target>(*value);
    }
}

template <class Enum>
using EnumNames = std::vector<std::pair<std::string_view, Enum>>;

template <class Enum>
std::optional<Enum> enumValue(Diagnostics& diag, const Entry& entry, const EnumNames<Enum>& names) {
    std::string expected = "one of";
    for (size_t i = 0; i < names.size(); ++i) {
        expected += (i == 0 ? " " : ", ") + std::string(names[i].first);
    }
    std::optional<std::string> text = stringValue(diag, entry, expected);
    if (!text) {
        return std::nullopt;
    }
    for (const auto& [name, value] : names) {
        if (*text == name) {
            return value;
        }
    }
    fail(diag, entry, "expected " + expected + ", got '" + *text + "'");
    return std::nullopt;
}

// Field readers that store a valid value into `target`, which must outlive them.
template <class Target>
FieldReader countField(Diagnostics& diag, Target& target, uint64_t min, uint64_t max) {
    return [&diag, &target, min, max](const Entry& value) {
        assign(target, countValue(diag, value, min, max));
    };
}

template <class Target>
FieldReader sizeField(Diagnostics& diag, Target& target, uint64_t min, uint64_t max) {
    return [&diag, &target, min, max](const Entry& value) {
        assign(target, sizeValue(diag, value, min, max));
    };
}

template <class Enum>
FieldReader enumField(Diagnostics& diag, Enum& target, const EnumNames<Enum>& names) {
    return [&diag, &target, &names](const Entry& value) {
        assign(target, enumValue(diag, value, names));
    };
}

template <class Target>
FieldReader stringField(Diagnostics& diag, Target& target, std::string_view expected) {
    return [&diag, &target, expected](const Entry& value) {
        assign(target, stringValue(diag, value, expected));
    };
}

FieldReader durationField(Diagnostics& diag, std::chrono::milliseconds& target, bool allowZero);
FieldReader domainField(Diagnostics& diag, std::string& target);
FieldReader boolField(Diagnostics& diag, bool& target);
FieldReader endpointsField(Diagnostics& diag, std::vector<Endpoint>& target,
                           bool allowUnix = false);

}  // namespace mailgate::config::detail
