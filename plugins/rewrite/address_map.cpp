#include "address_map.hpp"

#include <array>

namespace mailgate::rewrite {
namespace {

constexpr int kMaxCaptures = 10;  // \0 .. \9

bool validLocalChar(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte != 0x7f && c != '<' && c != '>' && c != '@' && c != ',' &&
           c != ';' && c != ':' && c != '(' && c != ')' && c != '[' && c != ']' && c != '\\' &&
           c != '"';
}

}  // namespace

bool validConfigAddress(std::string_view text, bool allow_domain_only) {
    const auto at = text.rfind('@');
    if (at == std::string_view::npos || text.size() > 254) {
        return false;
    }
    const std::string_view local = text.substr(0, at);
    if (local.empty() && !allow_domain_only) {
        return false;
    }
    for (const char c : local) {
        if (!validLocalChar(c)) {
            return false;
        }
    }
    std::string error;
    const std::string_view domain = text.substr(at + 1);
    return !domain.starts_with('.') && parseDomainPattern(domain, error).has_value();
}

void AddressMap::add(MapEntry entry) {
    const size_t index = entries_.size();
    switch (entry.kind) {
        case MapEntry::Kind::Exact:
            exact_[entry.key].push_back(index);
            break;
        case MapEntry::Kind::Domain:
            domain_[entry.key].push_back(index);
            break;
        case MapEntry::Kind::Regex:
            regexes_.push_back(index);
            break;
    }
    entries_.push_back(std::move(entry));
}

// The entry's result for an address its key matched; nullopt when a regex does not match.
std::optional<std::string> AddressMap::apply(const MapEntry& entry,
                                             std::string_view address) const {
    std::string result;
    if (entry.kind == MapEntry::Kind::Regex) {
        const re2::RE2& regex = *entry.regex;
        const int groups = std::min(regex.NumberOfCapturingGroups() + 1, kMaxCaptures);
        std::array<re2::StringPiece, kMaxCaptures> captures;
        const re2::StringPiece text(address.data(), address.size());
        if (!regex.Match(text, 0, text.size(), re2::RE2::UNANCHORED, captures.data(), groups) ||
            !regex.Rewrite(&result, entry.to, captures.data(), groups)) {
            return std::nullopt;
        }
    } else if (entry.to.starts_with('@')) {
        const auto at = address.rfind('@');
        result.assign(address.substr(0, at));
        result += entry.to;
    } else {
        result = entry.to;
    }
    return result;
}

std::optional<std::string> AddressMap::first(const std::vector<size_t>& indexes,
                                             std::string_view address, const Context& context,
                                             bool& decided) const {
    for (const size_t index : indexes) {
        const MapEntry& entry = entries_[index];
        if (!entry.when.holds(context)) {
            continue;
        }
        if (auto result = apply(entry, address)) {
            decided = true;
            return result;
        }
    }
    return std::nullopt;
}

std::optional<std::string> AddressMap::lookup(std::string_view address,
                                              const Context& context) const {
    if (address.empty() || entries_.empty()) {
        return std::nullopt;
    }
    bool decided = false;
    std::optional<std::string> result;
    if (!exact_.empty()) {
        if (const auto found = exact_.find(toLower(address)); found != exact_.end()) {
            result = first(found->second, address, context, decided);
        }
    }
    const auto at = address.rfind('@');
    if (!decided && at != std::string_view::npos && !domain_.empty()) {
        if (const auto found = domain_.find(toLower(address.substr(at + 1)));
            found != domain_.end()) {
            result = first(found->second, address, context, decided);
        }
    }
    if (!decided) {
        result = first(regexes_, address, context, decided);
    }
    if (!result || *result == address) {
        return std::nullopt;
    }
    return result;
}

}  // namespace mailgate::rewrite
