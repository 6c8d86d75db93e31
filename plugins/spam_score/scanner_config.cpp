#include "scanner_config.hpp"

#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <set>

namespace mailgate::spam_score {
namespace {

constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::minutes(10);
constexpr std::uint64_t kMaxMaxSize = 1024ull * 1024 * 1024;

bool validName(const std::string& name) {
    return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

bool validPrefix(const std::string& prefix) {
    return prefix.size() <= 16 && std::all_of(prefix.begin(), prefix.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
                      c == '.' || c == '-';
           });
}

void readType(YamlReader& reader, const YAML::Node& node, const std::string& path,
              ScannerConfig& scanner) {
    const YAML::Node type = node["type"];
    if (!type) {
        reader.error(childPath(path, "type"), "needs a type (spamd or rspamd)", node);
        return;
    }
    const auto text = reader.string(type, childPath(path, "type"));
    if (text == "spamd") {
        scanner.type = ScannerType::Spamd;
    } else if (text == "rspamd") {
        scanner.type = ScannerType::Rspamd;
    } else if (text) {
        reader.error(childPath(path, "type"), "must be spamd or rspamd", type);
    }
    scanner.name = scanner.type == ScannerType::Spamd ? "SPAMD" : "RSPAMD";
    scanner.symbol_prefix = scanner.type == ScannerType::Spamd ? "SA:" : "RS:";
}

void readAddress(YamlReader& reader, const YAML::Node& node, const std::string& path,
                 ScannerConfig& scanner) {
    const YAML::Node address = node["address"];
    if (!address) {
        reader.error(childPath(path, "address"), "needs an address (host:port)", node);
        return;
    }
    if (const auto text = reader.string(address, childPath(path, "address"))) {
        scanner.address = *text;
        if (std::string problem = resolveAddress(*text, scanner.addresses); !problem.empty()) {
            reader.error(childPath(path, "address"), problem, address);
        }
    }
}

void readNames(YamlReader& reader, const YAML::Node& node, const std::string& path,
               ScannerConfig& scanner) {
    if (const YAML::Node name = node["name"]) {
        const auto text = reader.string(name, childPath(path, "name"));
        if (text && !validName(*text)) {
            reader.error(childPath(path, "name"), "must be 1 to 32 letters, digits or _", name);
        } else if (text) {
            scanner.name = *text;
        }
    }
    if (const YAML::Node prefix = node["symbol_prefix"]) {
        const auto text = reader.string(prefix, childPath(path, "symbol_prefix"));
        if (text && !validPrefix(*text)) {
            reader.error(childPath(path, "symbol_prefix"),
                         "must be at most 16 letters, digits or _ : . -", prefix);
        } else if (text) {
            scanner.symbol_prefix = *text;
        }
    }
}

void readLimits(YamlReader& reader, const YAML::Node& node, const std::string& path,
                ScannerConfig& scanner) {
    if (const YAML::Node timeout = node["timeout"]) {
        const auto text = reader.string(timeout, childPath(path, "timeout"));
        const auto value = text ? parseDuration(*text) : std::nullopt;
        if (text && (!value || value->count() <= 0 || *value > kMaxTimeout)) {
            reader.error(childPath(path, "timeout"),
                         "must be a duration above 0 and at most 10m (\"500ms\", \"10s\", \"1m\")",
                         timeout);
        } else if (value) {
            scanner.timeout = *value;
        }
    }
    if (const YAML::Node weight = node["weight"]) {
        const auto value = reader.number(weight, childPath(path, "weight"));
        if (value && (*value < 0 || *value > 100)) {
            reader.error(childPath(path, "weight"), "must be from 0 to 100", weight);
        } else if (value) {
            scanner.weight = *value;
        }
    }
    if (const YAML::Node max_size = node["max_size"]) {
        const auto value = reader.size(max_size, childPath(path, "max_size"));
        if (value && (*value < 1024 || *value > kMaxMaxSize)) {
            reader.error(childPath(path, "max_size"), "must be from 1KB to 1GB", max_size);
        } else if (value) {
            scanner.max_size = *value;
        }
    }
}

void readPolicy(YamlReader& reader, const YAML::Node& node, const std::string& path,
                ScannerConfig& scanner) {
    if (const YAML::Node on_failure = node["on_failure"]) {
        const auto text = reader.string(on_failure, childPath(path, "on_failure"));
        if (text == "ignore") {
            scanner.on_failure = OnFailure::Ignore;
        } else if (text == "tempfail") {
            scanner.on_failure = OnFailure::Tempfail;
        } else if (text) {
            reader.error(childPath(path, "on_failure"), "must be ignore or tempfail", on_failure);
        }
    }
    for (const char* key : {"envelope", "follow_action"}) {
        const YAML::Node value = node[key];
        if (!value) {
            continue;
        }
        if (scanner.type != ScannerType::Rspamd) {
            reader.error(childPath(path, key), "is only for type rspamd", value);
            continue;
        }
        if (const auto flag = reader.boolean(value, childPath(path, key))) {
            (std::strcmp(key, "envelope") == 0 ? scanner.envelope : scanner.follow_action) = *flag;
        }
    }
}

}  // namespace

std::string_view scannerTypeName(ScannerType type) {
    return type == ScannerType::Spamd ? "spamd" : "rspamd";
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() || value > 24ull * 3600 * 1000) {
        return std::nullopt;
    }
    const std::string_view unit = text.substr(static_cast<std::size_t>(end - text.data()));
    std::uint64_t factor = 0;
    if (unit == "ms") {
        factor = 1;
    } else if (unit == "s") {
        factor = 1000;
    } else if (unit == "m") {
        factor = 60 * 1000;
    } else {
        return std::nullopt;
    }
    return std::chrono::milliseconds(value * factor);
}

