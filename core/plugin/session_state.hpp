#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/filter/transaction.hpp"
#include "core/plugin/plugin_data.hpp"

namespace mailgate::plugin {

// What plugins see of one client session through the host functions. Owned by the session and
// touched only on its I/O thread, or by a plugin while the session waits for that plugin's hook.
struct SessionState {
    const filter::SessionInfo* info = nullptr;
    filter::Transaction* transaction = nullptr;      // null outside a transaction
    std::string_view current_rcpt;                   // during the rcpt_to stage
    std::string_view body_chunk;                     // during the body stage
    std::vector<filter::Symbol> connection_symbols;  // added before MAIL
    PluginDataSlots session_data;
    PluginDataSlots transaction_data;
    size_t max_recipients = 100;             // add_rcpt stops there
    uint64_t max_message_size = UINT64_MAX;  // replace_body stops there
    // Told about every edit as "plugin NAME: edit ..." (mailgate test); usually empty.
    std::function<void(const std::string&)> edit_observer;

    // Every symbol that counts for the current message: the connection's, then the
    // transaction's.
    size_t symbolCount() const;
    const filter::Symbol& symbolAt(size_t index) const;
    double score() const;
    // The id for log lines: the transaction's inside one, else the session's, else "".
    std::string_view logId() const;
};

}  // namespace mailgate::plugin
