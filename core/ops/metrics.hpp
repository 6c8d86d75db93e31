#pragma once

// The process's Prometheus metrics. Each event is one call here, from any I/O thread; a call
// costs one relaxed atomic increment (a histogram: two, and a scan of its bucket bounds). The
// metrics endpoint (metrics_server.cpp) reads them with render(). Every metric is documented in
// docs/operations.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailgate::ops::metrics {

// A configured limit that refused something; the label is the config key.
enum class Limit {
    MaxConnections,
    MaxConnectionsPerIp,
    MaxErrors,
    MaxMessageSize,
    MaxRecipients,
    ConnectionRate,
    AuthFailures,
};

// The backend command whose answer was waited for.
enum class BackendStep { MailFrom, RcptTo, Data };

// Why the backend could not give an answer of its own (the client got a 4xx made by mailgate).
enum class BackendError { Unavailable, Timeout, Lost, Protocol, Local };

// What /readyz reports: ready only between start-up and the SIGTERM drain.
enum class State { Starting, Ready, Draining };

void connectionAccepted();           // every TCP connection accepted, refused by a limit or not
void sessionStarted();               // a session runs (gauge up) ...
void sessionEnded();                 // ... and ended (gauge down)
void bytesReceived(uint64_t bytes);  // read from a client socket
// One finished transaction, with the outcome of its summary log line.
void messageFinished(std::string_view outcome, size_t recipients, uint64_t bytes);
// One plugin hook call: `stage` is a filter::Stage, `verdict` an mg_verdict.
void pluginVerdict(std::string_view plugin, int stage, int verdict,
                   std::chrono::steady_clock::duration elapsed);
void limitHit(Limit limit);
void backendError(BackendError error);
void backendLatency(BackendStep step, std::chrono::steady_clock::duration elapsed);
void tlsHandshake(bool succeeded);
void authAttempt(bool succeeded);  // an AUTH exchange that got to checking the credentials
void authUnavailable();            // ... that got 454: the credentials could not be checked
void configReload(bool succeeded);

void setState(State state);
State state();

// The metrics in the Prometheus text exposition format 0.0.4.
std::string render();

// Measures from construction; for the hook and backend timings.
class Stopwatch {
  public:
    std::chrono::steady_clock::duration elapsed() const {
        return std::chrono::steady_clock::now() - start_;
    }

  private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Records how long a backend command took, from construction to the end of the scope (a
// coroutine's co_return included): one line at the top of each backend method.
class BackendTimer {
  public:
    explicit BackendTimer(BackendStep step) : step_(step) {}
    ~BackendTimer() { backendLatency(step_, stopwatch_.elapsed()); }
    BackendTimer(const BackendTimer&) = delete;
    BackendTimer& operator=(const BackendTimer&) = delete;

  private:
    BackendStep step_;
    Stopwatch stopwatch_;
};

}  // namespace mailgate::ops::metrics
