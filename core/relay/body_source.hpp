#pragma once

#include <memory>

#include "core/filter/chain.hpp"
#include "core/relay/backend.hpp"

namespace mailgate::relay {

// The body of a transaction for the plugins' body hooks: the body a plugin replaced, or the
// client's after the blank line, in pieces of about 64 KiB that end at line ends.
class TransactionBody final : public filter::BodySource {
  public:
    explicit TransactionBody(filter::Transaction& transaction);
    void rewind() override;
    std::string_view next() override;

  private:
    filter::Transaction& transaction_;
    OutgoingMessage body_;
    std::unique_ptr<MessagePieces> pieces_;
};

}  // namespace mailgate::relay
