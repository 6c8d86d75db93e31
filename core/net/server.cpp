#include "core/net/server.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "core/net/admission.hpp"
#include "core/net/asio.hpp"
#include "core/net/client_key.hpp"
#include "core/net/memory_trim.hpp"
#include "core/net/proxy_reader.hpp"
#include "core/net/session.hpp"
#include "core/net/session_registry.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

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

bool expectsProxy(const config::ServerConfig& server, const config::Endpoint& listen) {
    const auto& listeners = server.proxy_protocol.listeners;
    return std::any_of(listeners.begin(), listeners.end(), [&](const config::Endpoint& proxy) {
        return proxy.toString() == listen.toString();
    });
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
            asio::co_spawn(
                main_->context,
                acceptLoop(acceptor.acceptor, *acceptor.listener, acceptor.expects_proxy),
                asio::detached);
        }
        signals_.async_wait([this](const error_code& ec, int signal) {
            if (!ec) {
                beginShutdown(signal);
            }
        });
        waitForHangup();
        scheduleTrimCheck();
        for (size_t i = 1; i < workers_.size(); ++i) {
            Worker* worker = workers_[i].get();
            worker->thread = std::thread([worker] { worker->context.run(); });
        }
        ops::logInfo("mailgate " MAILGATE_VERSION " ready with " + std::to_string(workers_.size()) +
                     " I/O threads and " + std::to_string(runtime_->chain.size()) + " plugins");
        ops::metrics::setState(ops::metrics::State::Ready);
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
            const bool proxy = expectsProxy(config_.server, listen);
            std::string mode;
            if (listen.tls == config::ListenerTls::Implicit) {
                mode = " (implicit TLS)";
            } else if (listen.require_tls) {
                mode = " (TLS required)";
            }
            if (proxy) {
                mode += " (PROXY protocol)";
            }
            ops::logInfo("listening on " + endpointText(acceptor.local_endpoint(ec)) + mode);
            acceptors_.push_back({std::move(acceptor), &listen, proxy});
        }
        return true;
    }

    Worker& nextWorker() {
        Worker& worker = *workers_[next_worker_];
        next_worker_ = (next_worker_ + 1) % workers_.size();
        return worker;
    }

    awaitable<void> acceptLoop(tcp::acceptor& acceptor, const config::Listener& listener,
                               bool expects_proxy) {
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
            ops::metrics::connectionAccepted();
            if (active_.load() >= runtime_->config.limits.max_connections) {
                ops::metrics::limitHit(ops::metrics::Limit::MaxConnections);
                asio::co_spawn(worker.context, refuse(std::move(socket), "Too many connections"),
                               asio::detached);
                continue;
            }
            // Counted from here: a connection still sending its PROXY header holds a slot too.
            ++active_;
            memory_trim_.noteOpen(active_.load());
            ops::metrics::sessionStarted();
            asio::co_spawn(worker.context,
                           serve(worker, std::move(socket), runtime_, listener, expects_proxy),
                           asio::detached);
        }
    }

    // On the session's worker. `runtime` was copied on the main thread, where reloads happen.
    awaitable<void> serve(Worker& worker, tcp::socket socket, RuntimePtr runtime,
                          const config::Listener& listener, bool expects_proxy) {
        proxy::Header proxied;
        if (expects_proxy) {
            std::optional<proxy::Header> header =
                co_await acceptProxyHeader(socket, runtime->config.server.proxy_protocol);
            if (!header) {
                error_code ignored;
                socket.close(ignored);
                onSessionEnd();
                co_return;
            }
            proxied = std::move(*header);
        }
        error_code ec;
        asio::ip::address client = socket.remote_endpoint(ec).address();
        if (proxied.source) {
            client = proxied.source->address;
        }
        const config::LimitsConfig& limits = runtime->config.limits;
        const std::string key = clientKey(client, limits.ipv6_prefix_length);
        std::string refusal = admission_.admit(key, limits);
        if (!refusal.empty()) {
            co_await refuse(std::move(socket), std::move(refusal));
            onSessionEnd();
            co_return;
        }
        auto session =
            std::make_unique<Session>(std::move(socket), std::move(runtime), worker.registry,
                                      newSessionId(), listener, proxied);
        if (stopping_) {
            session->requestShutdown();
        }
        co_await session->run();
        session.reset();
        admission_.release(key);
        onSessionEnd();
    }

    awaitable<void> refuse(tcp::socket socket, std::string why) {
        const std::string reply =
            "421 4.7.0 " + config_.server.hostname + " " + why + ", try again later\r\n";
        co_await asio::async_write(socket, asio::buffer(reply), use_nothrow);
        error_code ignored;
        socket.close(ignored);
    }

    std::string newSessionId() {
        char text[24];
        std::snprintf(text, sizeof text, "%08x%06llx", id_base_,
                      static_cast<unsigned long long>(++session_counter_ & 0xffffff));
        return text;
    }

    void onSessionEnd() {
        ops::metrics::sessionEnded();
        if (--active_ == 0 && stopping_) {
            asio::post(main_->context, [this] { finishShutdown(); });
        }
    }

    void beginShutdown(int signal) {
        // /readyz says 503 before the line below is logged (tests wait for the line).
        ops::metrics::setState(ops::metrics::State::Draining);
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
        ops::metrics::configReload(next != nullptr);
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
        std::string old_proxy;
        std::string new_proxy;
        for (const auto& endpoint : config_.server.proxy_protocol.listeners) {
            old_proxy += endpoint.toString() + " ";
        }
        for (const auto& endpoint : next.server.proxy_protocol.listeners) {
            new_proxy += endpoint.toString() + " ";
        }
        if (old_listen != new_listen || next.server.threads != config_.server.threads ||
            next.server.backlog != config_.server.backlog || old_proxy != new_proxy) {
            ops::logWarning(
                "server.listen, server.threads, server.backlog and "
                "server.proxy_protocol.listeners take effect only on restart");
        }
        const auto metricsText = [](const config::Config& c) {
            return c.metrics.listen ? c.metrics.listen->toString() : std::string("off");
        };
        if (metricsText(next) != metricsText(config_) || next.log.format != config_.log.format) {
            ops::logWarning("metrics.listen and log.format take effect only on restart");
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

    // On the main thread, like the accept loop that notes the peak.
    void scheduleTrimCheck() {
        trim_timer_.expires_after(kTrimCheckInterval);
        trim_timer_.async_wait([this](const error_code& ec) {
            if (ec || stopping_) {
                return;
            }
            const size_t open = active_.load();
            if (memory_trim_.due(open)) {
                memory_trim_.trim(open);
            }
            scheduleTrimCheck();
        });
    }

    void finishShutdown() {
        drain_timer_.cancel();
        trim_timer_.cancel();
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
        bool expects_proxy;                // a PROXY header comes first
    };
    std::vector<Acceptor> acceptors_;
    asio::signal_set signals_{main_->context, SIGTERM, SIGINT};
    asio::signal_set hangup_{main_->context, SIGHUP};
    asio::steady_timer drain_timer_{main_->context};
    static constexpr std::chrono::seconds kTrimCheckInterval{5};
    asio::steady_timer trim_timer_{main_->context};
    MemoryTrim memory_trim_;
    std::atomic<size_t> active_{0};
    Admission admission_;
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
