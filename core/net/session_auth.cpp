// SMTP AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN against the users file or Dovecot's auth
// socket, after TLS unless auth.allow_plaintext. Failures are counted per client address for the
// whole process. Passwords are never logged, and are wiped from memory after use.
#include <openssl/crypto.h>

#include "core/auth/dovecot_client.hpp"
#include "core/auth/failure_limit.hpp"
#include "core/auth/sasl.hpp"
#include "core/auth/users.hpp"
#include "core/filter/plugin_call.hpp"
#include "core/net/session.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::net {
namespace {

constexpr const char* kUsernameChallenge = "VXNlcm5hbWU6";  // "Username:"
constexpr const char* kPasswordChallenge = "UGFzc3dvcmQ6";  // "Password:"

void wipe(std::string& secret) {
    OPENSSL_cleanse(secret.data(), secret.size());
    secret.clear();
}

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

// Runs on the worker pool. Not a lambda: GCC 12 destroys a coroutine lambda's captures twice.
awaitable<bool> verifyPassword(std::shared_ptr<const auth::Users> users, std::string name,
                               std::string password) {
    const bool verified = !name.empty() && users->verify(name, password);
    wipe(password);
    co_return verified;
}

auth::DovecotQuery dovecotQuery(const config::AuthConfig& settings, const filter::SessionInfo& info,
                                const std::string& name, const std::string& password) {
    auth::DovecotQuery query;
    query.socket = settings.dovecot_socket;
    query.timeout = settings.dovecot_timeout;
    query.request.name = name;
    query.request.password = password;
    query.request.secured = info.tls;
    query.request.local_ip = info.local_ip;
    query.request.remote_ip = info.client_ip;
    query.request.session = info.id;
    return query;
}

// The users file when there is one (hashing on the worker pool: milliseconds, yescrypt tens of
// them, too long for an I/O thread), else Dovecot. Refused without asking for an empty name, or
// one with TAB, LF or NUL (Dovecot's line protocol cannot carry it). `info` is the awaiting
// session's, alive until this returns.
awaitable<auth::DovecotVerdict> checkCredentials(RuntimePtr runtime,
                                                 const filter::SessionInfo& info, std::string name,
                                                 std::string password) {
    auth::DovecotVerdict verdict{auth::DovecotVerdict::Kind::Refused, "", ""};
    if (runtime->users != nullptr) {
        const bool ok = co_await asio::co_spawn(filter::workerPool(),
                                                verifyPassword(runtime->users, name, password),
                                                asio::use_awaitable);
        if (ok) {
            verdict = {auth::DovecotVerdict::Kind::Verified, name, ""};
        }
    } else if (!name.empty() && !auth::dovecotRefusesName(name)) {
        verdict =
            co_await auth::askDovecot(dovecotQuery(runtime->config.auth, info, name, password));
    }
    wipe(password);
    co_return verdict;
}

std::string refusedLine(const std::string& mechanism, const std::string& name,
                        const std::string& client_ip, const std::string& detail) {
    std::string line = "AUTH " + mechanism + " failed for '" + name + "' from " + client_ip;
    if (!detail.empty()) {
        line += " (" + detail + ")";
    }
    return line;
}

}  // namespace

bool Session::authOffered() const {
    return runtime_.config.auth.enabled && info_.auth_identity.empty() &&
           (info_.tls || runtime_.config.auth.allow_plaintext);
}

void Session::addAuthKeyword(std::vector<std::string>& keywords) const {
    if (authOffered()) {
        keywords.emplace_back("AUTH PLAIN LOGIN");
    }
}

// Sends a 334 challenge and reads the client's base64 answer into `decoded`. On anything but
// Ok the reply is queued (or the session is over: Ended).
awaitable<Session::AuthStep> Session::authChallenge(const char* challenge, std::string& decoded) {
    out_ += "334 ";
    out_ += challenge;
    out_ += "\r\n";
    std::string line;
    bool crlf = true;
    const ReadStatus status = co_await readCommandLine(line, crlf);
    switch (status) {
        case ReadStatus::Line:
            break;
        case ReadStatus::LineTooLong:
            replyText(500, "5.5.6", "Authentication exchange line is too long");
            co_return AuthStep::Failed;
        case ReadStatus::TimedOut:
            co_await closeWith(
                {421, "4.4.2", runtime_.config.server.hostname + " Timeout, closing connection"});
            co_return AuthStep::Ended;
        case ReadStatus::ShuttingDown:
            co_await closeWith(
                {421, "4.3.2",
                 runtime_.config.server.hostname + " Service shutting down, closing connection"});
            co_return AuthStep::Ended;
        case ReadStatus::Closed:
            co_return AuthStep::Ended;
    }
    if (line == "*") {
        replyText(501, "5.0.0", "Authentication canceled");
        co_return AuthStep::Failed;
    }
    auto text = auth::decodeBase64(line);
    wipe(line);
    if (!text) {
        replyText(501, "5.5.2", "Cannot decode the base64 response");
        co_return AuthStep::Failed;
    }
    decoded = std::move(*text);
    co_return AuthStep::Ok;
}

