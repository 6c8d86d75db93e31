#include "core/plugin/plugin_loader.hpp"

#include <dlfcn.h>

#include <cstring>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "core/plugin/config_path.hpp"
#include "core/plugin/host_api.hpp"
#include "core/plugin/load_context.hpp"

namespace mailgate::plugin {
namespace {

// The part of the descriptor every ABI 1.x plugin has: up to and including `destroy`.
constexpr size_t kMinimumDescriptorSize = offsetof(mg_plugin_descriptor, on_connect);

std::string versionText(uint32_t version) {
    return std::to_string(version >> 16) + "." + std::to_string(version & 0xffff);
}

config::ConfigError errorAt(const config::Config& config, const YAML::Mark& mark,
                            const std::string& message) {
    config::ConfigError error;
    error.file = config.file.string();
    if (!mark.is_null()) {
        error.line = mark.line + 1;
        error.column = mark.column + 1;
    }
    error.message = message;
    return error;
}

std::filesystem::path resolvePath(const config::Config& config, const config::PluginConfig& entry,
                                  std::string& tried) {
    if (entry.path_given) {
        tried = entry.path.string();
        return entry.path;
    }
    for (const auto& candidate : pluginSearchPath(config, entry.name)) {
        if (!tried.empty()) {
            tried += ", ";
        }
        tried += candidate.string();
        std::error_code ignored;
        if (std::filesystem::exists(candidate, ignored)) {
            return candidate;
        }
    }
    return {};
}

std::string yamlText(const YAML::Node& node) {
    if (!node || node.IsNull()) {
        return {};
    }
    YAML::Emitter out;
    out << node;
    return out.c_str();
}

std::unique_ptr<LoadedPlugin> loadOne(const config::Config& config,
                                      const config::PluginConfig& entry,
                                      std::vector<config::ConfigError>& errors) {
    const std::string prefix = "plugin '" + entry.name + "': ";
    std::string tried;
    const std::filesystem::path path = resolvePath(config, entry, tried);
    if (path.empty()) {
        errors.push_back(
            errorAt(config, entry.mark, prefix + "not found (looked for " + tried + ")"));
        return nullptr;
    }
    auto library = std::make_unique<boost::dll::shared_library>();
    boost::dll::fs::error_code load_error;
    library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                  load_error);
    if (load_error) {
        // Boost.DLL reports only an errno; the dynamic loader says what is wrong.
        // Absolute, so dlopen does not search the system library path for a bare file name.
        const std::string absolute = std::filesystem::absolute(path).string();
        void* probe = dlopen(absolute.c_str(), RTLD_NOW | RTLD_LOCAL);
        const char* detail = probe == nullptr ? dlerror() : nullptr;
        if (probe != nullptr) {
            dlclose(probe);
        }
        errors.push_back(errorAt(config, entry.mark,
                                 prefix + "cannot load " + path.string() + ": " +
                                     (detail != nullptr ? detail : load_error.message())));
        return nullptr;
    }
    if (!library->has(MAILGATE_PLUGIN_ENTRY_SYMBOL)) {
        errors.push_back(errorAt(config, entry.mark,
                                 prefix + path.string() + " does not export " +
                                     MAILGATE_PLUGIN_ENTRY_SYMBOL + " (not a mailgate plugin?)"));
        return nullptr;
    }
    auto entry_fn = library->get<const mg_plugin_descriptor*()>(MAILGATE_PLUGIN_ENTRY_SYMBOL);
    const mg_plugin_descriptor* exported = entry_fn();
    if (exported == nullptr) {
        errors.push_back(errorAt(config, entry.mark, prefix + "entry returned no descriptor"));
        return nullptr;
    }
    if (const std::string reason = checkAbi(*exported); !reason.empty()) {
        errors.push_back(errorAt(config, entry.mark, prefix + path.string() + ": " + reason));
        return nullptr;
    }
    mg_plugin_descriptor descriptor;
    std::memset(&descriptor, 0, sizeof descriptor);
    std::memcpy(&descriptor, exported, std::min<size_t>(exported->struct_size, sizeof descriptor));
    if (descriptor.create == nullptr) {
        errors.push_back(errorAt(config, entry.mark, prefix + "descriptor has no create function"));
        return nullptr;
    }
    mg_load_context load;
    const std::string text = yamlText(entry.config);
    void* instance = nullptr;
    try {
        const LoadingPluginScope naming(entry.name);
        instance = descriptor.create(hostTable(), &load, mg_str{text.data(), text.size()});
    } catch (...) {
        load.errors.push_back({"", "create() threw an exception"});
    }
    if (instance == nullptr && load.errors.empty()) {
        load.errors.push_back({"", "the plugin refused its configuration without a reason"});
    }
    for (const auto& error : load.errors) {
        const YAML::Mark mark = markAtPath(entry.config, error.path, entry.mark);
        const std::string where = error.path.empty() ? "" : error.path + ": ";
        errors.push_back(errorAt(config, mark, prefix + where + error.message));
    }
    if (!load.errors.empty()) {
        if (instance != nullptr && descriptor.destroy != nullptr) {
            descriptor.destroy(instance);
        }
        return nullptr;
    }
    return std::make_unique<LoadedPlugin>(entry.name, path, std::move(library), descriptor,
                                          instance,
                                          settingsFor(descriptor, exported->struct_size, entry));
}

}  // namespace

