#pragma once

#include <string_view>
#include <vector>

namespace mailgate::smtp {

// One header field of a message (RFC 5322 2.2): name, and the value after the colon with any
// folding kept (CRLFs inside a folded value stay). Views point into the message content.
struct HeaderField {
    std::string_view name;
    std::string_view value;
};

// The header section of a message: its fields and where it ends. `end` is the offset just after
// the last header line's CRLF (the blank line, if any, starts there). A message that does not
// start with a header field has no header section (end == 0).
struct HeaderSection {
    std::vector<HeaderField> fields;
    size_t end = 0;
};

// Parsing stops after this many fields or bytes (like Postfix's header_size_limit): a header
// section of millions of tiny fields must not multiply memory. The rest counts as body.
inline constexpr size_t kMaxHeaderFields = 1000;
inline constexpr size_t kMaxHeaderBytes = 256 * 1024;

HeaderSection parseHeaderSection(std::string_view content);

// A header name is printable ASCII without ':' and space; a value has no bare CR or LF and every
// CRLF inside it is followed by SP or HTAB (folding).
bool validHeaderName(std::string_view name);
bool validHeaderValue(std::string_view value);

}  // namespace mailgate::smtp
