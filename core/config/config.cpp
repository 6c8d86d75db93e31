#include "core/config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "core/config/proxy_protocol_config.hpp"
#include "core/config/reader.hpp"
#include "core/config/values.hpp"

namespace mailgate::config {
namespace {

using detail::assign;
using detail::countField;
using detail::Diagnostics;
using detail::domainField;
using detail::durationField;
using detail::endpointsField;
using detail::Entry;
using detail::enumField;
using detail::fail;
using detail::FieldReader;
using detail::missingKey;
using detail::readMap;
using detail::sizeField;
using detail::stringField;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMaxCount = std::numeric_limits<size_t>::max();

const detail::EnumNames<BareLineEndingPolicy> kBareLineEndings{
    {"reject", BareLineEndingPolicy::Reject},
    {"normalize", BareLineEndingPolicy::Normalize},
};
const detail::EnumNames<BackendType> kBackendTypes{
    {"smtp", BackendType::Smtp},
    {"lmtp", BackendType::Lmtp},
    {"maildir", BackendType::Maildir},
};
const detail::EnumNames<OnError> kOnError{
    {"tempfail", OnError::Tempfail},
    {"accept", OnError::Accept},
    {"reject", OnError::Reject},
};
const detail::EnumNames<RunOn> kRunOn{
    {"declared", RunOn::Declared},
    {"io_threads", RunOn::IoThreads},
    {"workers", RunOn::Workers},
};
const detail::EnumNames<ListenerTls> kListenerTls{
    {"starttls", ListenerTls::Starttls},
    {"implicit", ListenerTls::Implicit},
    {"none", ListenerTls::None},
};
const detail::EnumNames<TlsVersion> kTlsVersions{
    {"TLSv1", TlsVersion::Tls1_0},
    {"TLSv1.1", TlsVersion::Tls1_1},
    {"TLSv1.2", TlsVersion::Tls1_2},
    {"TLSv1.3", TlsVersion::Tls1_3},
};
const detail::EnumNames<BackendTls> kBackendTls{
    {"none", BackendTls::None},
    {"opportunistic", BackendTls::Opportunistic},
    {"required", BackendTls::Required},
};
const detail::EnumNames<Balance> kBalances{
    {"failover", Balance::Failover},
    {"round_robin", Balance::RoundRobin},
};
const detail::EnumNames<ForwardClient> kForwardClients{
    {"auto", ForwardClient::Auto},
    {"xclient", ForwardClient::Xclient},
    {"xforward", ForwardClient::Xforward},
    {"off", ForwardClient::Off},
};
const detail::EnumNames<LmtpMultiRecipient> kLmtpMultiRecipients{
    {"split", LmtpMultiRecipient::Split},
    {"merge", LmtpMultiRecipient::Merge},
};
const detail::EnumNames<LogLevel> kLogLevels{
    {"debug", LogLevel::Debug},
    {"info", LogLevel::Info},
    {"warning", LogLevel::Warning},
    {"error", LogLevel::Error},
};
const detail::EnumNames<LogFormat> kLogFormats{
    {"text", LogFormat::Text},
    {"json", LogFormat::Json},
};

std::optional<Endpoint> endpointValue(Diagnostics& diag, const Entry& entry) {
    std::optional<std::string> text = detail::stringValue(diag, entry, "host:port");
    if (!text) {
        return std::nullopt;
    }
    Endpoint endpoint;
    if (std::string problem = detail::endpointProblem(*text, endpoint); !problem.empty()) {
        fail(diag, entry, "invalid endpoint '" + *text + "': " + problem);
        return std::nullopt;
    }
    return endpoint;
}

// One server.listen item: "host:port", or {address: "host:port", tls: ..., require_tls: ...}.
std::optional<Listener> listenerValue(Diagnostics& diag, const Entry& entry) {
    if (entry.node.IsScalar()) {
        auto endpoint = endpointValue(diag, entry);
        if (!endpoint) {
            return std::nullopt;
        }
        Listener listener;
        static_cast<Endpoint&>(listener) = *endpoint;
        return listener;
    }
    if (!entry.node.IsMap()) {
        fail(diag, entry,
             "expected host:port or a map with address, tls and require_tls, got " +
                 detail::describe(entry.node));
        return std::nullopt;
    }
    Listener listener;
    bool valid = true;
    auto read = readMap(diag, entry,
                        {
                            {"address",
                             [&](const Entry& value) {
                                 auto endpoint = endpointValue(diag, value);
                                 valid = valid && endpoint.has_value();
                                 if (endpoint) {
                                     static_cast<Endpoint&>(listener) = *endpoint;
                                 }
                             }},
                            {"tls", enumField(diag, listener.tls, kListenerTls)},
                            {"require_tls", detail::boolField(diag, listener.require_tls)},
                        });
    if (!read.contains("address")) {
        missingKey(diag, entry, "address", "required");
        return std::nullopt;
    }
    if (listener.require_tls && listener.tls == ListenerTls::None) {
        fail(diag, read.at("require_tls"), "needs tls: starttls or tls: implicit");
        valid = false;
    }
    return valid ? std::optional<Listener>(listener) : std::nullopt;
}

// server.listen: one "host:port" or a non-empty list of listeners. `tls_entries` gets the
// entries of listeners that need server.tls, checked once the whole section is read.
void readListeners(Diagnostics& diag, const Entry& entry, std::vector<Listener>& listeners,
                   std::vector<Entry>& tls_entries) {
    std::vector<Entry> items;
    if (entry.node.IsScalar()) {
        items.push_back(entry);
    } else if (entry.node.IsSequence()) {
        for (size_t i = 0; i < entry.node.size(); ++i) {
            items.push_back(entry.item(i, entry.node[i]));
        }
    } else {
        fail(diag, entry,
             "expected host:port or a list of them, got " + detail::describe(entry.node));
        return;
    }
    if (items.empty()) {
        fail(diag, entry, "expected at least one host:port");
        return;
    }
    std::vector<Listener> read;
    for (const Entry& item : items) {
        if (auto listener = listenerValue(diag, item)) {
            if (listener->tls == ListenerTls::Implicit || listener->require_tls) {
                tls_entries.push_back(item);
            }
            read.push_back(std::move(*listener));
        }
    }
    if (read.size() == items.size()) {
        listeners = std::move(read);
    }
}

bool isSniName(const std::string& name) {
    return detail::isDomainName(name) ||
           (name.starts_with("*.") && detail::isDomainName(std::string_view(name).substr(2)));
}

// cert and key (both required) of server.tls or of one server.tls.certificates item.
void readCertificateFiles(Diagnostics& diag, const Entry& entry,
                          const std::map<std::string, Entry>& read,
                          CertificateConfig& certificate) {
    certificate.key_path = entry.path;
    for (const char* key : {"cert", "key"}) {
        if (!read.contains(key)) {
            missingKey(diag, entry, key, "required (a PEM file)");
        }
    }
}

FieldReader pathWithMark(Diagnostics& diag, std::filesystem::path& target, YAML::Mark& mark,
                         std::string_view expected) {
    return [&diag, &target, &mark, expected](const Entry& value) {
        mark = value.mark;
        assign(target, detail::stringValue(diag, value, expected));
    };
}

CertificateConfig readCertificate(Diagnostics& diag, const Entry& entry) {
    CertificateConfig certificate;
    if (!entry.node.IsMap()) {
        fail(diag, entry,
             "expected a map with cert, key and names, got " + detail::describe(entry.node));
        return certificate;
    }
    auto names = [&](const Entry& value) {
        std::vector<Entry> items;
        if (value.node.IsScalar()) {
            items.push_back(value);
        } else if (value.node.IsSequence() && value.node.size() > 0) {
            for (size_t i = 0; i < value.node.size(); ++i) {
                items.push_back(value.item(i, value.node[i]));
            }
        } else {
            fail(diag, value, "expected a host name or a list of them");
        }
        for (const Entry& item : items) {
            auto name = detail::stringValue(diag, item, "a host name");
            if (name && !isSniName(*name)) {
                fail(diag, item,
                     "'" + *name + "' is not a host name (a wildcard is written *.example.org)");
            } else if (name) {
                certificate.names.push_back(*name);
            }
        }
    };
    auto read = readMap(diag, entry,
                        {
                            {"cert", pathWithMark(diag, certificate.cert, certificate.cert_mark,
                                                  "a path to a PEM file")},
                            {"key", pathWithMark(diag, certificate.key, certificate.key_mark,
                                                 "a path to a PEM file")},
                            {"names", names},
                        });
    readCertificateFiles(diag, entry, read, certificate);
    return certificate;
}

void readServerTls(Diagnostics& diag, const Entry& entry, ServerTlsConfig& tls) {
    if (entry.node.IsNull()) {
        return;
    }
    auto certificates = [&](const Entry& value) {
        if (!value.node.IsSequence()) {
            fail(diag, value, "expected a list of {cert, key, names}");
            return;
        }
        for (size_t i = 0; i < value.node.size(); ++i) {
            tls.certificates.push_back(readCertificate(diag, value.item(i, value.node[i])));
        }
    };
    auto cipherList = [&](std::string& target, YAML::Mark& mark) -> FieldReader {
        return [&diag, &target, &mark](const Entry& value) {
            mark = value.mark;
            assign(target, detail::stringValue(diag, value, "an OpenSSL cipher list"));
        };
    };
    auto read =
        readMap(diag, entry,
                {
                    {"cert", pathWithMark(diag, tls.certificate.cert, tls.certificate.cert_mark,
                                          "a path to a PEM file")},
                    {"key", pathWithMark(diag, tls.certificate.key, tls.certificate.key_mark,
                                         "a path to a PEM file")},
                    {"certificates", certificates},
                    {"min_version", enumField(diag, tls.min_version, kTlsVersions)},
                    {"ciphers", cipherList(tls.ciphers, tls.ciphers_mark)},
                    {"ciphersuites", cipherList(tls.ciphersuites, tls.ciphersuites_mark)},
                    {"handshake_timeout", durationField(diag, tls.handshake_timeout, false)},
                });
    if (entry.node.IsMap()) {
        tls.enabled = true;
        readCertificateFiles(diag, entry, read, tls.certificate);
    }
}

// Returns true when the server section names its own host name.
bool readServer(Diagnostics& diag, const Entry& entry, ServerConfig& server,
                detail::ProxyProtocolRead& proxy_read) {
    auto proxy = [&](const Entry& value) {
        detail::readProxyProtocol(diag, value, server.proxy_protocol, proxy_read);
    };
    std::vector<Entry> tls_listeners;
    auto read = readMap(
        diag, entry,
        {
            {"listen",
             [&](const Entry& value) { readListeners(diag, value, server.listen, tls_listeners); }},
            {"hostname", domainField(diag, server.hostname)},
            {"threads", countField(diag, server.threads, 0, 256)},
            {"backlog", countField(diag, server.backlog, 1, 65535)},
            {"proxy_protocol", proxy},
            {"tls", [&](const Entry& value) { readServerTls(diag, value, server.tls); }},
        });
    if (!server.tls.enabled) {
        for (const Entry& listener : tls_listeners) {
            fail(diag, listener, "tls: implicit and require_tls need a certificate (server.tls)");
        }
    }
    return read.contains("hostname");
}

// Big messages go there mid-transaction: a missing or read-only folder is a config error now,
// not a 451 for every big message later.
void checkWritableFolder(Diagnostics& diag, const Entry& entry, const std::filesystem::path& dir) {
    if (dir.empty()) {
        return;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        fail(diag, entry, "'" + dir.string() + "' is not an existing folder");
    } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        fail(diag, entry, "'" + dir.string() + "' is not writable");
    }
}

void readLimits(Diagnostics& diag, const Entry& entry, LimitsConfig& limits) {
    auto& rate_window = limits.connection_rate_window;
    readMap(diag, entry,
            {
                {"max_message_size", sizeField(diag, limits.max_message_size, 1, kNoLimit)},
                {"max_recipients", countField(diag, limits.max_recipients, 1, kMaxCount)},
                {"max_errors", countField(diag, limits.max_errors, 1, kMaxCount)},
                {"max_command_line", sizeField(diag, limits.max_command_line, 512, 64 * kKiB)},
                {"max_text_line", sizeField(diag, limits.max_text_line, 1000, kMiB)},
                {"max_connections", countField(diag, limits.max_connections, 1, kMaxCount)},
                {"max_connections_per_ip",
                 countField(diag, limits.max_connections_per_ip, 1, kMaxCount)},
                {"max_connection_rate_per_ip",
                 countField(diag, limits.max_connection_rate_per_ip, 0, 1000000)},
                {"connection_rate_window", durationField(diag, rate_window, false)},
                {"ipv6_prefix_length", countField(diag, limits.ipv6_prefix_length, 16, 128)},
                {"greeting_delay", durationField(diag, limits.greeting_delay, true)},
                {"command_timeout", durationField(diag, limits.command_timeout, false)},
                {"data_timeout", durationField(diag, limits.data_timeout, false)},
                {"shutdown_timeout", durationField(diag, limits.shutdown_timeout, true)},
                {"bare_line_endings", enumField(diag, limits.bare_line_endings, kBareLineEndings)},
                {"spill_threshold", sizeField(diag, limits.spill_threshold, 64 * kKiB, kNoLimit)},
                {"spill_directory",
                 [&](const Entry& value) {
                     assign(limits.spill_directory,
                            detail::stringValue(diag, value, "a folder path"));
                     checkWritableFolder(diag, value, limits.spill_directory);
                 }},
            });
}

// Servers belong to smtp and lmtp, a path to maildir; each is required by its own type.
void checkBackendType(Diagnostics& diag, const Entry& entry, const BackendConfig& backend,
                      const std::map<std::string, Entry>& read) {
    const bool maildir = backend.type == BackendType::Maildir;
    const std::string type = maildir                             ? "maildir"
                             : backend.type == BackendType::Lmtp ? "lmtp"
                                                                 : "smtp";
    const std::string key = entry.path.empty() ? "backend" : entry.path;
    auto servers = read.find("servers");
    auto path = read.find("path");
    if (!maildir && path != read.end()) {
        fail(diag, path->second, "only used when " + key + ".type is maildir");
    }
    if (maildir && servers != read.end()) {
        fail(diag, servers->second, "only used when " + key + ".type is smtp or lmtp");
    }
    if (auto lmtp = read.find("lmtp_multi_recipient");
        lmtp != read.end() && backend.type != BackendType::Lmtp) {
        fail(diag, lmtp->second, "only used when " + key + ".type is lmtp");
    }
    if (!maildir && servers == read.end()) {
        std::string byDefault = read.contains("type") ? "" : " (the default)";
        missingKey(diag, entry, "servers", "required when " + key + ".type is " + type + byDefault);
    } else if (maildir && path == read.end()) {
        missingKey(diag, entry, "path", "required when " + key + ".type is maildir");
    }
}

// Returns true when the backend section names its own HELO name.
bool readBackend(Diagnostics& diag, const Entry& entry, BackendConfig& backend) {
    bool typeValid = true;
    auto readType = [&](const Entry& value) {
        auto type = detail::enumValue(diag, value, kBackendTypes);
        typeValid = type.has_value();
        assign(backend.type, type);
    };
    auto read =
        readMap(diag, entry,
                {
                    {"type", readType},
                    {"servers", detail::endpointsField(diag, backend.servers, true)},
                    {"helo_name", domainField(diag, backend.helo_name)},
                    {"connect_timeout", durationField(diag, backend.connect_timeout, false)},
                    {"command_timeout", durationField(diag, backend.command_timeout, false)},
                    {"data_timeout", durationField(diag, backend.data_timeout, false)},
                    {"balance", enumField(diag, backend.balance, kBalances)},
                    {"retry_delay", durationField(diag, backend.retry_delay, true)},
                    {"forward_client", enumField(diag, backend.forward_client, kForwardClients)},
                    {"max_messages_per_connection",
                     countField(diag, backend.max_messages_per_connection, 0, 1000000)},
                    {"max_connection_age", durationField(diag, backend.max_connection_age, true)},
                    {"lmtp_multi_recipient",
                     enumField(diag, backend.lmtp_multi_recipient, kLmtpMultiRecipients)},
                    {"path", stringField(diag, backend.path, "a folder path")},
                    {"tls", enumField(diag, backend.tls, kBackendTls)},
                    {"ca_file", pathWithMark(diag, backend.ca_file, backend.ca_file_mark,
                                             "a path to a PEM file of CA certificates")},
                    {"expected_name",
                     [&](const Entry& value) {
                         auto name = detail::stringValue(diag, value, "a host name");
                         Endpoint probe;
                         if (name && !detail::isDomainName(*name) &&
                             !detail::endpointProblem(*name + ":25", probe).empty() &&
                             !detail::endpointProblem("[" + *name + "]:25", probe).empty()) {
                             fail(diag, value, "'" + *name + "' is not a host name or address");
                             return;
                         }
                         assign(backend.expected_name, name);
                     }},
                });
    if (typeValid && (entry.node.IsMap() || entry.node.IsNull())) {
        checkBackendType(diag, entry, backend, read);
    }
    const std::string key = entry.path.empty() ? "backend" : entry.path;
    for (const char* name : {"ca_file", "expected_name"}) {
        if (read.contains(name) && backend.tls == BackendTls::None) {
            fail(diag, read.at(name),
                 "only used when " + key + ".tls is opportunistic or required");
        }
    }
    if (read.contains("tls") && backend.type == BackendType::Maildir &&
        backend.tls != BackendTls::None) {
        fail(diag, read.at("tls"), "only used when " + key + ".type is smtp or lmtp");
    }
    if (read.contains("tls") && backend.tls != BackendTls::None) {
        // STARTTLS to a local unix socket would protect nothing, and there is no name to check.
        for (const Endpoint& server : backend.servers) {
            if (server.isUnix()) {
                fail(diag, read.at("tls"),
                     "TLS is only for TCP servers, but " + key + ".servers has " +
                         server.toString() + " (use tls: none for a unix socket)");
                break;
            }
        }
    }
    return read.contains("helo_name");
}

// auth.dovecot_socket: an absolute path that fits in a unix socket address.
FieldReader dovecotSocketField(Diagnostics& diag, std::filesystem::path& target) {
    return [&diag, &target](const Entry& value) {
        auto path = detail::stringValue(diag, value, "the path of Dovecot's auth-client socket");
        if (path && (!path->starts_with('/') || path->size() > 107)) {
            fail(diag, value, "'" + *path + "' is not an absolute path of at most 107 characters");
            return;
        }
        assign(target, path);
    };
}

void readAuth(Diagnostics& diag, const Entry& entry, AuthConfig& auth) {
    auto read = readMap(diag, entry,
                        {
                            {"users_file", pathWithMark(diag, auth.users_file, auth.users_file_mark,
                                                        "a path to a users file")},
                            {"dovecot_socket", dovecotSocketField(diag, auth.dovecot_socket)},
                            {"dovecot_timeout", durationField(diag, auth.dovecot_timeout, false)},
                            {"allow_plaintext", detail::boolField(diag, auth.allow_plaintext)},
                            {"max_failures", countField(diag, auth.max_failures, 1, 1000000)},
                            {"failure_window", durationField(diag, auth.failure_window, false)},
                            {"failure_delay", durationField(diag, auth.failure_delay, true)},
                        });
    if (!entry.node.IsMap()) {
        return;
    }
    auth.enabled = true;
    const bool users = read.contains("users_file");
    const bool dovecot = read.contains("dovecot_socket");
    if (!users && !dovecot) {
        missingKey(diag, entry, "users_file",
                   "required (or dovecot_socket, to ask Dovecot instead)");
    } else if (users && dovecot) {
        fail(diag, read.at("dovecot_socket"),
             "not together with auth.users_file: give one of them");
    }
    if (read.contains("dovecot_timeout") && !dovecot) {
        fail(diag, read.at("dovecot_timeout"), "only used with auth.dovecot_socket");
    }
}

// A route domain: a domain name, or a leading dot and a domain name (its subdomains).
std::optional<std::string> routeDomain(Diagnostics& diag, const Entry& entry) {
    auto text = detail::stringValue(diag, entry, "a domain name or .domain");
    if (!text) {
        return std::nullopt;
    }
    const std::string_view name = std::string_view(*text).substr(text->starts_with('.') ? 1 : 0);
    if (!detail::isDomainName(name)) {
        fail(diag, entry,
             "'" + *text +
                 "' is not a domain name (write example.org for the domain, .example.org for "
                 "its subdomains)");
        return std::nullopt;
    }
    std::string lower = *text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower;
}

// Each route: domains (a non-empty list) and its own backend (the same keys as `backend`).
void readRoutes(Diagnostics& diag, const Entry& entry, std::vector<RouteConfig>& routes) {
    if (entry.node.IsNull()) {
        return;
    }
    if (!entry.node.IsSequence()) {
        fail(diag, entry, "expected a list of routes, each with domains and backend");
        return;
    }
    std::map<std::string, std::string> seen;  // domain -> the route that has it
    for (size_t i = 0; i < entry.node.size(); ++i) {
        const Entry item = entry.item(i, entry.node[i]);
        RouteConfig route;
        bool heloGiven = false;
        auto read = readMap(
            diag, item,
            {
                {"domains",
                 [&](const Entry& value) {
                     std::vector<Entry> names;
                     if (value.node.IsScalar()) {
                         names.push_back(value);
                     } else if (value.node.IsSequence()) {
                         for (size_t j = 0; j < value.node.size(); ++j) {
                             names.push_back(value.item(j, value.node[j]));
                         }
                     } else {
                         fail(diag, value, "expected a list of domain names");
                         return;
                     }
                     if (names.empty()) {
                         fail(diag, value, "expected at least one domain");
                     }
                     for (const Entry& name : names) {
                         auto domain = routeDomain(diag, name);
                         if (!domain) {
                             continue;
                         }
                         auto [where, fresh] = seen.emplace(*domain, item.path);
                         if (!fresh) {
                             fail(diag, name,
                                  "'" + *domain + "' is already routed by " + where->second);
                             continue;
                         }
                         route.domains.push_back(*domain);
                     }
                 }},
                {"backend",
                 [&](const Entry& value) { heloGiven = readBackend(diag, value, route.backend); }},
            });
        if (item.node.IsMap() || item.node.IsNull()) {
            if (!read.contains("domains")) {
                missingKey(diag, item, "domains", "required");
            }
            if (!read.contains("backend")) {
                missingKey(diag, item, "backend", "required");
            }
        }
        if (!heloGiven) {
            route.backend.helo_name.clear();  // server.hostname, filled in by readDocument
        }
        routes.push_back(std::move(route));
    }
}

void readLog(Diagnostics& diag, const Entry& entry, LogConfig& log) {
    readMap(diag, entry,
            {
                {"level", enumField(diag, log.level, kLogLevels)},
                {"format", enumField(diag, log.format, kLogFormats)},
            });
}

// One address, not a list: the endpoint serves a single port.
void readMetrics(Diagnostics& diag, const Entry& entry, MetricsConfig& metrics) {
    auto read = readMap(diag, entry,
                        {
                            {"listen",
                             [&](const Entry& value) {
                                 if (!value.node.IsScalar()) {
                                     fail(diag, value, "expected one host:port");
                                     return;
                                 }
                                 auto endpoints = detail::endpointsValue(diag, value);
                                 if (endpoints) {
                                     metrics.listen = endpoints->front();
                                 }
                             }},
                        });
    if ((entry.node.IsMap() || entry.node.IsNull()) && !read.contains("listen")) {
        missingKey(diag, entry, "listen", "required to enable the metrics endpoint");
    }
}

bool isPluginName(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

PluginConfig readPlugin(Diagnostics& diag, const Entry& entry) {
    PluginConfig plugin;
    plugin.mark = entry.mark;
    auto read = readMap(
        diag, entry,
        {
            {"name",
             [&](const Entry& value) {
                 auto name = detail::stringValue(diag, value, "a plugin name");
                 if (name && !isPluginName(*name)) {
                     fail(diag, value,
                          "'" + *name +
                              "' is not a valid plugin name (lowercase letters, digits and '_')");
                 }
                 assign(plugin.name, name);
             }},
            {"path",
             [&](const Entry& value) {
                 auto path = detail::stringValue(diag, value, "a path to a .so file");
                 plugin.path_given = path.has_value();
                 assign(plugin.path, path);
             }},
            // Shared, not cloned: a clone loses the source marks plugin errors are located by.
            {"config", [&](const Entry& value) { plugin.config = value.node; }},
            {"timeout", durationField(diag, plugin.timeout, false)},
            {"on_error", enumField(diag, plugin.on_error, kOnError)},
            {"run_on", enumField(diag, plugin.run_on, kRunOn)},
        });
    if ((entry.node.IsMap() || entry.node.IsNull()) && !read.contains("name")) {
        missingKey(diag, entry, "name", "required");
    }
    return plugin;
}

void readPlugins(Diagnostics& diag, const Entry& entry, std::vector<PluginConfig>& plugins) {
    if (entry.node.IsNull()) {
        return;
    }
    if (!entry.node.IsSequence()) {
        fail(diag, entry, "expected a list of plugins");
        return;
    }
    for (size_t i = 0; i < entry.node.size(); ++i) {
        plugins.push_back(readPlugin(diag, entry.item(i, entry.node[i])));
    }
}

// The machine's host name, or "" after reporting why it cannot stand in for server.hostname.
std::string machineHostname(Diagnostics& diag) {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) {
        diag.error(YAML::Mark::null_mark(),
                   std::string("server.hostname is not set and this machine's host name cannot "
                               "be read (") +
                       std::strerror(errno) + "); set server.hostname");
        return "";
    }
    if (!detail::isDomainName(name)) {
        diag.error(YAML::Mark::null_mark(),
                   std::string("server.hostname is not set and this machine's host name '") + name +
                       "' is not a valid domain name; set server.hostname");
        return "";
    }
    return name;
}

void readDocument(Diagnostics& diag, const YAML::Node& root, Config& config) {
    Entry entry = Entry::root(root);
    bool hostnameGiven = false;
    detail::ProxyProtocolRead proxyRead;
    bool heloGiven = false;
    auto read = readMap(
        diag, entry,
        {
            {"server",
             [&](const Entry& value) {
                 hostnameGiven = readServer(diag, value, config.server, proxyRead);
             }},
            {"limits", [&](const Entry& value) { readLimits(diag, value, config.limits); }},
            {"backend",
             [&](const Entry& value) { heloGiven = readBackend(diag, value, config.backend); }},
            {"auth", [&](const Entry& value) { readAuth(diag, value, config.auth); }},
            {"routes", [&](const Entry& value) { readRoutes(diag, value, config.routes); }},
            {"plugin_dir", stringField(diag, config.plugin_dir, "a folder path")},
            {"plugins", [&](const Entry& value) { readPlugins(diag, value, config.plugins); }},
            {"plugin_workers", countField(diag, config.plugin_workers, 1, 1024)},
            {"quarantine",
             [&](const Entry& value) {
                 readMap(diag, value,
                         {{"path", [&](const Entry& path) {
                               assign(config.quarantine.path,
                                      detail::stringValue(diag, path, "a Maildir folder path"));
                               checkWritableFolder(diag, path, config.quarantine.path);
                           }}});
             }},
            {"log", [&](const Entry& value) { readLog(diag, value, config.log); }},
            {"metrics", [&](const Entry& value) { readMetrics(diag, value, config.metrics); }},
        });
    if ((root.IsMap() || root.IsNull()) && !read.contains("backend")) {
        diag.error(entry.keyMark, "missing required section 'backend'");
    }
    if (config.server.listen.empty()) {
        Listener listener;
        listener.host = "127.0.0.1";
        listener.port = 2525;
        config.server.listen.push_back(std::move(listener));
    }
    detail::checkProxyListeners(diag, proxyRead, config.server);
    if (!hostnameGiven) {
        config.server.hostname = machineHostname(diag);
    }
    if (!heloGiven) {
        config.backend.helo_name = config.server.hostname;
    }
    for (auto& route : config.routes) {
        if (route.backend.helo_name.empty()) {
            route.backend.helo_name = config.server.hostname;
        }
    }
}

}  // namespace

