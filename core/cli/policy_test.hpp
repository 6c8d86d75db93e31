#pragma once

#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/plugin/plugin_loader.hpp"

namespace mailgate::cli {

// What `mailgate test` is asked: one transaction to run through the chain, without network.
struct PolicyTestInput {
    std::string client_ip = "127.0.0.1";
    std::string helo = "client.example";
    std::string mail_from;
    std::vector<std::string> rcpts;
    std::string message_file;
};

// Exit codes of `mailgate test`.
inline constexpr int kPolicyAccepted = 0;  // the message would be handed to the backend
inline constexpr int kPolicyRefused = 3;   // rejected, tempfailed, discarded or disconnected

// Runs every stage for `input`, printing each plugin's verdict per stage, the edits and the
// message as the backend would receive it. Returns kPolicyAccepted or kPolicyRefused.
int runPolicyTest(const config::Config& config, plugin::PluginList plugins,
                  const PolicyTestInput& input, std::string& output);

// Reads a message file (LF or CRLF line endings) as SMTP content with CRLF line endings.
bool readMessageFile(const std::string& path, std::string& content, std::string& error);

}  // namespace mailgate::cli
