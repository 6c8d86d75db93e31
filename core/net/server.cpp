#include "core/net/server.hpp"

#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "core/net/address_text.hpp"
#include "core/net/asio.hpp"
#include "core/net/per_client_limit.hpp"
#include "core/net/session.hpp"
#include "core/net/session_registry.hpp"
#include "core/ops/log.hpp"

namespace mailgate::net {
namespace {

// One I/O thread with its own io_context: sessions on it need no locks.
struct Worker {
    asio::io_context context{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
        context.get_executor()};
    SessionRegistry registry;
    std::thread thread;
};

std::string endpointText(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

unsigned threadCount(const config::ServerConfig& server) {
    if (server.threads > 0) {
        return server.threads;
    }
    const unsigned cores = std::thread::hardware_concurrency();
    return cores > 0 ? cores : 1;
}

std::vector<std::unique_ptr<Worker>> makeWorkers(unsigned count) {
    std::vector<std::unique_ptr<Worker>> workers;
    for (unsigned i = 0; i < count; ++i) {
        workers.push_back(std::make_unique<Worker>());
    }
    return workers;
}

}  // namespace

class Server::Impl {
  public:
    Impl(RuntimePtr runtime, RuntimeLoader reload)
        : runtime_(std::move(runtime)),
          config_(runtime_->config),
          reload_(std::move(reload)),
          workers_(makeWorkers(threadCount(config_.server))),
          main_(workers_.front().get()) {
        std::random_device random;
        id_base_ = random();
    }

    bool bind(std::string& error) {
        for (const auto& listen : config_.server.listen) {
            if (!bindOne(listen, error)) {
                return false;
            }
        }
        return true;
    }

    int run() {
        for (auto& acceptor : acceptors_) {
            asio::co_spawn(main_->context, acceptLoop(acceptor.acceptor, *acceptor.listener),
                           asio::detached);
        }
        signals_.async_wait([this](const error_code& ec, int signal) {
            if (!ec) {
                beginShutdown(signal);
            }
        });
        waitForHangup();
        for (size_t i = 1; i < workers_.size(); ++i) {
            Worker* worker = workers_[i].get();
            worker->thread = std::thread([worker] { worker->context.run(); });
        }
        ops::logInfo("mailgate " MAILGATE_VERSION " ready with " + std::to_string(workers_.size()) +
                     " I/O threads and " + std::to_string(runtime_->chain.size()) + " plugins");
        logTls();
        main_->context.run();
        for (size_t i = 1; i < workers_.size(); ++i) {
            workers_[i]->thread.join();
        }
        ops::logInfo("mailgate stopped");
        return 0;
    }

  private:
    void logTls() const {
        if (runtime_->tls.server) {
            ops::logInfo("TLS certificates: " + runtime_->tls.server->summary());
        }
    }

    bool bindOne(const config::Listener& listen, std::string& error) {
        error_code ec;
        tcp::resolver resolver(main_->context);
        const auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                              tcp::resolver::numeric_service, ec);
        if (ec || results.empty()) {
            error = "cannot resolve listen address " + listen.toString() + ": " + ec.message();
            return false;
        }
        for (const auto& result : results) {
            const tcp::endpoint endpoint = result.endpoint();
            tcp::acceptor acceptor(main_->context);
            acceptor.open(endpoint.protocol(), ec);
            if (!ec) {
                acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
            }
            if (!ec && endpoint.address().is_v6()) {
                acceptor.set_option(asio::ip::v6_only(true), ec);
            }
            if (!ec) {
                acceptor.bind(endpoint, ec);
            }
            if (!ec) {
                acceptor.listen(config_.server.backlog, ec);
            }
            if (ec) {
                error = "cannot listen on " + endpointText(endpoint) + ": " + ec.message();
                return false;
            }
            std::string mode;
            if (listen.tls == config::ListenerTls::Implicit) {
                mode = " (implicit TLS)";
            } else if (listen.require_tls) {
                mode = " (TLS required)";
            }
            ops::logInfo("listening on " + endpointText(acceptor.local_endpoint(ec)) + mode);
            acceptors_.push_back({std::move(acceptor), &listen});
        }
        return true;
    }

    Worker& nextWorker() {
        Worker& worker = *workers_[next_worker_];
        next_worker_ = (next_worker_ + 1) % workers_.size();
        return worker;
    }