std::string Listener::describe() const {
    std::string text = toString();
    if (tls == ListenerTls::Implicit) {
        text += " (tls: implicit)";
    } else if (tls == ListenerTls::None) {
        text += " (tls: none)";
    }
    if (require_tls) {
        text += " (require_tls)";
    }
    return text;
}

std::string ConfigError::toString() const {
    if (line == 0) {
        return file + ": " + message;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult loadConfigText(const std::string& text, const std::string& file) {
    LoadResult result;
    result.config.file = file;
    Diagnostics diag(file);
    try {
        std::vector<YAML::Node> documents = YAML::LoadAll(text);
        if (documents.size() > 1) {
            diag.error(documents[1].Mark(),
                       "expected one YAML document, found " + std::to_string(documents.size()));
        }
        readDocument(diag, documents.empty() ? YAML::Node() : documents.front(), result.config);
    } catch (const YAML::ParserException& e) {
        diag.error(e.mark, "YAML syntax error: " + e.msg);
    } catch (const YAML::Exception& e) {
        diag.error(e.mark, "cannot read the config: " + e.msg);
    } catch (const std::exception& e) {
        diag.error(YAML::Mark::null_mark(), std::string("cannot read the config: ") + e.what());
    }
    result.errors = diag.take();
    return result;
}

LoadResult loadConfigFile(const std::filesystem::path& file) {
    auto failed = [&](const std::string& why) {
        LoadResult result;
        result.config.file = file;
        result.errors.push_back(ConfigError{file.string(), 0, 0, "cannot read the config: " + why});
        return result;
    };
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
        return failed("it is a directory");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return failed(std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return failed(std::strerror(errno));
    }
    return loadConfigText(text.str(), file.string());
}

}  // namespace mailgate::config
