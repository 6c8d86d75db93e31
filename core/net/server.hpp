#pragma once

#include <memory>
#include <string>

#include "core/config/config.hpp"
#include "core/filter/chain.hpp"

namespace mailgate::net {

// The listening side: binds the configured addresses, spreads connections over one
// single-threaded io_context per core, and drains gracefully on SIGTERM/SIGINT.
class Server {
  public:
    Server(const config::Config& config, const filter::FilterChain& chain);
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
