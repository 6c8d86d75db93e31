#include "core/ops/metrics.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "core/filter/stage.hpp"

namespace mailgate::ops::metrics {
namespace {

using Counter = std::atomic<uint64_t>;
using std::chrono::nanoseconds;

void bump(Counter& counter, uint64_t by = 1) {
    counter.fetch_add(by, std::memory_order_relaxed);
}

uint64_t read(const Counter& counter) {
    return counter.load(std::memory_order_relaxed);
}

// Bucket bounds in nanoseconds, with their `le` label as written.
struct Bound {
    uint64_t nanos;
    const char* text;
};

constexpr std::array<Bound, 12> kHookBounds{{{10'000, "0.00001"},
                                             {50'000, "0.00005"},
                                             {100'000, "0.0001"},
                                             {500'000, "0.0005"},
                                             {1'000'000, "0.001"},
                                             {5'000'000, "0.005"},
                                             {10'000'000, "0.01"},
                                             {50'000'000, "0.05"},
                                             {100'000'000, "0.1"},
                                             {500'000'000, "0.5"},
                                             {1'000'000'000, "1"},
                                             {5'000'000'000, "5"}}};

constexpr std::array<Bound, 12> kBackendBounds{{{1'000'000, "0.001"},
                                                {5'000'000, "0.005"},
                                                {10'000'000, "0.01"},
                                                {25'000'000, "0.025"},
                                                {50'000'000, "0.05"},
                                                {100'000'000, "0.1"},
                                                {250'000'000, "0.25"},
                                                {500'000'000, "0.5"},
                                                {1'000'000'000, "1"},
                                                {2'500'000'000, "2.5"},
                                                {10'000'000'000, "10"},
                                                {60'000'000'000, "60"}}};

// Per-bucket (not cumulative) counts, the last one for +Inf; render() accumulates them.
template <size_t N>
class Histogram {
  public:
    void observe(const std::array<Bound, N>& bounds, nanoseconds elapsed) {
        const uint64_t nanos = elapsed.count() > 0 ? static_cast<uint64_t>(elapsed.count()) : 0;
        size_t bucket = 0;
        while (bucket < N && nanos > bounds[bucket].nanos) {
            ++bucket;
        }
        bump(buckets_[bucket]);
        bump(sum_nanos_, nanos);
    }

    uint64_t count() const {
        uint64_t total = 0;
        for (const auto& bucket : buckets_) {
            total += read(bucket);
        }
        return total;
    }

    void render(std::string& out, std::string_view name, const std::string& labels,
                const std::array<Bound, N>& bounds) const;

  private:
    std::array<Counter, N + 1> buckets_{};
    Counter sum_nanos_{0};
};

constexpr size_t kStages = 12;    // filter::Stage values, with room for stages added later
constexpr size_t kVerdicts = 10;  // the mg_verdict values MG_CONTINUE..MG_ERROR, then "other"

const char* verdictName(size_t verdict) {
    static constexpr std::array<const char*, kVerdicts> kNames{
        "continue",   "accept",  "reject",     "tempfail", "discard",
        "disconnect", "pending", "quarantine", "error",    "other"};
    return kNames[verdict];
}

struct PluginMetrics {
    explicit PluginMetrics(std::string name_in) : name(std::move(name_in)) {}
    const std::string name;
    std::array<std::array<Counter, kVerdicts>, kStages> verdicts{};
    std::array<Histogram<kHookBounds.size()>, kStages> latency{};
};

const std::array<std::string_view, 8> kOutcomes{"accepted",  "rejected",    "tempfailed",
                                                "discarded", "quarantined", "aborted",
                                                "timeout",   "reset"};
const std::array<const char*, 7> kLimitNames{
    "max_connections", "max_connections_per_ip",     "max_errors",       "max_message_size",
    "max_recipients",  "max_connection_rate_per_ip", "auth.max_failures"};
const std::array<const char*, 3> kStepNames{"mail_from", "rcpt_to", "data"};
const std::array<const char*, 5> kBackendErrorNames{"unavailable", "timeout", "lost", "protocol",
                                                    "local"};

struct Registry {
    Counter connections;
    std::atomic<int64_t> sessions_open{0};
    alignas(64) Counter bytes_received;  // bumped on every read: a cache line of its own
    // By outcome; the last counts an outcome not listed.
    alignas(64) std::array<Counter, kOutcomes.size() + 1> messages{};
    Counter message_recipients;
    Counter message_bytes;
    std::array<Counter, kLimitNames.size()> limits{};
    std::array<Counter, kBackendErrorNames.size()> backend_errors{};
    std::array<Histogram<kBackendBounds.size()>, kStepNames.size()> backend_latency{};
    std::array<Counter, 2> tls_handshakes{};  // success, failure
    std::array<Counter, 3> auth_attempts{};   // success, failure, unavailable
    std::array<Counter, 2> reloads{};         // success, failure
    std::atomic<State> state{State::Starting};

    // Plugins by name, created at a plugin's first hook call and never removed (a reload keeps
    // its counters); a deque, so the addresses cached by the I/O threads stay valid.
    std::mutex plugins_mutex;
    std::deque<PluginMetrics> plugins;
};

Registry& registry() {
    static Registry instance;
    return instance;
}

PluginMetrics& pluginMetrics(std::string_view name) {
    // Each thread remembers the plugins it has seen: the lock is taken once per plugin and thread.
    thread_local std::vector<PluginMetrics*> seen;
    for (PluginMetrics* plugin : seen) {
        if (plugin->name == name) {
            return *plugin;
        }
    }
    Registry& r = registry();
    const std::lock_guard lock(r.plugins_mutex);
    PluginMetrics* found = nullptr;
    for (auto& plugin : r.plugins) {
        if (plugin.name == name) {
            found = &plugin;
        }
    }
    if (found == nullptr) {
        found = &r.plugins.emplace_back(std::string(name));
    }
    seen.push_back(found);
    return *found;
}

// --- the text format ---------------------------------------------------------------------------

void appendLabelValue(std::string& out, std::string_view value) {
    for (const char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void header(std::string& out, std::string_view name, const char* type, const char* help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, const std::string& labels, uint64_t value) {
    out.append(name);
    if (!labels.empty()) {
        out.append("{").append(labels).append("}");
    }
    out.append(" ").append(std::to_string(value)).append("\n");
}

std::string label(std::string_view key, std::string_view value) {
    std::string text(key);
    text += "=\"";
    appendLabelValue(text, value);
    text += '"';
    return text;
}

std::string seconds(uint64_t nanos) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9f", static_cast<double>(nanos) / 1e9);
    return text;
}

template <size_t N>
void Histogram<N>::render(std::string& out, std::string_view name, const std::string& labels,
                          const std::array<Bound, N>& bounds) const {
    const std::string prefix = labels.empty() ? "" : labels + ",";
    const std::string bucket_name = std::string(name) + "_bucket";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < N; ++i) {
        cumulative += read(buckets_[i]);
        sample(out, bucket_name, prefix + label("le", bounds[i].text), cumulative);
    }
    cumulative += read(buckets_[N]);
    sample(out, bucket_name, prefix + label("le", "+Inf"), cumulative);
    out.append(name).append("_sum");
    if (!labels.empty()) {
        out.append("{").append(labels).append("}");
    }
    out.append(" ").append(seconds(read(sum_nanos_))).append("\n");
    sample(out, std::string(name) + "_count", labels, cumulative);
}

void renderPlugins(std::string& out, Registry& r) {
    const std::lock_guard lock(r.plugins_mutex);
    header(out, "mailgate_plugin_verdicts_total", "counter",
           "Verdicts returned by each plugin hook, by plugin, stage and verdict.");
    for (const auto& plugin : r.plugins) {
        for (size_t stage = 0; stage < kStages; ++stage) {
            for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
                const uint64_t value = read(plugin.verdicts[stage][verdict]);
                if (value > 0) {
                    sample(
                        out, "mailgate_plugin_verdicts_total",
                        label("plugin", plugin.name) + "," +
                            label("stage", filter::stageName(static_cast<filter::Stage>(stage))) +
                            "," + label("verdict", verdictName(verdict)),
                        value);
                }
            }
        }
    }
    header(out, "mailgate_plugin_hook_duration_seconds", "histogram",
           "Time spent in each plugin hook, by plugin and stage.");
    for (const auto& plugin : r.plugins) {
        for (size_t stage = 0; stage < kStages; ++stage) {
            if (plugin.latency[stage].count() > 0) {
                plugin.latency[stage].render(
                    out, "mailgate_plugin_hook_duration_seconds",
                    label("plugin", plugin.name) + "," +
                        label("stage", filter::stageName(static_cast<filter::Stage>(stage))),
                    kHookBounds);
            }
        }
    }
}

}  // namespace

void connectionAccepted() {
    bump(registry().connections);
}

void sessionStarted() {
    registry().sessions_open.fetch_add(1, std::memory_order_relaxed);
}

void sessionEnded() {
    registry().sessions_open.fetch_sub(1, std::memory_order_relaxed);
}

void bytesReceived(uint64_t bytes) {
    bump(registry().bytes_received, bytes);
}

void messageFinished(std::string_view outcome, size_t recipients, uint64_t bytes) {
    Registry& r = registry();
    size_t index = 0;
    while (index < kOutcomes.size() && kOutcomes[index] != outcome) {
        ++index;
    }
    bump(r.messages[index]);
    bump(r.message_recipients, recipients);
    bump(r.message_bytes, bytes);
}

void pluginVerdict(std::string_view plugin, int stage, int verdict,
                   std::chrono::steady_clock::duration elapsed) {
    if (stage < 0 || static_cast<size_t>(stage) >= kStages) {
        return;
    }
    const size_t verdict_index =
        verdict >= 0 && static_cast<size_t>(verdict) < kVerdicts - 1 ? verdict : kVerdicts - 1;
    PluginMetrics& metrics = pluginMetrics(plugin);
    bump(metrics.verdicts[stage][verdict_index]);
    metrics.latency[stage].observe(kHookBounds, std::chrono::duration_cast<nanoseconds>(elapsed));
}

void limitHit(Limit limit) {
    bump(registry().limits[static_cast<size_t>(limit)]);
}

void backendError(BackendError error) {
    bump(registry().backend_errors[static_cast<size_t>(error)]);
}

void backendLatency(BackendStep step, std::chrono::steady_clock::duration elapsed) {
    registry().backend_latency[static_cast<size_t>(step)].observe(
        kBackendBounds, std::chrono::duration_cast<nanoseconds>(elapsed));
}

void tlsHandshake(bool succeeded) {
    bump(registry().tls_handshakes[succeeded ? 0 : 1]);
}

void authAttempt(bool succeeded) {
    bump(registry().auth_attempts[succeeded ? 0 : 1]);
}

void authUnavailable() {
    bump(registry().auth_attempts[2]);
}

void configReload(bool succeeded) {
    bump(registry().reloads[succeeded ? 0 : 1]);
}

void setState(State state) {
    registry().state.store(state);
}

State state() {
    return registry().state.load();
}

std::string render() {
    Registry& r = registry();
    std::string out;
    out.reserve(8192);
    header(out, "mailgate_build_info", "gauge", "Always 1; the version is a label.");
    sample(out, "mailgate_build_info", label("version", MAILGATE_VERSION), 1);
    header(out, "mailgate_ready", "gauge",
           "1 while mailgate accepts connections (what /readyz reports), 0 while starting or "
           "draining.");
    sample(out, "mailgate_ready", "", state() == State::Ready ? 1 : 0);
    header(out, "mailgate_connections_total", "counter",
           "TCP connections accepted, including those then refused by a connection limit.");
    sample(out, "mailgate_connections_total", "", read(r.connections));
    header(out, "mailgate_connections_open", "gauge", "SMTP sessions open now.");
    const int64_t open = r.sessions_open.load(std::memory_order_relaxed);
    sample(out, "mailgate_connections_open", "", open > 0 ? static_cast<uint64_t>(open) : 0);
    header(out, "mailgate_received_bytes_total", "counter",
           "Bytes read from client connections (commands and message data).");
    sample(out, "mailgate_received_bytes_total", "", read(r.bytes_received));
    header(out, "mailgate_messages_total", "counter",
           "Finished transactions by outcome, as in the summary log line.");
    for (size_t i = 0; i < kOutcomes.size(); ++i) {
        sample(out, "mailgate_messages_total", label("outcome", kOutcomes[i]), read(r.messages[i]));
    }
    sample(out, "mailgate_messages_total", label("outcome", "other"),
           read(r.messages[kOutcomes.size()]));
    header(out, "mailgate_message_recipients_total", "counter",
           "Recipients of the finished transactions counted in mailgate_messages_total.");
    sample(out, "mailgate_message_recipients_total", "", read(r.message_recipients));
    header(out, "mailgate_message_bytes_total", "counter",
           "Message sizes (after dot-unstuffing) of the finished transactions.");
    sample(out, "mailgate_message_bytes_total", "", read(r.message_bytes));
    header(out, "mailgate_limit_hits_total", "counter",
           "Connections, commands or messages refused by a configured limit, by limit.");
    for (size_t i = 0; i < kLimitNames.size(); ++i) {
        sample(out, "mailgate_limit_hits_total", label("limit", kLimitNames[i]), read(r.limits[i]));
    }
    renderPlugins(out, r);
    header(out, "mailgate_backend_duration_seconds", "histogram",
           "Time from sending a command to the backend to its answer, by step.");
    for (size_t i = 0; i < kStepNames.size(); ++i) {
        r.backend_latency[i].render(out, "mailgate_backend_duration_seconds",
                                    label("step", kStepNames[i]), kBackendBounds);
    }
    header(out, "mailgate_backend_errors_total", "counter",
           "Backend failures answered with a 4xx made by mailgate, by kind.");
    for (size_t i = 0; i < kBackendErrorNames.size(); ++i) {
        sample(out, "mailgate_backend_errors_total", label("kind", kBackendErrorNames[i]),
               read(r.backend_errors[i]));
    }
    header(out, "mailgate_tls_handshakes_total", "counter", "TLS handshakes with clients.");
    sample(out, "mailgate_tls_handshakes_total", label("result", "success"),
           read(r.tls_handshakes[0]));
    sample(out, "mailgate_tls_handshakes_total", label("result", "failure"),
           read(r.tls_handshakes[1]));
    header(out, "mailgate_auth_attempts_total", "counter", "SMTP AUTH attempts, by result.");
    sample(out, "mailgate_auth_attempts_total", label("result", "success"),
           read(r.auth_attempts[0]));
    sample(out, "mailgate_auth_attempts_total", label("result", "failure"),
           read(r.auth_attempts[1]));
    sample(out, "mailgate_auth_attempts_total", label("result", "unavailable"),
           read(r.auth_attempts[2]));
    header(out, "mailgate_config_reloads_total", "counter", "SIGHUP reloads, by result.");
    sample(out, "mailgate_config_reloads_total", label("result", "success"), read(r.reloads[0]));
    sample(out, "mailgate_config_reloads_total", label("result", "failure"), read(r.reloads[1]));
    return out;
}

}  // namespace mailgate::ops::metrics