awaitable<bool> Session::onAuth(const smtp::Command& command) {
    const config::AuthConfig& settings = runtime_.config.auth;
    if (!settings.enabled) {
        replyText(502, "5.5.1", "AUTH is not offered by this server");
        co_return countError();
    }
    if (!info_.auth_identity.empty()) {
        replyText(503, "5.5.1", "Already authenticated");
        co_return countError();
    }
    if (!helo_seen_ || !info_.esmtp) {
        replyText(503, "5.5.1", "Send EHLO first");
        co_return countError();
    }
    if (transaction_.active()) {
        replyText(503, "5.5.1", "AUTH is not permitted during a mail transaction");
        co_return countError();
    }
    if (!info_.tls && !settings.allow_plaintext) {
        replyText(538, "5.7.11", "Encryption required for requested authentication mechanism");
        co_return countError();
    }
    auth::FailureLimit& failures = auth::FailureLimit::instance();
    if (!failures.allowed(info_.client_ip, settings.max_failures, settings.failure_window)) {
        ops::logLine(ops::LogLevel::Info, info_.id,
                     "AUTH from " + info_.client_ip + " refused: too many failures");
        ops::metrics::limitHit(ops::metrics::Limit::AuthFailures);
        co_await closeWith({421, "4.7.0",
                            runtime_.config.server.hostname +
                                " Too many failed authentications, try again later"});
        co_return false;
    }
    const std::string_view argument = command.argument;
    const size_t space = argument.find(' ');
    const std::string mechanism = upper(argument.substr(0, space));
    std::string initial(space == std::string_view::npos ? "" : argument.substr(space + 1));
    const bool has_initial = space != std::string_view::npos;

    std::string name;
    std::string password;
    // Decodes the initial response, or asks for it; false with the reply queued or the session
    // ended (`ended`).
    bool ended = false;
    auto obtain = [&](const char* challenge, std::string& into) -> awaitable<bool> {
        if (has_initial && !initial.empty()) {
            auto decoded =
                initial == "=" ? std::optional<std::string>("") : auth::decodeBase64(initial);
            wipe(initial);
            if (!decoded) {
                replyText(501, "5.5.2", "Cannot decode the base64 response");
                co_return false;
            }
            into = std::move(*decoded);
            co_return true;
        }
        const AuthStep step = co_await authChallenge(challenge, into);
        ended = step == AuthStep::Ended;
        co_return step == AuthStep::Ok;
    };
    if (mechanism == "PLAIN") {
        std::string message;
        if (!co_await obtain("", message)) {
            co_return !ended;
        }
        auto credentials = auth::parsePlain(message);
        wipe(message);
        if (!credentials) {
            replyText(501, "5.5.2", "Malformed PLAIN response");
            co_return true;
        }
        if (!credentials->authzid.empty() && credentials->authzid != credentials->authcid) {
            name = "";  // acting for another identity is not supported: a failure
        } else {
            name = credentials->authcid;
        }
        password = std::move(credentials->password);
        wipe(credentials->password);
    } else if (mechanism == "LOGIN") {
        if (!co_await obtain(kUsernameChallenge, name)) {
            co_return !ended;
        }
        const AuthStep step = co_await authChallenge(kPasswordChallenge, password);
        if (step != AuthStep::Ok) {
            co_return step != AuthStep::Ended;
        }
    } else {
        wipe(initial);
        replyText(504, "5.5.4", "Unrecognized authentication type");
        co_return countError();
    }
    auth::DovecotVerdict verdict = co_await checkCredentials(runtime_ptr_, info_, name, password);
    wipe(password);
    if (verdict.kind == auth::DovecotVerdict::Kind::Unavailable) {
        // Not the client's fault: not a failed password, and no failure delay.
        ops::metrics::authUnavailable();
        ops::logLine(ops::LogLevel::Warning, info_.id,
                     "AUTH " + mechanism + " from " + info_.client_ip + ": Dovecot auth at " +
                         settings.dovecot_socket.string() + " unavailable: " + verdict.detail);
        replyText(454, "4.7.0", "Temporary authentication failure");
        co_return true;
    }
    const bool ok = verdict.kind == auth::DovecotVerdict::Kind::Verified;
    ops::metrics::authAttempt(ok);
    if (ok) {
        info_.auth_identity = verdict.user;
        ops::logLine(ops::LogLevel::Info, info_.id,
                     "AUTH " + mechanism + " as " + verdict.user + " from " + info_.client_ip);
        replyText(235, "2.7.0", "Authentication successful");
        co_return true;
    }
    failures.failed(info_.client_ip, settings.failure_window);
    ops::logLine(ops::LogLevel::Info, info_.id,
                 refusedLine(mechanism, name, info_.client_ip, verdict.detail));
    if (settings.failure_delay.count() > 0) {
        asio::steady_timer delay(socket_.get_executor());
        delay.expires_after(settings.failure_delay);
        co_await delay.async_wait(use_nothrow);
    }
    replyText(535, "5.7.8", "Authentication credentials invalid");
    co_return true;
}

}  // namespace mailgate::net
