#include "core/net/admission.hpp"

#include <chrono>

#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::net {

std::string Admission::admit(const std::string& key, const config::LimitsConfig& limits) {
    if (!per_client_.tryAcquire(key, limits.max_connections_per_ip)) {
        ops::metrics::limitHit(ops::metrics::Limit::MaxConnectionsPerIp);
        ops::logInfo("too many connections from " + key + ", refused");
        return "Too many connections from your address";
    }
    const ConnectionRate::Verdict rate =
        rate_.tryAcquire(key, limits.max_connection_rate_per_ip, limits.connection_rate_window);
    if (rate == ConnectionRate::Verdict::Refused) {
        per_client_.release(key);
        ops::metrics::limitHit(ops::metrics::Limit::ConnectionRate);
        ops::logInfo("connection rate limit exceeded by " + key + ", refused");
        return "Connection rate limit exceeded for your address";
    }
    if (rate == ConnectionRate::Verdict::Untracked) {
        warnRateTableFull();
    }
    return "";
}

// At most once a minute, so a flood of new addresses does not flood the log as well.
void Admission::warnRateTableFull() {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = rate_table_warned_.load();
    if (now - last >= 60 && rate_table_warned_.compare_exchange_strong(last, now)) {
        ops::logWarning("connection rate table full (" +
                        std::to_string(ConnectionRate::kDefaultMaxEntries) +
                        " addresses): new addresses are let in without a rate limit");
    }
}

}  // namespace mailgate::net
