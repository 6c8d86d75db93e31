#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scan_result.hpp"

// Rspamd's HTTP protocol on its normal worker: POST /checkv2 with the message as the body and
// the envelope in request headers; the JSON reply parsed into a ScanResult. No I/O here.
namespace mailgate::spam_score {

// What Rspamd is told about the SMTP transaction (its IP, Helo, From, Rcpt, Queue-Id, User
// request headers). Empty fields are left out.
struct RspamdEnvelope {
    std::string ip;
    std::string helo;
    std::string from;  // empty: the null sender (left out)
    std::vector<std::string> rcpts;
    std::string queue_id;
    std::string user;  // the AUTH identity
};

// "POST /checkv2 HTTP/1.1\r\nHost: ...\r\n...\r\n\r\n"; the message follows it. A value with a
// control character (CR, LF, ...) is left out rather than sent.
std::string rspamdRequestHead(std::string_view host, std::uint64_t message_length,
                              const RspamdEnvelope* envelope);

// The JSON of a /checkv2 reply: "score", "required_score" and "action" are required; each of
// "symbols" adds a symbol (name, score, description), the strongest first, at most
// kMaxScannerSymbols.
ScanResult parseRspamdJson(std::string_view json);

// Reads an HTTP/1.1 reply piece by piece (Boost.Beast's parser: Content-Length, chunked, or up
// to the end of the connection), at most kMaxScannerReply octets of body.
class RspamdReplyReader {
  public:
    RspamdReplyReader();
    ~RspamdReplyReader();
    RspamdReplyReader(const RspamdReplyReader&) = delete;
    RspamdReplyReader& operator=(const RspamdReplyReader&) = delete;

    // Feeds received octets; true when the reply is complete or broken (see result()).
    bool feed(std::string_view data);
    // The peer closed the connection; the reply is then complete or broken.
    void eof();
    bool done() const;
    // The parsed reply: a failure for a broken reply or an HTTP status other than 200.
    ScanResult result() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace mailgate::spam_score
