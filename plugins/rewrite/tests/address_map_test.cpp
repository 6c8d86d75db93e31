#include "address_map.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rewrite_config.hpp"

namespace mailgate::rewrite {
namespace {

// The sender map of a config written as YAML (the parser is tested on its own).
AddressMap senderMap(const std::string& yaml) {
    ConfigParseResult parsed = parseRewriteConfig(yaml);
    EXPECT_TRUE(parsed.errors.empty()) << (parsed.errors.empty() ? "" : parsed.errors[0].message);
    return std::move(parsed.config.sender_map);
}

std::string lookup(const AddressMap& map, std::string_view address, const Context& context = {}) {
    return map.lookup(address, context).value_or("(unchanged)");
}

// An exact entry replaces the whole address; the key ignores case.
TEST(AddressMapTest, ExactAddress) {
    const auto map =
        senderMap(R"(sender_map: [{match: Alice@Old.Example, to: alice@new.example}])");
    EXPECT_EQ(lookup(map, "alice@old.example"), "alice@new.example");
    EXPECT_EQ(lookup(map, "ALICE@OLD.EXAMPLE"), "alice@new.example");
    EXPECT_EQ(lookup(map, "bob@old.example"), "(unchanged)");
    EXPECT_EQ(lookup(map, "alice@old.example.net"), "(unchanged)");
}

// A domain entry keeps the local part when `to` is @domain, or maps every address to one.
TEST(AddressMapTest, WholeDomain) {
    const auto map = senderMap(R"(sender_map:
  - {match: "@old.example", to: "@new.example"}
  - {match: "@catch.example", to: postmaster@new.example}
)");
    EXPECT_EQ(lookup(map, "bob@old.example"), "bob@new.example");
    EXPECT_EQ(lookup(map, "Bob.Smith+tag@OLD.example"), "Bob.Smith+tag@new.example");
    EXPECT_EQ(lookup(map, "anyone@catch.example"), "postmaster@new.example");
    EXPECT_EQ(lookup(map, "bob@sub.old.example"), "(unchanged)");
    EXPECT_EQ(lookup(map, "postmaster"), "(unchanged)");
}

// Captures \1..\9 and \0 (the whole match) go into `to`; the regex is unanchored unless it
// says ^ or $, and the whole address is replaced by the result.
TEST(AddressMapTest, RegexCaptures) {
    const auto map = senderMap(R"(sender_map:
  - {regex: '^([^@+]+)\+[^@]*@(.+)$', to: '\1@\2'}
  - {regex: '^(\w+)\.(\w+)@staff\.example$', to: '\2.\1@people.example'}
  - {regex: 'legacy', to: 'archive+\0@new.example'}
)");
    EXPECT_EQ(lookup(map, "bob+news@example.org"), "bob@example.org");
    EXPECT_EQ(lookup(map, "john.smith@staff.example"), "smith.john@people.example");
    EXPECT_EQ(lookup(map, "old-legacy-box@x.example"), "archive+legacy@new.example");
    EXPECT_EQ(lookup(map, "plain@example.org"), "(unchanged)");
}

// (?i) makes a regex ignore case; without it, case counts.
TEST(AddressMapTest, RegexCase) {
    const auto map = senderMap(R"(sender_map:
  - {regex: '(?i)^(.*)@OLD\.example$', to: '\1@new.example'}
  - {regex: '^(.*)@Strict\.example$', to: '\1@new.example'}
)");
    EXPECT_EQ(lookup(map, "a@old.EXAMPLE"), "a@new.example");
    EXPECT_EQ(lookup(map, "a@strict.example"), "(unchanged)");
    EXPECT_EQ(lookup(map, "a@Strict.example"), "a@new.example");
}

// Exact entries come before domain entries, which come before regexes, whatever the order in
// the config; within a kind, the first entry whose conditions hold wins.
TEST(AddressMapTest, LookupOrder) {
    const auto map = senderMap(R"(sender_map:
  - {regex: '^(.*)@old\.example$', to: '\1@regex.example'}
  - {match: "@old.example", to: "@domain.example"}
  - {match: "@old.example", to: "@second.example"}
  - {match: vip@old.example, to: vip@exact.example}
)");
    EXPECT_EQ(lookup(map, "vip@old.example"), "vip@exact.example");
    EXPECT_EQ(lookup(map, "bob@old.example"), "bob@domain.example");
}

// An entry whose conditions fail is passed over for the next candidate.
TEST(AddressMapTest, ConditionsSelectEntries) {
    const auto map = senderMap(R"(sender_map:
  - {match: "@old.example", to: "@internal.example", when: {client_network: 10.0.0.0/8}}
  - {match: "@old.example", to: "@new.example"}
  - {regex: '^(.*)@x\.example$', to: '\1@y.example', when: {recipient_domain: partner.example}}
)");
    const std::vector<std::string_view> partner = {"p@partner.example"};
    const std::vector<std::string_view> other = {"p@other.example"};
    EXPECT_EQ(lookup(map, "a@old.example", {"", &other, parseAddress("10.9.9.9")}),
              "a@internal.example");
    EXPECT_EQ(lookup(map, "a@old.example", {"", &other, parseAddress("192.0.2.1")}),
              "a@new.example");
    EXPECT_EQ(lookup(map, "a@x.example", {"", &partner, std::nullopt}), "a@y.example");
    EXPECT_EQ(lookup(map, "a@x.example", {"", &other, std::nullopt}), "(unchanged)");
}

// A mapping to the same address, or an empty address, is no change.
TEST(AddressMapTest, NoChange) {
    const auto map = senderMap(R"(sender_map: [{regex: '^(.*)$', to: '\1'}])");
    EXPECT_EQ(lookup(map, "a@example.org"), "(unchanged)");
    EXPECT_EQ(lookup(map, ""), "(unchanged)");
    EXPECT_TRUE(AddressMap().empty());
}

}  // namespace
}  // namespace mailgate::rewrite