    awaitable<void> acceptLoop(tcp::acceptor& acceptor, const config::Listener& listener) {
        asio::steady_timer backoff(main_->context);
        while (!stopping_) {
            Worker& worker = nextWorker();
            auto [ec, socket] = co_await acceptor.async_accept(worker.context, use_nothrow);
            if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) {
                    break;
                }
                // Out of file descriptors and the like: do not spin.
                ops::logWarning("accept: " + ec.message());
                backoff.expires_after(std::chrono::milliseconds(100));
                co_await backoff.async_wait(use_nothrow);
                continue;
            }
            const config::LimitsConfig& limits = runtime_->config.limits;
            if (active_.load() >= limits.max_connections) {
                asio::co_spawn(worker.context, refuse(std::move(socket), "Too many connections"),
                               asio::detached);
                continue;
            }
            const std::string client = clientAddress(socket);
            if (!per_client_.tryAcquire(client, limits.max_connections_per_ip)) {
                ops::logInfo("too many connections from " + client + ", refused");
                asio::co_spawn(worker.context,
                               refuse(std::move(socket), "Too many connections from your address"),
                               asio::detached);
                continue;
            }
            startSession(worker, std::move(socket), client, listener);
        }
    }

    template <typename Socket>
    static std::string clientAddress(const Socket& socket) {
        error_code ec;
        return addressText(socket.remote_endpoint(ec).address());
    }

    awaitable<void> refuse(tcp::socket socket, std::string why) {
        const std::string reply =
            "421 4.7.0 " + config_.server.hostname + " " + why + ", try again later\r\n";
        co_await asio::async_write(socket, asio::buffer(reply), use_nothrow);
        error_code ignored;
        socket.close(ignored);
    }

    // Runs on the main I/O thread: runtime_ is copied here, never read from a worker (a reload
    // replaces it on this thread).
    void startSession(Worker& worker, tcp::socket socket, std::string client,
                      const config::Listener& listener) {
        ++active_;
        asio::co_spawn(
            worker.context,
            [this, &worker, &listener, runtime = runtime_, client = std::move(client),
             socket = std::move(socket)]() mutable -> awaitable<void> {
                auto session = std::make_unique<Session>(std::move(socket), std::move(runtime),
                                                         worker.registry, newSessionId(), listener);
                if (stopping_) {
                    session->requestShutdown();
                }
                co_await session->run();
                session.reset();
                per_client_.release(client);
                onSessionEnd();
            },
            asio::detached);
    }

    std::string newSessionId() {
        char text[24];
        std::snprintf(text, sizeof text, "%08x%06llx", id_base_,
                      static_cast<unsigned long long>(++session_counter_ & 0xffffff));
        return text;
    }

    void onSessionEnd() {
        if (--active_ == 0 && stopping_) {
            asio::post(main_->context, [this] { finishShutdown(); });
        }
    }

    void beginShutdown(int signal) {
        ops::logInfo(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
                     ": no new connections, draining " + std::to_string(active_.load()) +
                     " sessions for at most " +
                     std::to_string(config_.limits.shutdown_timeout.count()) + " ms");
        stopping_ = true;
        for (auto& acceptor : acceptors_) {
            error_code ignored;
            acceptor.acceptor.close(ignored);
        }
        for (auto& worker : workers_) {
            Worker* w = worker.get();
            asio::post(w->context, [w] {
                for (Session* session : w->registry.sessions()) {
                    session->requestShutdown();
                }
                w->guard.reset();
            });
        }
        if (active_.load() == 0) {
            finishShutdown();
            return;
        }
        drain_timer_.expires_after(config_.limits.shutdown_timeout);
        drain_timer_.async_wait([this](const error_code& ec) {
            if (!ec) {
                forceCloseAll("drain time is over");
            }
        });
        signals_.async_wait([this](const error_code& ec, int) {
            if (!ec) {
                forceCloseAll("second signal");
            }
        });
    }

    void waitForHangup() {
        hangup_.async_wait([this](const error_code& ec, int) {
            if (ec || stopping_) {
                return;
            }
            reload();
            waitForHangup();
        });
    }

    // Runs on the main I/O thread, like the accept loops that hand runtime_ to new sessions.
    void reload() {
        ops::logInfo("received SIGHUP: reloading the configuration and plugins");
        std::string errors;
        RuntimePtr next = reload_ ? reload_(errors) : nullptr;
        if (!next) {
            ops::logError("reload refused, still running the previous configuration:\n" + errors);
            return;
        }
        warnAboutRestartOnlySettings(next->config);
        runtime_ = std::move(next);
        ops::logInfo("configuration reloaded: " + std::to_string(runtime_->chain.size()) +
                     " plugins; new sessions use it, sessions in flight finish on the old one");
        logTls();
    }

    void warnAboutRestartOnlySettings(const config::Config& next) const {
        std::string old_listen;
        std::string new_listen;
        for (const auto& listener : config_.server.listen) {
            old_listen += listener.describe() + " ";
        }
        for (const auto& listener : next.server.listen) {
            new_listen += listener.describe() + " ";
        }
        if (old_listen != new_listen || next.server.threads != config_.server.threads ||
            next.server.backlog != config_.server.backlog) {
            ops::logWarning(
                "server.listen, server.threads and server.backlog take effect only on restart");
        }
    }

    void forceCloseAll(const char* why) {
        ops::logWarning(std::string(why) + ": closing " + std::to_string(active_.load()) +
                        " remaining sessions");
        for (auto& worker : workers_) {
            Worker* w = worker.get();
            asio::post(w->context, [w] {
                // Copy: closing may end sessions, which unregister themselves later.
                const auto sessions = w->registry.sessions();
                for (Session* session : sessions) {
                    session->forceClose();
                }
            });
        }
    }

    void finishShutdown() {
        drain_timer_.cancel();
        signals_.cancel();
        hangup_.cancel();
    }

    RuntimePtr runtime_;           // what new sessions get; replaced by a reload
    const config::Config config_;  // a copy of the configuration at start: listeners, drain
    RuntimeLoader reload_;
    std::vector<std::unique_ptr<Worker>> workers_;
    Worker* main_ = nullptr;
    struct Acceptor {
        tcp::acceptor acceptor;
        const config::Listener* listener;  // in config_, which outlives every session
    };
    std::vector<Acceptor> acceptors_;
    asio::signal_set signals_{main_->context, SIGTERM, SIGINT};
    asio::signal_set hangup_{main_->context, SIGHUP};
    asio::steady_timer drain_timer_{main_->context};
    std::atomic<size_t> active_{0};
    PerClientLimit per_client_;
    std::atomic<bool> stopping_{false};
    std::atomic<uint64_t> session_counter_{0};
    unsigned id_base_ = 0;
    size_t next_worker_ = 0;
};

Server::Server(RuntimePtr runtime, RuntimeLoader reload)
    : impl_(std::make_unique<Impl>(std::move(runtime), std::move(reload))) {}

Server::~Server() = default;

bool Server::bind(std::string& error) {
    return impl_->bind(error);
}

int Server::run() {
    return impl_->run();
}

}  // namespace mailgate::net
