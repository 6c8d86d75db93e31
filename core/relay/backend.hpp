#pragma once

#include <memory>
#include <string>

#include "core/config/config.hpp"
#include "core/filter/transaction.hpp"
#include "core/net/asio.hpp"
#include "core/net/tls_context.hpp"
#include "core/smtp/reply.hpp"

namespace mailgate::relay {

// The message as it leaves: `head` (our Received header, the client's header section and the
// headers plugins added) then the rest of the content from `rest_offset` on, read in chunks so a
// spilled message is never loaded whole.
struct OutgoingMessage {
    std::string head;
    smtp::MessageBuffer* content = nullptr;
    uint64_t rest_offset = 0;
    const std::string* replaced_body = nullptr;  // when set, it follows head instead of content
};

// The message as it leaves for the backend: our Received header on top, the header section as
// the plugins left it, then the rest of the content (not copied) or the body a plugin replaced.
OutgoingMessage composeOutgoing(const filter::SessionInfo& session,
                                filter::Transaction& transaction, std::string_view hostname);

// Reads an OutgoingMessage front to back in pieces that each end at a line end (or at the end
// of the message), about `chunk_size` long, so dot-stuffing and line-ending conversion can work
// piece by piece with bounded memory.
class MessagePieces {
  public:
    MessagePieces(const OutgoingMessage& message, size_t chunk_size);
    // The next piece; empty at the end, or when the content could not be read (see failed()).
    std::string_view next();
    bool failed() const { return failed_; }

  private:
    const OutgoingMessage& message_;
    size_t chunk_size_;
    bool head_done_ = false;
    bool replaced_done_ = false;
    uint64_t offset_;
    std::string scratch_;
    bool failed_ = false;
};

// The backend side of one client session: where accepted mail goes. One object per client
// session, used for each of its transactions in turn (the connection is kept between them).
// Every method answers with the reply to give the client; failures of the backend itself come
// back as 4xx replies with enhanced codes, never as exceptions.
class Backend {
  public:
    virtual ~Backend() = default;

    // Starts a transaction for `transaction.mail_from` (connecting first when needed).
    virtual awaitable<smtp::Reply> mailFrom(const filter::Transaction& transaction) = 0;
    // Offers one recipient; the backend's own answer is returned.
    virtual awaitable<smtp::Reply> rcptTo(const filter::Transaction& transaction,
                                          const std::string& recipient) = 0;
    // Sends the complete message (unstuffed, CRLF lines) and returns the final answer.
    virtual awaitable<smtp::Reply> data(const filter::Transaction& transaction,
                                        const OutgoingMessage& message) = 0;
    // Abandons the current transaction (RSET); the connection stays usable when possible.
    virtual awaitable<void> reset() = 0;
    // Ends the backend session politely (QUIT).
    virtual awaitable<void> quit() = 0;
    // Closes the connection at once (forced shutdown).
    virtual void abort() = 0;
};

class Router;

// The backend side of one client session over every configured route: a transaction goes to
// the route of its first recipient (with routes configured, MAIL is sent to the backend with
// that recipient, and answered 250 locally before). A recipient of another route gets
// 452 4.5.3, so the client sends it in a separate transaction. `tls`: the client TLS context
// of each route, in the Router's order (net::TlsContexts::backends; missing or null: no TLS).
std::unique_ptr<Backend> makeSessionBackend(
    const Router& router, const filter::SessionInfo& session, const std::string& hostname,
    asio::any_io_executor executor, const std::vector<std::shared_ptr<const net::ClientTls>>& tls);

}  // namespace mailgate::relay
