#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Finds the addresses in an address-list header value (From, To, Cc: RFC 5322 section 3.4), so
// that they can be rewritten without touching display names, comments or folding.
namespace mailgate::rewrite {

struct AddressSpan {
    size_t offset = 0;
    size_t length = 0;
};

// Each addr-spec in `value`: inside <...> (after any source route), or bare (a word with an '@'
// inside it in a mailbox without angle brackets). Quoted strings, comments and group names are
// skipped. A bare address with a quoted local part ("a b"@x) is not found.
std::vector<AddressSpan> findAddresses(std::string_view value);

// `value` with each address replaced by map(address) where that gives one; nullopt when no
// address changed.
std::optional<std::string> rewriteAddresses(
    std::string_view value, const std::function<std::optional<std::string>(std::string_view)>& map);

}  // namespace mailgate::rewrite
