#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meta_expression.hpp"
#include "network.hpp"

// The rule engine: rules compiled at load, tested against the facts of one message.
namespace mailgate::spam_score {

enum class RuleKind { Header, Body, Raw, Envelope, Size, ContentType, Meta };
enum class HeaderTest { Regex, Exists, Absent };
enum class EnvelopeField { Sender, Recipient, Helo, ClientIp };

struct Rule {
    std::string name;  // names starting with "__" are helpers: usable in metas, never reported
    double score = 0;
    std::string description;
    RuleKind kind = RuleKind::Header;

    std::string header;  // Header: the field name
    HeaderTest header_test = HeaderTest::Regex;
    EnvelopeField field = EnvelopeField::Sender;
    std::shared_ptr<const re2::RE2> regex;  // Header/Body/Raw/Envelope/ContentType
    std::vector<Network> networks;          // Envelope client_ip
    bool own_hostname = false;              // Envelope helo: equals one of our own names
    std::optional<std::uint64_t> min_size;  // Size
    std::optional<std::uint64_t> max_size;
    std::optional<MetaExpression> meta;
    std::vector<std::size_t> meta_operands;  // rule index of each meta name

    bool reported() const { return name.rfind("__", 0) != 0; }
};

// What the rules look at, gathered once per message by the plugin (or a test).
struct MessageFacts {
    struct Field {
        std::string_view name;
        std::string value;  // unfolded, trimmed, RFC 2047 words decoded to UTF-8
    };
    std::vector<Field> headers;              // only the fields some rule names
    std::vector<std::string> text_parts;     // decoded text/* parts (UTF-8)
    std::vector<std::string> content_types;  // "text/html", one per leaf part
    std::string raw;                         // header section + blank line + body, if needed
    std::string_view sender;
    std::vector<std::string_view> recipients;
    std::string_view helo;
    std::string_view client_ip;
    std::uint64_t size = 0;
};

// The body rules compiled together: one pass over a text part finds every one of them that
// matches, where testing them one by one would take a pass each.
struct BodyPatternSet {
    std::shared_ptr<const re2::RE2::Set> set;
    std::vector<std::size_t> rule_of;  // set pattern index -> rule index
};

struct RuleSet {
    std::vector<Rule> rules;
    std::vector<std::size_t> order;         // evaluation order: plain rules, then metas sorted
    std::vector<std::string> own_names;     // our hostnames, lower case, for own_hostname
    std::vector<std::string> header_names;  // lower-case names any header rule reads
    bool needs_body = false;                // body or content_type rules: decode MIME
    bool needs_raw = false;
    BodyPatternSet body_set;  // built by link(); no set when there are no body rules

    // Resolves meta operands and orders the metas; returns the problems (rule index, message).
    std::vector<std::pair<std::size_t, std::string>> link();

    // matched[i] for every rule; `matched` is resized.
    void evaluate(const MessageFacts& facts, std::vector<bool>& matched) const;

  private:
    bool test(const Rule& rule, const MessageFacts& facts) const;
    void buildBodySet();
    // Marks matched[i] for the body rules the set finds in the text parts.
    void matchBodySet(const MessageFacts& facts, std::vector<bool>& matched) const;
};

bool equalsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace mailgate::spam_score
