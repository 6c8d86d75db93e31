#pragma once

#include <mailgate/plugin.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "rspamd_protocol.hpp"
#include "scan_result.hpp"
#include "scanner_config.hpp"

// One scan: connect to the daemon, send the message, read and parse the reply, all within the
// scanner's timeout. Blocking: called on mailgate's plugin worker threads.
namespace mailgate::spam_score {

// The message as it would be forwarded now: the header section (with the edits of earlier
// plugins) and a view of the body, which the host keeps in memory or maps from its spill file
// (so it is sent without being copied).
struct MessageText {
    std::string trace;           // our Received field, for spamd only (see trace_header.hpp)
    std::string header_section;  // "Name: value\r\n" ... "\r\n"
    std::string_view body;

    // What is sent (and compared with max_size): the trace is not counted.
    std::uint64_t size() const { return header_section.size() + body.size(); }
};

// `hostname`: our own name for the trace field.
MessageText messageText(const sdk::Session& session, std::string_view hostname);
RspamdEnvelope envelopeOf(const sdk::Session& session);

ScanResult scanMessage(const ScannerConfig& scanner, const MessageText& message,
                       const RspamdEnvelope& envelope);

}  // namespace mailgate::spam_score
