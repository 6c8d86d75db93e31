#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <optional>

#include "core/filter/editable_headers.hpp"
#include "core/smtp/command.hpp"
#include "core/smtp/message_buffer.hpp"
#include "core/smtp/message_headers.hpp"
#include "core/smtp/reply.hpp"

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
    // TLS on the client connection (STARTTLS or an implicit-TLS listener); empty strings without.
    bool tls = false;
    std::string tls_version;  // "TLSv1.3"
    std::string tls_cipher;   // "TLS_AES_256_GCM_SHA384"
    int tls_cipher_bits = 0;  // secret bits of the cipher
    int tls_cipher_algorithm_bits = 0;
    // The identity a successful AUTH (RFC 4954) established; empty when not authenticated.
    std::string auth_identity;
};

// A named contribution to a message's spam score, added by a plugin.
struct Symbol {
    std::string name;
    double score = 0;
    std::string description;
};

// A recipient a plugin refused at end of message, with the reply it gave.
struct RefusedRecipient {
    std::string address;
    smtp::Reply reply;
};

// One mail transaction, from MAIL to the end of DATA (or RSET).
struct Transaction {
    std::string id;
    std::string mail_from;  // address without brackets; empty for the null sender
    std::vector<smtp::Parameter> mail_params;
    std::vector<std::string> rcpts;      // accepted by the chain and the backend; then as edited
    smtp::MessageBuffer content;         // the message as the client sent it, dot-unstuffed
    smtp::HeaderSection parsed_headers;  // the client's header section, at end of data
    EditableHeaders headers;             // as plugins read and edit it
    std::optional<std::string> replaced_body;  // set by a plugin: CRLF lines, not stuffed
    std::vector<Symbol> symbols;               // added during this transaction

    // Envelope edits: what the backend was given before the first one, to replay from.
    bool envelope_edited = false;
    std::string backend_mail_from;
    std::vector<std::string> backend_rcpts;
    std::vector<RefusedRecipient> refused_rcpts;  // by reject_rcpt at end of message

    uint64_t declared_size = 0;  // SIZE= from MAIL, 0 when absent
    uint64_t received_size = 0;  // octets of content the client sent in DATA
    bool smtputf8 = false;
    bool discard = false;     // a plugin said discard: answer 250, deliver nothing
    bool quarantine = false;  // a plugin said quarantine: to the quarantine folder instead
    std::string decided_by;   // the plugin whose verdict decided the outcome

    // Where the body starts in content (after the blank line that ends the header section).
    uint64_t bodyOffset();
    // Snapshot of the envelope the backend holds, taken before the first envelope edit.
    void noteEnvelopeEdit();

    bool active() const { return !id.empty(); }
};

}  // namespace mailgate::filter
