#include <ctime>

#include "core/relay/backend.hpp"
#include "core/smtp/received.hpp"

namespace mailgate::relay {

OutgoingMessage composeOutgoing(const filter::SessionInfo& session,
                                filter::Transaction& transaction, std::string_view hostname) {
    smtp::TraceInfo trace;
    trace.helo = session.helo;
    trace.client_ip = session.client_ip;
    trace.hostname = hostname;
    const std::string protocol = smtp::receivedProtocol(
        session.esmtp, transaction.smtputf8, session.tls, !session.auth_identity.empty());
    trace.protocol = protocol;
    std::string tls;
    if (session.tls) {
        tls = smtp::tlsSummary(session.tls_version, session.tls_cipher, session.tls_cipher_bits,
                               session.tls_cipher_algorithm_bits);
    }
    trace.tls = tls;
    trace.id = transaction.id;
    if (transaction.rcpts.size() == 1) {
        trace.single_recipient = transaction.rcpts.front();
    }
    trace.when = std::time(nullptr);

    OutgoingMessage message;
    message.head = smtp::receivedHeader(trace);
    transaction.headers.appendTo(message.head);
    message.content = &transaction.content;
    if (transaction.replaced_body) {
        message.head += "\r\n";
        message.replaced_body = &*transaction.replaced_body;
        message.rest_offset = transaction.content.size();
    } else {
        message.rest_offset = transaction.parsed_headers.end;
    }
    return message;
}

}  // namespace mailgate::relay
