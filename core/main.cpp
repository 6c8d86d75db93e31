// mailgate: the command line. Run the gateway, check a config, or print the version.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "core/auth/users.hpp"
#include "core/cli/policy_test.hpp"
#include "core/config/config.hpp"
#include "core/filter/chain.hpp"
#include "core/filter/plugin_call.hpp"
#include "core/net/server.hpp"
#include "core/net/tls_context.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics_server.hpp"
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
        "       mailgate test --config FILE --from ADDR --rcpt ADDR [--rcpt ADDR...]\n"
        "                     [--client-ip IP] [--helo NAME] MESSAGE.eml\n"
        "                                     run the plugin chain on one message, offline\n"
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

// Plugins stuck in a hook past the drain cannot be unloaded under their feet: leave at once
// instead, without running the destructors that would unload them.
int exitAfterPluginCalls(int code, std::chrono::milliseconds wait) {
    if (!filter::stopWorkerPool(wait)) {
        ops::logError("plugin calls still running after " + std::to_string(wait.count()) +
                      " ms; exiting without unloading the plugins");
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(code);
    }
    return code;
}

// What a configuration file loads: the config, its certificates and its plugins.
struct Loaded {
    config::Config config;
    plugin::PluginList plugins;
    net::TlsContexts tls;
    std::shared_ptr<const auth::Users> users;
};

// Loads the config, its certificates and its plugins; every error becomes one
// "FILE:LINE:COL: message" line.
bool loadEverything(const std::string& file, Loaded& loaded, std::string& error_lines) {
    config::LoadResult result = config::loadConfigFile(file);
    std::vector<config::ConfigError> errors = std::move(result.errors);
    if (errors.empty()) {
        loaded.tls = net::loadTls(result.config, errors);
        loaded.users = auth::loadUsers(result.config, errors);
    }
    if (errors.empty()) {
        loaded.plugins = plugin::loadPlugins(result.config, errors);
    }
    for (const auto& error : errors) {
        error_lines += error.toString() + "\n";
    }
    loaded.config = std::move(result.config);
    return errors.empty();
}

bool loadEverything(const std::string& file, Loaded& loaded) {
    std::string error_lines;
    const bool ok = loadEverything(file, loaded, error_lines);
    std::fputs(error_lines.c_str(), stderr);
    return ok;
}

// What SIGHUP runs: the same file, loaded and checked again from scratch.
net::RuntimePtr reloadRuntime(const std::string& file, std::string& errors) {
    Loaded loaded;
    if (!loadEverything(file, loaded, errors)) {
        return nullptr;
    }
    ops::setLogLevel(toOpsLevel(loaded.config.log.level));
    return std::make_shared<net::Runtime>(std::move(loaded.config), std::move(loaded.plugins),
                                          std::move(loaded.tls), std::move(loaded.users));
}

int checkConfig(const std::string& file) {
    Loaded loaded;
    if (!loadEverything(file, loaded)) {
        return kExitConfigError;
    }
    const plugin::PluginList& plugins = loaded.plugins;
    if (plugins.empty()) {
        std::fprintf(stderr,
                     "%s: warning: no plugins: every recipient will be refused (550 5.7.1)\n",
                     file.c_str());
    }
    std::printf("%s: ok (%zu plugins loaded)\n", file.c_str(), plugins.size());
    return kExitOk;
}

int runGateway(const std::string& file) {
    Loaded loaded;
    if (!loadEverything(file, loaded)) {
        std::fprintf(stderr, "mailgate: not started: configuration errors above\n");
        return kExitConfigError;
    }
    ops::setLogLevel(toOpsLevel(loaded.config.log.level));
    ops::setLogFormat(loaded.config.log.format == config::LogFormat::Json ? ops::LogFormat::Json
                                                                          : ops::LogFormat::Text);
    std::signal(SIGPIPE, SIG_IGN);
    filter::startWorkerPool(loaded.config.plugin_workers);
    const auto drain_time = loaded.config.limits.shutdown_timeout;
    const std::optional<config::Endpoint> metrics_listen = loaded.config.metrics.listen;
    auto runtime =
        std::make_shared<net::Runtime>(std::move(loaded.config), std::move(loaded.plugins),
                                       std::move(loaded.tls), std::move(loaded.users));
    net::Server server(std::move(runtime),
                       [file](std::string& errors) { return reloadRuntime(file, errors); });
    std::string error;
    if (!server.bind(error)) {
        ops::logError(error);
        return exitAfterPluginCalls(kExitConfigError, drain_time);
    }
    // Started after the SMTP listeners are bound and before they accept: /readyz says 503
    // until the server is ready, and stays up through the drain to say so.
    ops::MetricsServer metrics;
    if (metrics_listen && !metrics.start(*metrics_listen, error)) {
        ops::logError(error);
        return exitAfterPluginCalls(kExitConfigError, drain_time);
    }
    const int status = server.run();
    metrics.stop();
    return exitAfterPluginCalls(status, drain_time);
}

// mailgate test: parses its options, then runs the chain on one message without network.
int policyTest(int argc, char** argv) {
    cli::PolicyTestInput input;
    std::string file;
    for (int i = 2; i < argc; ++i) {
        const std::string option = argv[i];
        const bool has_value = i + 1 < argc;
        if (option == "--config" && has_value) {
            file = argv[++i];
        } else if (option == "--from" && has_value) {
            input.mail_from = argv[++i];
        } else if (option == "--rcpt" && has_value) {
            input.rcpts.emplace_back(argv[++i]);
        } else if (option == "--client-ip" && has_value) {
            input.client_ip = argv[++i];
        } else if (option == "--helo" && has_value) {
            input.helo = argv[++i];
        } else if (!option.starts_with("--") && input.message_file.empty()) {
            input.message_file = option;
        } else {
            std::fprintf(stderr, "mailgate test: unexpected argument '%s'\n", option.c_str());
            printUsage(stderr);
            return kExitUsage;
        }
    }
    if (file.empty() || input.rcpts.empty() || input.message_file.empty()) {
        std::fprintf(stderr,
                     "mailgate test: --config, at least one --rcpt and a message file "
                     "are required\n");
        printUsage(stderr);
        return kExitUsage;
    }
    Loaded loaded;
    if (!loadEverything(file, loaded)) {
        return kExitConfigError;
    }
    std::string output;
    const auto wait = loaded.config.limits.shutdown_timeout;
    filter::startWorkerPool(loaded.config.plugin_workers);
    const int result = cli::runPolicyTest(loaded.config, std::move(loaded.plugins), input, output);
    std::fputs(output.c_str(), stdout);
    return exitAfterPluginCalls(result, wait);
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
    if (argc >= 2 && std::strcmp(argv[1], "test") == 0) {
        return policyTest(argc, argv);
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