LoadedPlugin::LoadedPlugin(std::string name, std::filesystem::path path,
                           std::unique_ptr<boost::dll::shared_library> library,
                           const mg_plugin_descriptor& descriptor, void* instance,
                           PluginSettings settings)
    : name_(std::move(name)),
      path_(std::move(path)),
      library_(std::move(library)),
      descriptor_(descriptor),
      instance_(instance),
      settings_(settings) {}

PluginSettings settingsFor(const mg_plugin_descriptor& descriptor, uint32_t exported_size,
                           const config::PluginConfig& entry) {
    PluginSettings settings;
    settings.timeout = entry.timeout;
    settings.on_error = entry.on_error;
    const bool has_abi_1_2 =
        exported_size >= offsetof(mg_plugin_descriptor, flags) + sizeof(descriptor.flags);
    settings.knows_new_verdicts = has_abi_1_2;
    // Before 1.2 a plugin could add headers and nothing else, and said nothing about blocking;
    // a 1.2 plugin that declares no edits (an old source rebuilt) keeps that.
    settings.edits =
        has_abi_1_2 && descriptor.edits != 0 ? descriptor.edits : uint32_t{MG_EDIT_ADD_HEADER};
    const bool nonblocking = has_abi_1_2 && (descriptor.flags & MG_PLUGIN_NONBLOCKING) != 0;
    switch (entry.run_on) {
        case config::RunOn::Declared:
            settings.on_workers = !nonblocking;
            break;
        case config::RunOn::IoThreads:
            settings.on_workers = false;
            break;
        case config::RunOn::Workers:
            settings.on_workers = true;
            break;
    }
    return settings;
}

LoadedPlugin::~LoadedPlugin() {
    if (descriptor_.destroy != nullptr) {
        try {
            descriptor_.destroy(instance_);
        } catch (...) {
        }
    }
}

std::string checkAbi(const mg_plugin_descriptor& descriptor) {
    const uint32_t major = descriptor.abi_version >> 16;
    const uint32_t minor = descriptor.abi_version & 0xffff;
    if (major != MAILGATE_ABI_VERSION_MAJOR || minor > MAILGATE_ABI_VERSION_MINOR) {
        return "built for plugin ABI " + versionText(descriptor.abi_version) +
               ", but this mailgate provides ABI " + versionText(MAILGATE_ABI_VERSION) +
               " (same major, minor up to " + std::to_string(MAILGATE_ABI_VERSION_MINOR) + ")";
    }
    if (descriptor.struct_size < kMinimumDescriptorSize) {
        return "descriptor is too small (" + std::to_string(descriptor.struct_size) +
               " bytes, at least " + std::to_string(kMinimumDescriptorSize) + " expected)";
    }
    if (descriptor.struct_size > sizeof(mg_plugin_descriptor)) {
        return "descriptor is larger than this mailgate knows (" +
               std::to_string(descriptor.struct_size) + " > " +
               std::to_string(sizeof(mg_plugin_descriptor)) + " bytes) for the same ABI version";
    }
    return {};
}

std::vector<std::filesystem::path> pluginSearchPath(const config::Config& config,
                                                    const std::string& name) {
    const std::string file = name + ".so";
    if (!config.plugin_dir.empty()) {
        return {config.plugin_dir / file};
    }
    std::vector<std::filesystem::path> candidates;
    boost::dll::fs::error_code ignored;
    const auto program = boost::dll::program_location(ignored);
    if (!ignored) {
        const auto prefix = program.parent_path().parent_path();
        candidates.push_back(prefix / "plugins" / file);                       // the build tree
        candidates.push_back(prefix / "lib" / "mailgate" / "plugins" / file);  // an installed tree
    }
    candidates.push_back(std::filesystem::path(MAILGATE_INSTALL_PLUGIN_DIR) / file);
    return candidates;
}

PluginList loadPlugins(const config::Config& config, std::vector<config::ConfigError>& errors) {
    PluginList plugins;
    for (const auto& entry : config.plugins) {
        if (auto plugin = loadOne(config, entry, errors)) {
            plugins.push_back(std::move(plugin));
        }
    }
    return plugins;
}

}  // namespace mailgate::plugin
