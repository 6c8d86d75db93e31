#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/config/config.hpp"
#include "core/net/connection_rate.hpp"
#include "core/net/per_client_limit.hpp"

namespace mailgate::net {

// The per-address limits a new session must pass, shared by all I/O threads:
// limits.max_connections_per_ip and limits.max_connection_rate_per_ip, counted per client key
// (see client_key.hpp).
class Admission {
  public:
    // Takes a slot for `key`; returns "" on success, or the reason to refuse (the text of the
    // 421 4.7.0 reply). A slot taken must be given back with release().
    std::string admit(const std::string& key, const config::LimitsConfig& limits);
    void release(const std::string& key) { per_client_.release(key); }

  private:
    void warnRateTableFull();

    PerClientLimit per_client_;
    ConnectionRate rate_;
    std::atomic<int64_t> rate_table_warned_{-60};  // steady seconds of the last warning
};

}  // namespace mailgate::net
