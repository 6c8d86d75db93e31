#pragma once

#include <re2/re2.h>

#include <cstddef>
#include <memory>
#include <string>

#include "conditions.hpp"
#include "message.hpp"

// Header rules in the manner of Postfix's header_checks: add, remove, replace by regex, prefix
// the subject.
namespace mailgate::rewrite {

struct HeaderRule {
    enum class Action { Add, Remove, Replace, PrefixSubject };
    Action action = Action::Add;
    std::string name;     // the field (Subject for PrefixSubject)
    std::string value;    // Add: the value; PrefixSubject: the prefix
    bool at_top = false;  // Add: insert as the first field instead of appending
    size_t nth = 0;       // Remove, Replace: only the nth field of that name (from 1); 0: all
    std::shared_ptr<const re2::RE2> regex;  // Replace
    std::string with;                       // Replace: RE2 rewrite string (\0..\9)
    Conditions when;
};

// Applies one rule to the message's current header section.
void applyHeaderRule(const HeaderRule& rule, Message& message);

// A header value without the blanks (and folding) that follow the colon.
std::string_view trimLeadingBlanks(std::string_view value);

}  // namespace mailgate::rewrite
