#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/smtp/command.hpp"
#include "core/smtp/message_buffer.hpp"
#include "core/smtp/message_headers.hpp"

namespace mailgate::filter {

// What is known about the client connection; fixed after HELO/EHLO.
struct SessionInfo {
    std::string id;
    std::string client_ip;
    uint16_t client_port = 0;
    std::string local_ip;
    uint16_t local_port = 0;
    std::string helo;
    bool esmtp = false;
};

// A named contribution to a message's spam score, added by a plugin.
struct Symbol {
    std::string name;
    double score = 0;
    std::string description;
};

// One mail transaction, from MAIL to the end of DATA (or RSET).
struct Transaction {
    std::string id;
    std::string mail_from;  // address without brackets; empty for the null sender
    std::vector<smtp::Parameter> mail_params;
    std::vector<std::string> rcpts;  // accepted by the chain and the backend
    smtp::MessageBuffer content;     // the message as the client sent it, dot-unstuffed
    smtp::HeaderSection headers;     // parsed from content at end of data
    std::vector<std::pair<std::string, std::string>> added_headers;
    std::vector<Symbol> symbols;  // added during this transaction
    uint64_t declared_size = 0;   // SIZE= from MAIL, 0 when absent
    uint64_t received_size = 0;   // octets of content the client sent in DATA
    bool smtputf8 = false;
    bool discard = false;    // a plugin said discard: answer 250, deliver nothing
    std::string decided_by;  // the plugin whose verdict decided the outcome

    bool active() const { return !id.empty(); }
};

}  // namespace mailgate::filter
