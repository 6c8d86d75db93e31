#pragma once

#include <memory>
#include <string>

#include "core/config/config.hpp"

namespace mailgate::ops {

// The HTTP endpoint for operators (metrics.listen): GET /metrics (Prometheus text), /healthz
// (the process answers) and /readyz (200 while accepting mail, 503 while starting or draining).
// Boost.Beast stays inside metrics_server.cpp.
class MetricsServer {
  public:
    MetricsServer();
    ~MetricsServer();  // stops the server
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds `listen` and serves on a thread of its own; false with `error` set when the address
    // cannot be resolved or bound.
    bool start(const config::Endpoint& listen, std::string& error);
    // Closes the listener and open connections and joins the thread; safe to call twice.
    void stop();

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mailgate::ops
