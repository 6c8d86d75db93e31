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
    trace.protocol = transaction.smtputf8 ? "UTF8SMTP" : (session.esmtp ? "ESMTP" : "SMTP");
    trace.id = transaction.id;
    if (transaction.rcpts.size() == 1) {
        trace.single_recipient = transaction.rcpts.front();
    }
    trace.when = std::time(nullptr);

    OutgoingMessage message;
    message.head = smtp::receivedHeader(trace);
    const size_t header_end = transaction.headers.end;
    message.head.append(transaction.content.view().substr(0, header_end));
    for (const auto& [name, value] : transaction.added_headers) {
        message.head += name;
        message.head += ": ";
        message.head += value;
        message.head += "\r\n";
    }
    message.content = &transaction.content;
    message.rest_offset = header_end;
    return message;
}

}  // namespace mailgate::relay
