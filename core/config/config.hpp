#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace mailgate::config {

// A host:port to listen on or connect to. IPv6 addresses are written "[::1]:25". A backend
// server may also be a unix socket, written "unix:/path" (then `path` is set, not host/port).
struct Endpoint {
    std::string host;
    uint16_t port = 0;
    std::string path;              // unix socket path; empty for TCP
    std::string toString() const;  // "127.0.0.1:25", "[::1]:25", "unix:/run/lmtp"
    bool isUnix() const { return !path.empty(); }
};

// An IP network: "10.0.0.0/8", "2001:db8::/32", or one address ("192.0.2.1" is a /32).
struct Network {
    std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4 octets
    bool v6 = false;
    unsigned prefix = 0;
    std::string text;  // as written, for logs
    // `address`: 4 (IPv4) or 16 (IPv6) octets in network order.
    bool contains(const uint8_t* address, bool address_v6) const;
};

// Listeners that expect a PROXY protocol header (HAProxy v1 or v2) from a load balancer.
struct ProxyProtocolConfig {
    std::vector<Endpoint> listeners;        // each one of server.listen; empty: none
    std::vector<Network> trusted_networks;  // the balancers; anyone else is refused
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // to receive the header
};

// How a listener speaks TLS: STARTTLS offered when a certificate is configured (the default),
// TLS from the first byte (port 465 style, RFC 8314), or never.
enum class ListenerTls { Starttls, Implicit, None };

// One server.listen entry: "host:port", or a map {address, tls, require_tls}.
struct Listener : Endpoint {
    ListenerTls tls = ListenerTls::Starttls;
    bool require_tls = false;      // MAIL before STARTTLS gets 530 5.7.0
    std::string describe() const;  // "127.0.0.1:465 (tls: implicit)"
};

enum class TlsVersion { Tls1_0, Tls1_1, Tls1_2, Tls1_3 };

// A certificate chain and its private key (PEM files). The marks locate errors found when the
// files are read, which happens after the YAML is loaded (core/net/tls_context.cpp).
struct CertificateConfig {
    std::filesystem::path cert;
    std::filesystem::path key;
    std::vector<std::string> names;  // SNI names; empty: the certificate's DNS SANs (or CN)
    std::string key_path;            // "server.tls" or "server.tls.certificates[1]"
    YAML::Mark cert_mark;
    YAML::Mark key_mark;
};

// Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only.
inline constexpr const char* kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
// OpenSSL's own TLS 1.3 default.
inline constexpr const char* kDefaultTlsCiphersuites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// server.tls: inbound TLS. Enabled when the section is given (cert and key are then required).
struct ServerTlsConfig {
    bool enabled = false;
    CertificateConfig certificate;                // server.tls.cert / server.tls.key: the default
    std::vector<CertificateConfig> certificates;  // more, chosen by SNI
    TlsVersion min_version = TlsVersion::Tls1_2;
    std::string ciphers = kDefaultTlsCiphers;            // TLS 1.2 and below
    std::string ciphersuites = kDefaultTlsCiphersuites;  // TLS 1.3
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(30)};
    YAML::Mark ciphers_mark;
    YAML::Mark ciphersuites_mark;
};

struct ServerConfig {
    std::vector<Listener> listen;  // default ["127.0.0.1:2525"]
    std::string hostname;          // default: the machine's host name
    unsigned threads = 0;          // 0 = one per core
    int backlog = 4096;
    ProxyProtocolConfig proxy_protocol;
    ServerTlsConfig tls;
};

enum class BareLineEndingPolicy { Reject, Normalize };

struct LimitsConfig {
    uint64_t max_message_size = 25ull * 1024 * 1024;
    size_t max_recipients = 100;
    size_t max_errors = 10;
    size_t max_command_line = 512;  // octets including CRLF
    size_t max_text_line = 1000;    // octets including CRLF
    size_t max_connections = 1000;
    size_t max_connections_per_ip = 50;     // sessions open at once from one client address
    size_t max_connection_rate_per_ip = 0;  // new connections per window; 0 = no limit
    std::chrono::milliseconds connection_rate_window{std::chrono::minutes(1)};
    unsigned ipv6_prefix_length = 64;  // IPv6 clients in one such network count as one address
    std::chrono::milliseconds greeting_delay{500};  // wait before 220 to catch early talkers
    std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds data_timeout{std::chrono::minutes(10)};
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(30)};
    BareLineEndingPolicy bare_line_endings = BareLineEndingPolicy::Reject;
    // Messages larger than this move from memory into an unlinked file in spill_directory
    // (empty: $TMPDIR or /tmp), so memory per connection stays bounded.
    uint64_t spill_threshold = 1024 * 1024;
    std::filesystem::path spill_directory;
};

enum class BackendType { Smtp, Lmtp, Maildir };

// How a group's servers are picked for a new connection.
enum class Balance { Failover, RoundRobin };

// How the backend learns the real client: Postfix's XCLIENT (once per connection) or XFORWARD
// (before each MAIL). auto: XCLIENT if offered, else XFORWARD if offered, else nothing.
enum class ForwardClient { Auto, Xclient, Xforward, Off };

// LMTP answers the final dot once per recipient; the SMTP client gets one reply. split: one
// recipient per transaction (later ones get 452 4.5.3), so each reply is exact. merge: several
// recipients, their replies merged into one (see docs/configuration.md).
enum class LmtpMultiRecipient { Split, Merge };

// backend.tls: none; STARTTLS when the backend offers it, without failing on verification;
// or STARTTLS required with the certificate verified (chain against ca_file, and the name).
enum class BackendTls { None, Opportunistic, Required };

