// libFuzzer target: what mailgate reads from Dovecot's auth socket
// (core/auth/dovecot_protocol.cpp). The input is the server's side, LF-separated: handshake lines,
// then the reply to AUTH id 1. Invariants: a failed handshake or an Unavailable verdict says why; a
// Verified verdict names a user that is non-empty, at most 255 bytes and free of control characters
// (it goes to logs, Received: and XCLIENT); escaping any line and unescaping it gives the line
// back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/auth/dovecot_protocol.hpp"

namespace {

namespace auth = mailgate::auth;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

void checkVerdict(const auth::DovecotVerdict& verdict) {
    switch (verdict.kind) {
        case auth::DovecotVerdict::Kind::Verified:
            check(!verdict.user.empty() && verdict.user.size() <= 255);
            for (const char c : verdict.user) {
                const auto byte = static_cast<unsigned char>(c);
                check(byte >= 0x20 && byte != 0x7f);
            }
            break;
        case auth::DovecotVerdict::Kind::Unavailable:
            check(!verdict.detail.empty() && verdict.user.empty());
            break;
        case auth::DovecotVerdict::Kind::Refused:
            check(verdict.user.empty());
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auth::DovecotHandshake handshake;
    auth::DovecotHandshake::Status status = auth::DovecotHandshake::Status::More;
    while (!input.empty()) {
        const size_t end = input.find('\n');
        const std::string_view line = input.substr(0, end);
        input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
        check(auth::dovecotUnescape(auth::dovecotEscape(line)) == line);
        if (status == auth::DovecotHandshake::Status::More) {
            status = handshake.feed(line);
            check(status != auth::DovecotHandshake::Status::Failed || !handshake.why().empty());
        } else {
            checkVerdict(auth::parseDovecotReply(line, 1));
        }
    }
    return 0;
}
