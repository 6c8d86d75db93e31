#include "core/relay/backend.hpp"

#include <optional>
#include <vector>

#include "core/relay/maildir_backend.hpp"
#include "core/relay/router.hpp"
#include "core/relay/smtp_backend.hpp"

namespace mailgate::relay {
namespace {

// One backend object per route, made when a transaction first needs it; each keeps its own
// connection for the session's later messages.
class RoutedBackend final : public Backend {
  public:
    RoutedBackend(const Router& router, const filter::SessionInfo& session, std::string hostname,
                  asio::any_io_executor executor,
                  const std::vector<std::shared_ptr<const net::ClientTls>>& tls)
        : router_(router),
          session_(session),
          hostname_(std::move(hostname)),
          executor_(executor),
          tls_(tls),
          backends_(router.size()) {}

    awaitable<smtp::Reply> mailFrom(const filter::Transaction& transaction) override {
        route_.reset();
        if (router_.size() == 1) {
            // One route: the backend's own answer to MAIL is the client's.
            route_ = 0;
            smtp::Reply reply = co_await backend(0).mailFrom(transaction);
            if (!reply.positive()) {
                route_.reset();
            }
            co_return reply;
        }
        // The route is known at the first recipient; MAIL goes to the backend with it.
        co_return smtp::Reply(250, "2.1.0", "Ok");
    }

    // The usual case, a recipient of the route already open, goes straight to its backend (no
    // frame of ours); the caller keeps `transaction` and `recipient` alive until the await ends.
    awaitable<smtp::Reply> rcptTo(const filter::Transaction& transaction,
                                  const std::string& recipient) override {
        const size_t route = router_.routeFor(recipient);
        if (route_ && *route_ == route) {
            return backend(route).rcptTo(transaction, recipient);
        }
        return rcptToNewRoute(transaction, recipient, route);
    }

    awaitable<smtp::Reply> data(const filter::Transaction& transaction,
                                const OutgoingMessage& message) override {
        if (!route_) {
            return noTransaction();
        }
        const size_t route = *route_;
        route_.reset();
        return backend(route).data(transaction, message);
    }

    awaitable<void> reset() override {
        if (route_) {
            const size_t route = *route_;
            route_.reset();
            co_await backend(route).reset();
        } else if (router_.size() == 1 && backends_[0]) {
            co_await backends_[0]->reset();
        }
    }

    awaitable<void> quit() override {
        for (auto& backend : backends_) {
            if (backend) {
                co_await backend->quit();
            }
        }
    }

    void abort() override {
        for (auto& backend : backends_) {
            if (backend) {
                backend->abort();
            }
        }
    }

  private:
    // A recipient whose route differs from the transaction's, or the first one when the route
    // is chosen per recipient.
    awaitable<smtp::Reply> rcptToNewRoute(const filter::Transaction& transaction,
                                          const std::string& recipient, size_t route) {
        if (route_) {
            if (!transaction.rcpts.empty()) {
                co_return smtp::Reply(452, "4.5.3",
                                      "<" + recipient +
                                          ">: goes to another backend than the earlier "
                                          "recipients; send it in a separate transaction");
            }
            // Nobody was accepted yet: move the transaction to this recipient's route.
            co_await backend(*route_).reset();
            route_.reset();
        }
        smtp::Reply opened = co_await backend(route).mailFrom(transaction);
        if (!opened.positive()) {
            co_return opened;  // the backend's answer to MAIL, given to this RCPT
        }
        route_ = route;
        co_return co_await backend(route).rcptTo(transaction, recipient);
    }

    static awaitable<smtp::Reply> noTransaction() {
        co_return smtp::Reply(451, "4.3.0", "No backend transaction, try again later");
    }

    Backend& backend(size_t route) {
        if (!backends_[route]) {
            const config::BackendConfig& config = router_.backend(route);
            if (config.type == config::BackendType::Maildir) {
                backends_[route] = std::make_unique<MaildirBackend>(config.path, hostname_);
            } else {
                std::shared_ptr<const net::ClientTls> tls;
                if (route < tls_.size()) {
                    tls = tls_[route];
                }
                backends_[route] = std::make_unique<SmtpBackend>(router_, route, session_,
                                                                 executor_, std::move(tls));
            }
        }
        return *backends_[route];
    }

    const Router& router_;
    const filter::SessionInfo& session_;
    std::string hostname_;
    asio::any_io_executor executor_;
    const std::vector<std::shared_ptr<const net::ClientTls>>& tls_;  // owned by the Runtime
    std::vector<std::unique_ptr<Backend>> backends_;
    std::optional<size_t> route_;  // the route of the transaction in progress
};

}  // namespace

std::unique_ptr<Backend> makeSessionBackend(
    const Router& router, const filter::SessionInfo& session, const std::string& hostname,
    asio::any_io_executor executor, const std::vector<std::shared_ptr<const net::ClientTls>>& tls) {
    return std::make_unique<RoutedBackend>(router, session, hostname, executor, tls);
}

}  // namespace mailgate::relay