struct BackendConfig {
    BackendType type = BackendType::Smtp;
    std::vector<Endpoint> servers;  // smtp, lmtp: in order (failover) or in turn (round_robin)
    std::string helo_name;          // default: server.hostname
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
    std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds data_timeout{std::chrono::minutes(10)};
    Balance balance = Balance::Failover;
    // A server that failed to connect or greet is skipped this long (unless all are down).
    std::chrono::milliseconds retry_delay{std::chrono::seconds(30)};
    ForwardClient forward_client = ForwardClient::Auto;
    size_t max_messages_per_connection = 100;                               // 0: no limit
    std::chrono::milliseconds max_connection_age{std::chrono::minutes(5)};  // 0: no limit
    LmtpMultiRecipient lmtp_multi_recipient = LmtpMultiRecipient::Split;
    std::filesystem::path path;  // maildir
    BackendTls tls = BackendTls::None;
    std::filesystem::path ca_file;  // empty: the system's trusted CAs
    std::string expected_name;      // empty: the host of each server as written in servers
    YAML::Mark ca_file_mark;
};

// What happens when a plugin's hook fails: throws, times out, or returns no valid verdict.
enum class OnError {
    Tempfail,  // 4xx at that stage: the client retries later (nothing is lost)
    Accept,    // skip the plugin, as if it had no opinion
    Reject,    // 5xx at that stage
};

// Where a plugin's hooks run: as the plugin declares (MG_PLUGIN_NONBLOCKING: I/O threads,
// otherwise the worker pool), or forced either way.
enum class RunOn { Declared, IoThreads, Workers };

// Mail for the listed recipient domains goes to its own backend group. "example.org" matches
// that domain only, ".example.org" every subdomain of it (not example.org itself).
struct RouteConfig {
    std::vector<std::string> domains;  // lowercase
    BackendConfig backend;
};

struct PluginConfig {
    std::string name;
    std::filesystem::path path;  // resolved: explicit path, or found in the plugin folder
    bool path_given = false;
    YAML::Node config;  // the plugin's own subtree (may be null)
    YAML::Mark mark;    // where the plugin entry starts, for error messages
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per hook call
    OnError on_error = OnError::Tempfail;
    RunOn run_on = RunOn::Declared;
};

// Messages a plugin quarantines go to this Maildir instead of the backend.
struct QuarantineConfig {
    std::filesystem::path path;  // empty: not configured (a quarantine verdict then tempfails)
};

// auth: SMTP AUTH (RFC 4954) PLAIN and LOGIN against a file of users with crypt(3) hashes, or
// delegated to Dovecot's auth socket (exactly one of the two).
struct AuthConfig {
    bool enabled = false;  // the section is given (users_file or dovecot_socket is then set)
    std::filesystem::path users_file;
    YAML::Mark users_file_mark;
    std::filesystem::path dovecot_socket;  // Dovecot's auth-client unix socket
    std::chrono::milliseconds dovecot_timeout{std::chrono::seconds(10)};  // per AUTH, in all
    bool allow_plaintext = false;  // offer AUTH without TLS too
    size_t max_failures = 5;       // failed attempts per client address within failure_window
    std::chrono::milliseconds failure_window{std::chrono::minutes(15)};
    std::chrono::milliseconds failure_delay{std::chrono::seconds(2)};  // before each 535
};

enum class LogLevel { Debug, Info, Warning, Error };

enum class LogFormat { Text, Json };

struct LogConfig {
    LogLevel level = LogLevel::Info;
    LogFormat format = LogFormat::Text;
};

// The Prometheus and health endpoint: off unless `listen` is set.
struct MetricsConfig {
    std::optional<Endpoint> listen;
};

struct Config {
    std::filesystem::path file;
    ServerConfig server;
    LimitsConfig limits;
    BackendConfig backend;            // the default route
    std::vector<RouteConfig> routes;  // checked in order before the default route
    AuthConfig auth;
    std::filesystem::path plugin_dir;  // empty: the default plugin folder
    std::vector<PluginConfig> plugins;
    unsigned plugin_workers = 8;  // threads for plugins that may block
    QuarantineConfig quarantine;
    LogConfig log;
    MetricsConfig metrics;
};

// One problem found in a config file, shown as FILE:LINE:COL: message.
struct ConfigError {
    std::string file;
    int line = 0;    // 1-based; 0 when unknown
    int column = 0;  // 1-based
    std::string message;
    std::string toString() const;
};

struct LoadResult {
    Config config;
    std::vector<ConfigError> errors;  // empty when the config is valid
    bool ok() const { return errors.empty(); }
};

// Reads and validates a config file. Never throws; every problem is collected in errors.
LoadResult loadConfigFile(const std::filesystem::path& file);
// The same from text, `file` naming it in errors.
LoadResult loadConfigText(const std::string& text, const std::string& file);

// "25MiB", "1000", "10KiB", "1GiB", "512B" -> bytes. Returns false when malformed.
bool parseSize(const std::string& text, uint64_t& bytes);
// "30s", "5m", "1h", "250ms", "0" -> duration. Returns false when malformed.
bool parseDuration(const std::string& text, std::chrono::milliseconds& duration);
// "127.0.0.1:25", "[::1]:2525", "localhost:25" -> Endpoint. Returns false when malformed.
bool parseEndpoint(const std::string& text, Endpoint& endpoint);
// "10.0.0.0/8", "::1" -> Network. Returns why it is malformed, or "" when it is not.
std::string parseNetwork(const std::string& text, Network& network);

}  // namespace mailgate::config
