#include "scanner_client.hpp"

#include <ctime>

#include "spamd_protocol.hpp"
#include "trace_header.hpp"

namespace mailgate::spam_score {
namespace {

std::string withTimeout(std::string error, const ScannerConfig& scanner) {
    if (error.rfind("timed out", 0) == 0 || error.find(": timed out") != std::string::npos) {
        error += " (timeout " + std::to_string(scanner.timeout.count()) + "ms)";
    }
    return error;
}

// spamd answers and closes the connection: read to the end.
ScanResult readSpamdReply(ScannerSocket& socket, Clock::time_point deadline) {
    std::string reply;
    std::string piece;
    while (true) {
        if (std::string error = socket.receive(piece, deadline); !error.empty()) {
            return ScanResult::failure(std::move(error));
        }
        if (piece.empty()) {
            return parseSpamdReply(reply);
        }
        if (reply.size() + piece.size() > kMaxScannerReply) {
            return ScanResult::failure("spamd reply larger than " +
                                       std::to_string(kMaxScannerReply) + " octets");
        }
        reply += piece;
    }
}

ScanResult readRspamdReply(ScannerSocket& socket, Clock::time_point deadline) {
    RspamdReplyReader reader;
    std::string piece;
    while (!reader.done()) {
        if (std::string error = socket.receive(piece, deadline); !error.empty()) {
            return ScanResult::failure(std::move(error));
        }
        if (piece.empty()) {
            reader.eof();
        } else {
            reader.feed(piece);
        }
    }
    return reader.result();
}

}  // namespace

MessageText messageText(const sdk::Session& session, std::string_view hostname) {
    MessageText text;
    text.trace = traceHeader({session.helo(), session.client_address(), hostname,
                              session.session_id(), std::time(nullptr)});
    for (const sdk::Header& field : session.headers()) {
        text.header_section.append(field.name).append(":").append(field.value).append("\r\n");
    }
    text.header_section += "\r\n";
    text.body = session.body();
    return text;
}

RspamdEnvelope envelopeOf(const sdk::Session& session) {
    RspamdEnvelope envelope;
    envelope.ip = session.client_address();
    envelope.helo = session.helo();
    envelope.from = session.mail_from();
    for (const std::string_view rcpt : session.recipients()) {
        envelope.rcpts.emplace_back(rcpt);
    }
    envelope.queue_id = session.session_id();
    envelope.user = session.auth_identity();
    return envelope;
}

ScanResult scanMessage(const ScannerConfig& scanner, const MessageText& message,
                       const RspamdEnvelope& envelope) {
    const Clock::time_point deadline = Clock::now() + scanner.timeout;
    ScannerSocket socket;
    if (std::string error = socket.connect(scanner.addresses, deadline); !error.empty()) {
        return ScanResult::failure(withTimeout(std::move(error), scanner));
    }
    const bool spamd = scanner.type == ScannerType::Spamd;
    // Rspamd has the envelope in its request headers; spamd finds the client in the trace.
    const std::string_view trace = spamd ? std::string_view(message.trace) : std::string_view();
    const std::string head = spamd ? spamdRequestHead(trace.size() + message.size())
                                   : rspamdRequestHead(scanner.address, message.size(),
                                                       scanner.envelope ? &envelope : nullptr);
    for (const std::string_view part :
         {std::string_view(head), trace, std::string_view(message.header_section), message.body}) {
        if (std::string error = socket.send(part, deadline); !error.empty()) {
            return ScanResult::failure(withTimeout(std::move(error), scanner));
        }
    }
    ScanResult result =
        spamd ? readSpamdReply(socket, deadline) : readRspamdReply(socket, deadline);
    if (!result.ok) {
        result.error = withTimeout(std::move(result.error), scanner);
    }
    return result;
}

}  // namespace mailgate::spam_score
