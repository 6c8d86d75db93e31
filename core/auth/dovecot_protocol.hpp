#pragma once

// The client side of Dovecot's auth protocol (doc.dovecot.org, "Dovecot Authentication
// Protocol", v1.x) as pure functions: formatting our lines and reading Dovecot's. No I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailgate::auth {

// Dovecot's tab-escaping: \001 escapes NUL ('0'), \001 ('1'), TAB ('t'), CR ('r'), LF ('n').
std::string dovecotEscape(std::string_view text);
std::string dovecotUnescape(std::string_view text);

// A user name Dovecot's line protocol cannot carry unambiguously: with TAB, LF or NUL.
bool dovecotRefusesName(std::string_view name);

// "VERSION\t1\t2\nCPID\t<pid>\n": what the client sends on connecting.
std::string dovecotHello(uint64_t pid);

struct DovecotAuthRequest {
    unsigned id = 1;
    std::string name;
    std::string password;
    bool secured = false;  // TLS on the client connection
    std::string local_ip;
    std::string remote_ip;
    std::string session;  // our session id, for Dovecot's log
};

// One "AUTH\t<id>\tPLAIN\tservice=smtp\tnologin\tno-penalty..." line with the initial response.
// no-penalty: mailgate limits failures itself (auth.max_failures); Dovecot's own penalty (up to
// 15 s) would outlast dovecot_timeout and turn refusals into uncounted 454s. It holds the
// password (in base64): the caller wipes it after sending.
std::string dovecotAuthLine(const DovecotAuthRequest& request);

// The server's handshake (VERSION, MECH, SPID, CUID, COOKIE, DONE), one line at a time.
class DovecotHandshake {
  public:
    enum class Status { More, Done, Failed };
    // `line` without its LF. After Failed, why() says what was wrong.
    Status feed(std::string_view line);
    const std::string& why() const { return why_; }

  private:
    Status fail(std::string why);
    bool version_seen_ = false;
    bool plain_offered_ = false;
    std::string why_;
};

// Dovecot's answer to our AUTH.
struct DovecotVerdict {
    enum class Kind { Verified, Refused, Unavailable };
    Kind kind = Kind::Unavailable;
    std::string user;    // Verified: the canonical name Dovecot returned (user=)
    std::string detail;  // for the log: Dovecot's reason=, or what was wrong with the reply
};

// Reads the reply line to the AUTH with `id`: OK (user= required), FAIL (with `temp` or
// code=temp_fail: Unavailable), anything else (CONT, another id, garbage): Unavailable.
DovecotVerdict parseDovecotReply(std::string_view line, unsigned id);

}  // namespace mailgate::auth
