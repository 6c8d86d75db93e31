#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <mailgate/plugin.h>

#include "core/smtp/reply.hpp"

// The edit functions of the host table (ABI 1.2, and add_header from 1.0). Each checks that the
// plugin declared the edit and that the stage allows it, applies it at once to the transaction
// (later plugins see the result) and logs it.
namespace mailgate::plugin {

// A reply a plugin asked for, or nullopt when it is malformed. An empty enhanced code or text
// gets a default.
std::optional<smtp::Reply> replyFromPlugin(uint16_t code, std::string_view enhanced,
                                           std::string_view text);

int hostAddHeader(mg_session* call, mg_str name, mg_str value);
int hostInsertHeader(mg_session* call, size_t index, mg_str name, mg_str value);
int hostChangeHeader(mg_session* call, mg_str name, size_t nth, mg_str value);
int hostDeleteHeader(mg_session* call, mg_str name, size_t nth);
int hostReplaceBody(mg_session* call, mg_str body);
int hostChangeSender(mg_session* call, mg_str address);
int hostAddRcpt(mg_session* call, mg_str address);
int hostDeleteRcpt(mg_session* call, mg_str address);
int hostRejectRcpt(mg_session* call, mg_str address, uint16_t code, mg_str enhanced, mg_str text);

}  // namespace mailgate::plugin
