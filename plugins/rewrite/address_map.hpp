#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conditions.hpp"

// A canonical map in the manner of Postfix: exact addresses, whole domains, regexes.
namespace mailgate::rewrite {

struct MapEntry {
    enum class Kind { Exact, Domain, Regex };
    Kind kind = Kind::Exact;
    std::string key;  // Exact: lower-cased address; Domain: lower-cased domain
    std::shared_ptr<const re2::RE2> regex;  // Regex only
    std::string to;  // an address, "@domain" (keep the local part), or a rewrite string
    Conditions when;
};

// Lookup order: exact entries, then domain entries, then regexes; within each kind, the order
// of the config. The first entry whose key matches and whose conditions hold decides.
class AddressMap {
  public:
    void add(MapEntry entry);
    bool empty() const { return entries_.empty(); }
    size_t size() const { return entries_.size(); }

    // The rewritten address, or nullopt when no entry applies or the result is the same.
    std::optional<std::string> lookup(std::string_view address, const Context& context) const;

  private:
    std::optional<std::string> apply(const MapEntry& entry, std::string_view address) const;
    std::optional<std::string> first(const std::vector<size_t>& indexes, std::string_view address,
                                     const Context& context, bool& decided) const;

    std::vector<MapEntry> entries_;
    std::unordered_map<std::string, std::vector<size_t>> exact_;   // key -> entries
    std::unordered_map<std::string, std::vector<size_t>> domain_;  // key -> entries
    std::vector<size_t> regexes_;
};

// Checks an address written in the config: local@domain, or @domain when `allow_domain_only`.
bool validConfigAddress(std::string_view text, bool allow_domain_only);

}  // namespace mailgate::rewrite
