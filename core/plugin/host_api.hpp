#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <mailgate/plugin.h>

#include "core/filter/transaction.hpp"
#include "core/plugin/plugin_data.hpp"
#include "core/smtp/reply.hpp"

// The host side of the plugin ABI: what an opaque mg_session* points to. Defined in the global
// namespace because plugin.h declares it there.
struct mg_session {
    const mailgate::filter::SessionInfo* info = nullptr;
    mailgate::filter::Transaction* transaction = nullptr;  // null outside a transaction
    std::string_view current_rcpt;                         // during the rcpt_to stage
    std::string_view plugin_name;                          // the plugin being called, for logs
    size_t plugin_index = 0;                               // its place in the chain: data slot
    std::optional<mailgate::smtp::Reply> reply;            // set by the plugin through set_reply
    std::vector<mailgate::filter::Symbol> connection_symbols;  // added before MAIL
    mailgate::plugin::PluginDataSlots session_data;
    mailgate::plugin::PluginDataSlots transaction_data;

    // Every symbol that counts for the current message: the connection's, then the
    // transaction's.
    size_t symbolCount() const;
    const mailgate::filter::Symbol& symbolAt(size_t index) const;
    double score() const;
};

namespace mailgate::plugin {

// The table of host services handed to every plugin; lives for the whole process.
const mg_host* hostTable();

// Names the plugin whose create() runs on this thread, so that its log lines (which have no
// session yet) say who logs.
class LoadingPluginScope {
  public:
    explicit LoadingPluginScope(std::string_view name);
    ~LoadingPluginScope();
    LoadingPluginScope(const LoadingPluginScope&) = delete;
    LoadingPluginScope& operator=(const LoadingPluginScope&) = delete;
};
std::string_view loadingPluginName();

}  // namespace mailgate::plugin
