// The loader is tested on real shared libraries built from tests/plugins/ and plugins/.
#include "core/plugin/plugin_loader.hpp"

#include <gtest/gtest.h>

namespace mailgate::plugin {
namespace {

config::Config configWith(const std::string& yaml) {
    config::LoadResult result = config::loadConfigText(yaml, "test.yaml");
    EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].toString());
    return result.config;
}

std::string pluginYaml(const std::string& name, const std::string& path,
                       const std::string& config_lines = "") {
    return "backend: {type: maildir, path: /tmp/unused}\n"
           "plugins:\n"
           "  - name: " +
           name + "\n    path: " + path + "\n" + config_lines;
}

const std::string kTestPlugins = MAILGATE_TEST_PLUGIN_DIR;

// A good plugin loads, its descriptor is copied and its create() ran.
TEST(PluginLoaderTest, LoadsAPlugin) {
    std::vector<config::ConfigError> errors;
    const auto config = configWith(pluginYaml("verdict", kTestPlugins + "/verdict_plugin.so"));
    const PluginList plugins = loadPlugins(config, errors);
    ASSERT_TRUE(errors.empty()) << errors[0].toString();
    ASSERT_EQ(plugins.size(), 1u);
    EXPECT_EQ(plugins[0]->name(), "verdict");
    EXPECT_NE(plugins[0]->instance(), nullptr);
    EXPECT_EQ(plugins[0]->descriptor().struct_size, sizeof(mg_plugin_descriptor));
}

// A plugin built for another ABI major is refused with both versions named.
TEST(PluginLoaderTest, RefusesOtherAbiMajor) {
    std::vector<config::ConfigError> errors;
    const auto config = configWith(pluginYaml("bad", kTestPlugins + "/bad_abi_plugin.so"));
    EXPECT_TRUE(loadPlugins(config, errors).empty());
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("plugin 'bad'"), std::string::npos);
    EXPECT_NE(errors[0].message.find("ABI 99."), std::string::npos);
    EXPECT_NE(errors[0].message.find("ABI 1.3"), std::string::npos);
    EXPECT_EQ(errors[0].line, 3);  // the plugin's list item
}

// A library without the entry symbol is refused and the symbol is named.
TEST(PluginLoaderTest, RefusesLibraryWithoutEntry) {
    std::vector<config::ConfigError> errors;
    const auto config = configWith(pluginYaml("none", kTestPlugins + "/no_entry_plugin.so"));
    EXPECT_TRUE(loadPlugins(config, errors).empty());
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("mailgate_plugin_entry"), std::string::npos);
}

// A missing file is refused with the path in the message.
TEST(PluginLoaderTest, RefusesMissingFile) {
    std::vector<config::ConfigError> errors;
    const auto config = configWith(pluginYaml("gone", "/nonexistent/gone.so"));
    EXPECT_TRUE(loadPlugins(config, errors).empty());
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("/nonexistent/gone.so"), std::string::npos);
}

// A plugin's config error is located at the offending key of its subtree.
TEST(PluginLoaderTest, LocatesPluginConfigErrors) {
    std::vector<config::ConfigError> errors;
    const auto config = configWith(pluginYaml("picky", kTestPlugins + "/config_reject_plugin.so",
                                              "    config:\n      option: \"no\"\n"));
    EXPECT_TRUE(loadPlugins(config, errors).empty());
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].line, 6);
    EXPECT_EQ(errors[0].column, 7);  // at the key "option"
    EXPECT_NE(errors[0].message.find("plugin 'picky': option:"), std::string::npos);
}

// relay_access is found by name in the plugin folder when no path is given.
TEST(PluginLoaderTest, FindsPluginByNameInPluginDir) {
    std::vector<config::ConfigError> errors;
    const auto config = configWith(std::string("plugin_dir: ") + MAILGATE_PLUGIN_DIR +
                                   "\nbackend: {type: maildir, path: /tmp/unused}\n"
                                   "plugins:\n  - name: relay_access\n");
    const PluginList plugins = loadPlugins(config, errors);
    ASSERT_TRUE(errors.empty()) << errors[0].toString();
    ASSERT_EQ(plugins.size(), 1u);
}

// The version check accepts older minors of the same major and refuses newer ones.
TEST(PluginLoaderTest, AbiVersionRules) {
    mg_plugin_descriptor descriptor{};
    descriptor.struct_size = sizeof descriptor;
    descriptor.abi_version = MAILGATE_ABI_VERSION;
    EXPECT_EQ(checkAbi(descriptor), "");
    descriptor.abi_version = (MAILGATE_ABI_VERSION_MAJOR << 16) | (MAILGATE_ABI_VERSION_MINOR + 1);
    EXPECT_NE(checkAbi(descriptor), "");
    descriptor.abi_version = (2u << 16);
    EXPECT_NE(checkAbi(descriptor).find("2.0"), std::string::npos);
    descriptor.abi_version = MAILGATE_ABI_VERSION;
    descriptor.struct_size = 8;
    EXPECT_NE(checkAbi(descriptor).find("too small"), std::string::npos);
    descriptor.struct_size = sizeof descriptor + 8;
    EXPECT_NE(checkAbi(descriptor).find("larger"), std::string::npos);
}

// A plugin built for ABI 1.0 or 1.1 (a shorter descriptor) may add headers, runs on the worker
// pool, and cannot answer the verdicts 1.2 added; a 1.2 plugin gets what it declares.
TEST(PluginLoaderTest, SettingsByAbiMinor) {
    config::PluginConfig entry;
    entry.timeout = std::chrono::milliseconds(1500);
    entry.on_error = config::OnError::Accept;
    mg_plugin_descriptor descriptor{};
    descriptor.edits = MG_EDIT_CHANGE_SENDER;
    descriptor.flags = MG_PLUGIN_NONBLOCKING;
    const PluginSettings old = settingsFor(
        descriptor, static_cast<uint32_t>(offsetof(mg_plugin_descriptor, on_data)), entry);
    EXPECT_EQ(old.edits, uint32_t{MG_EDIT_ADD_HEADER});
    EXPECT_TRUE(old.on_workers);
    EXPECT_FALSE(old.knows_new_verdicts);
    EXPECT_EQ(old.timeout.count(), 1500);
    EXPECT_EQ(old.on_error, config::OnError::Accept);

    const PluginSettings current = settingsFor(descriptor, sizeof descriptor, entry);
    EXPECT_EQ(current.edits, uint32_t{MG_EDIT_CHANGE_SENDER});
    EXPECT_FALSE(current.on_workers);
    EXPECT_TRUE(current.knows_new_verdicts);

    entry.run_on = config::RunOn::Workers;  // the YAML overrides the declaration
    EXPECT_TRUE(settingsFor(descriptor, sizeof descriptor, entry).on_workers);
    descriptor.edits = 0;  // an older source rebuilt: headers only
    EXPECT_EQ(settingsFor(descriptor, sizeof descriptor, entry).edits,
              uint32_t{MG_EDIT_ADD_HEADER});
}

}  // namespace
}  // namespace mailgate::plugin
