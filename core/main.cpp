// mailgate: the command line. Run the gateway, check a config, or print the version.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "core/config/config.hpp"
#include "core/filter/chain.hpp"
#include "core/net/server.hpp"
#include "core/ops/log.hpp"
#include "core/plugin/plugin_loader.hpp"

namespace {

using namespace mailgate;

constexpr int kExitOk = 0;
constexpr int kExitConfigError = 1;
constexpr int kExitUsage = 2;

void printUsage(std::FILE* out) {
    std::fputs(
        "usage: mailgate --config FILE        run the gateway in the foreground (logs to stderr)\n"
        "       mailgate --check-config FILE  validate FILE and its plugins, then exit\n"
        "       mailgate --version            print the version\n"
        "       mailgate --help               print this text\n",
        out);
}

ops::LogLevel toOpsLevel(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::Debug:
            return ops::LogLevel::Debug;
        case config::LogLevel::Warning:
            return ops::LogLevel::Warning;
        case config::LogLevel::Error:
            return ops::LogLevel::Error;
        case config::LogLevel::Info:
            break;
    }
    return ops::LogLevel::Info;
}

// Loads the config and its plugins; prints every error as FILE:LINE:COL: message.
bool loadEverything(const std::string& file, config::Config& config, plugin::PluginList& plugins) {
    config::LoadResult result = config::loadConfigFile(file);
    std::vector<config::ConfigError> errors = std::move(result.errors);
    if (errors.empty()) {
        plugins = plugin::loadPlugins(result.config, errors);
    }
    for (const auto& error : errors) {
        std::fprintf(stderr, "%s\n", error.toString().c_str());
    }
    config = std::move(result.config);
    return errors.empty();
}

int checkConfig(const std::string& file) {
    config::Config config;
    plugin::PluginList plugins;
    if (!loadEverything(file, config, plugins)) {
        return kExitConfigError;
    }
    if (plugins.empty()) {
        std::fprintf(stderr,
                     "%s: warning: no plugins: every recipient will be refused (550 5.7.1)\n",
                     file.c_str());
    }
    std::printf("%s: ok (%zu plugins loaded)\n", file.c_str(), plugins.size());
    return kExitOk;
}

int runGateway(const std::string& file) {
    config::Config config;
    plugin::PluginList plugins;
    if (!loadEverything(file, config, plugins)) {
        std::fprintf(stderr, "mailgate: not started: configuration errors above\n");
        return kExitConfigError;
    }
    ops::setLogLevel(toOpsLevel(config.log.level));
    std::signal(SIGPIPE, SIG_IGN);
    const filter::FilterChain chain(std::move(plugins));
    net::Server server(config, chain);
    std::string error;
    if (!server.bind(error)) {
        ops::logError(error);
        return kExitConfigError;
    }
    return server.run();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && (std::strcmp(argv[1], "--version") == 0)) {
        std::printf("mailgate %s\n", MAILGATE_VERSION);
        return kExitOk;
    }
    if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        printUsage(stdout);
        return kExitOk;
    }
    if (argc == 3 && std::strcmp(argv[1], "--config") == 0) {
        return runGateway(argv[2]);
    }
    if (argc == 3 && std::strcmp(argv[1], "--check-config") == 0) {
        return checkConfig(argv[2]);
    }
    printUsage(stderr);
    return kExitUsage;
}
