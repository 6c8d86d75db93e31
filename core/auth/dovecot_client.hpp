#pragma once

// Asks Dovecot's auth-client socket to check one user name and password (auth.dovecot_socket).

#include <chrono>
#include <filesystem>

#include "core/auth/dovecot_protocol.hpp"
#include "core/net/asio.hpp"

namespace mailgate::auth {

struct DovecotQuery {
    std::filesystem::path socket;
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // for the whole exchange
    DovecotAuthRequest request;                                   // holds the password
};

// One connection per query: connect, handshake, AUTH PLAIN, one reply, close. Runs on the
// calling coroutine's executor and never throws: a socket that is missing or refuses, a
// deadline that passes, or a reply that is not the protocol all give Unavailable, with why.
// The password in `query` is wiped before this returns.
awaitable<DovecotVerdict> askDovecot(DovecotQuery query);

}  // namespace mailgate::auth
