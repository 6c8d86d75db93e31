#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/net/runtime.hpp"

namespace mailgate::net {

// Loads the configuration and plugins anew for a reload; null with `errors` set on failure.
using RuntimeLoader = std::function<RuntimePtr(std::string& errors)>;

// The listening side: binds the configured addresses, spreads connections over one
// single-threaded io_context per core, drains gracefully on SIGTERM/SIGINT and reloads the
// configuration and plugins on SIGHUP (new sessions use the new ones).
class Server {
  public:
    Server(RuntimePtr runtime, RuntimeLoader reload);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds every listener; false with `error` set when one cannot be bound.
    bool bind(std::string& error);
    // Serves until a signal asks to stop and the drain is over. Returns the exit code.
    int run();

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mailgate::net
