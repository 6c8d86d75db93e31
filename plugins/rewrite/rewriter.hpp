#pragma once

#include <string>
#include <vector>

#include "address_map.hpp"
#include "header_rules.hpp"
#include "message.hpp"

// The whole rewrite of one message: envelope, address headers, then header rules.
namespace mailgate::rewrite {

// Which map an address header is rewritten with.
struct AddressHeader {
    std::string name;
    bool sender = false;  // From, Sender, Reply-To: the sender map; To, Cc: the recipient map
};

struct RewriteConfig {
    AddressMap sender_map;
    AddressMap recipient_map;
    std::vector<AddressHeader> address_headers;
    std::vector<HeaderRule> header_rules;
};

// Applies `config` to `message`. Conditions are checked against the envelope as the client
// gave it. Rewritten recipients move to the end of the list.
void rewriteMessage(const RewriteConfig& config, Message& message);

}  // namespace mailgate::rewrite
