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

// Returns true when the server section names its own host name.
bool readServer(Diagnostics& diag, const Entry& entry, ServerConfig& server,
                detail::ProxyProtocolRead& proxy_read) {
    auto proxy = [&](const Entry& value) {
        detail::readProxyProtocol(diag, value, server.proxy_protocol, proxy_read);
    };
    auto read = readMap(diag, entry,
                        {
                            {"listen", endpointsField(diag, server.listen)},
                            {"hostname", domainField(diag, server.hostname)},
                            {"threads", countField(diag, server.threads, 0, 256)},
                            {"backlog", countField(diag, server.backlog, 1, 65535)},
                            {"proxy_protocol", proxy},
                        });
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
                });
    if (typeValid && (entry.node.IsMap() || entry.node.IsNull())) {
        checkBackendType(diag, entry, backend, read);
    }
    return read.contains("helo_name");
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
        config.server.listen.push_back(Endpoint{"127.0.0.1", 2525, {}});
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
