#include "trace_header.hpp"

#include <mailgate/trace_text.hpp>

namespace mailgate::spam_score {

using trace::date;
using trace::word;

std::string traceHeader(const TraceFacts& facts) {
    const bool v6 = facts.client_ip.find(':') != std::string_view::npos;
    return "Received: from " + word(facts.helo, 255) + " ([" + (v6 ? "IPv6:" : "") +
           word(facts.client_ip, 64) + "])\r\n\tby " + word(facts.hostname, 255) +
           " (mailgate) with ESMTP id " + word(facts.id, 64) + ";\r\n\t" + date(facts.when) +
           "\r\n";
}

}  // namespace mailgate::spam_score
