#pragma once

#include <mutex>
#include <string_view>

#include <mailgate/plugin.h>

#include "core/plugin/host_api.hpp"

// Shared by the host function files (host_api.cpp, host_edits.cpp): how a host function reaches
// the session behind an mg_session, safely from any thread.
namespace mailgate::plugin::detail {

inline std::string_view fromMg(mg_str text) {
    return text.data == nullptr ? std::string_view{} : std::string_view{text.data, text.len};
}

// Runs `use(call, state)` under the call's lock when the call may still reach its session;
// otherwise returns `fallback`.
template <class Result, class Use>
Result withState(mg_session* call, Result fallback, Use&& use) {
    if (call == nullptr) {
        return fallback;
    }
    const std::lock_guard lock(call->mutex);
    if (call->state == nullptr) {
        return fallback;
    }
    return use(*call, *call->state);
}

// The id of the session a call belongs to, for log lines ("" once the call is over).
std::string sessionIdOf(mg_session* call);

}  // namespace mailgate::plugin::detail
