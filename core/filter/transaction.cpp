#include "core/filter/transaction.hpp"

namespace mailgate::filter {

uint64_t Transaction::bodyOffset() {
    uint64_t start = parsed_headers.end;
    std::string scratch;
    if (start > 0 && content.chunk(start, 2, scratch) == "\r\n") {
        start += 2;
    }
    return start;
}

void Transaction::noteEnvelopeEdit() {
    if (!envelope_edited) {
        envelope_edited = true;
        backend_mail_from = mail_from;
        backend_rcpts = rcpts;
    }
}

}  // namespace mailgate::filter
