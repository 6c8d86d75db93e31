#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <mailgate/plugin.h>

#include "core/config/config.hpp"

namespace boost::dll {
class shared_library;
}

namespace mailgate::plugin {

// How the host calls one plugin: from its descriptor and its entry in the config.
struct PluginSettings {
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    config::OnError on_error = config::OnError::Tempfail;
    bool on_workers = true;          // hooks run on the worker pool, not on the I/O threads
    uint32_t edits = 0;              // MG_EDIT_* the plugin declared
    bool knows_new_verdicts = true;  // built for ABI 1.2 or later: PENDING, QUARANTINE, ERROR
};

// One plugin loaded from its shared library, configured and ready to be called. Destroying it
// destroys the instance and then unloads the library.
class LoadedPlugin {
  public:
    LoadedPlugin(std::string name, std::filesystem::path path,
                 std::unique_ptr<boost::dll::shared_library> library,
                 const mg_plugin_descriptor& descriptor, void* instance,
                 PluginSettings settings = {});
    ~LoadedPlugin();
    LoadedPlugin(const LoadedPlugin&) = delete;
    LoadedPlugin& operator=(const LoadedPlugin&) = delete;

    const std::string& name() const { return name_; }
    const std::filesystem::path& path() const { return path_; }
    // The plugin's descriptor, copied and zero-filled to this host's size.
    const mg_plugin_descriptor& descriptor() const { return descriptor_; }
    void* instance() const { return instance_; }
    const PluginSettings& settings() const { return settings_; }

  private:
    std::string name_;
    std::filesystem::path path_;
    std::unique_ptr<boost::dll::shared_library> library_;
    mg_plugin_descriptor descriptor_;
    void* instance_;
    PluginSettings settings_;
};

// The settings for a plugin with this descriptor (as copied by the loader) and config entry.
PluginSettings settingsFor(const mg_plugin_descriptor& descriptor, uint32_t exported_size,
                           const config::PluginConfig& entry);

using PluginList = std::vector<std::unique_ptr<LoadedPlugin>>;

// Loads every plugin of the config in order. Each failure (missing file, not a shared library,
// no entry symbol, wrong ABI, config rejected) adds a located error naming the plugin and the
// reason; the plugins that did load are returned either way.
PluginList loadPlugins(const config::Config& config, std::vector<config::ConfigError>& errors);

// Where a plugin named `name` is looked for when the config gives no path.
std::vector<std::filesystem::path> pluginSearchPath(const config::Config& config,
                                                    const std::string& name);

// Checks a descriptor's version stamp; returns an empty string when compatible, else the reason.
std::string checkAbi(const mg_plugin_descriptor& descriptor);

}  // namespace mailgate::plugin
