#include "core/relay/body_source.hpp"

namespace mailgate::relay {
namespace {

constexpr size_t kBodyPiece = 64 * 1024;

}  // namespace

TransactionBody::TransactionBody(filter::Transaction& transaction) : transaction_(transaction) {
    rewind();
}

void TransactionBody::rewind() {
    body_ = OutgoingMessage{};
    body_.content = &transaction_.content;
    if (transaction_.replaced_body) {
        body_.replaced_body = &*transaction_.replaced_body;  // an earlier plugin replaced it
    } else {
        body_.rest_offset = transaction_.bodyOffset();
    }
    pieces_ = std::make_unique<MessagePieces>(body_, kBodyPiece);
}

std::string_view TransactionBody::next() {
    return pieces_->next();
}

}  // namespace mailgate::relay