std::string resolveAddress(const std::string& text, std::vector<SocketAddress>& out) {
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find("]:");
        if (close == std::string::npos) {
            return "must be host:port or [IPv6]:port";
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) {
            return "must be host:port or [IPv6]:port";
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
        number == 0 || number > 65535) {
        return "must be host:port or [IPv6]:port with a port from 1 to 65535";
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int error = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0) {
        return "cannot resolve " + host + ": " + ::gai_strerror(error);
    }
    for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
        if (entry->ai_addrlen > sizeof(sockaddr_storage)) {
            continue;
        }
        SocketAddress address;
        std::memcpy(&address.storage, entry->ai_addr, entry->ai_addrlen);
        address.length = entry->ai_addrlen;
        char name[NI_MAXHOST] = {};
        ::getnameinfo(entry->ai_addr, entry->ai_addrlen, name, sizeof name, nullptr, 0,
                      NI_NUMERICHOST);
        const bool v6 = entry->ai_family == AF_INET6;
        address.text = (v6 ? "[" : "") + std::string(name) + (v6 ? "]:" : ":") + port;
        out.push_back(std::move(address));
    }
    ::freeaddrinfo(found);
    return out.empty() ? "no address found for " + host : "";
}

void readScanners(YamlReader& reader, const YAML::Node& node, std::vector<ScannerConfig>& out) {
    if (!node.IsSequence()) {
        reader.error("scanners", "must be a list of scanners", node);
        return;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < node.size(); ++i) {
        const YAML::Node& entry = node[i];
        const std::string path = indexPath("scanners", i);
        if (!reader.checkMap(entry, path,
                             {"type", "address", "name", "symbol_prefix", "timeout", "on_failure",
                              "weight", "max_size", "envelope", "follow_action"})) {
            continue;
        }
        ScannerConfig scanner;
        readType(reader, entry, path, scanner);
        readAddress(reader, entry, path, scanner);
        readNames(reader, entry, path, scanner);
        readLimits(reader, entry, path, scanner);
        readPolicy(reader, entry, path, scanner);
        if (!names.insert(scanner.name).second) {
            reader.error(
                childPath(path, "name"),
                "another scanner already has the name " + scanner.name + " (set a different name)",
                entry["name"] ? entry["name"] : entry);
        }
        out.push_back(std::move(scanner));
    }
}

}  // namespace mailgate::spam_score
