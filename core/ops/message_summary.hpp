#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ops/log.hpp"

namespace mailgate::ops {

// The fields of the one summary line each finished transaction writes (docs/operations.md).
// Empty strings are shown as "-" in text and as null in JSON.
struct MessageSummary {
    struct Symbol {
        std::string_view name;
        double score = 0;
    };

    std::string_view session_id;
    std::string_view id;  // the transaction id "SESSION.N"
    std::string_view client;
    std::string_view helo;
    std::string_view from;
    std::vector<std::string_view> to;
    uint64_t size = 0;
    std::string_view outcome;
    std::string_view decided_by;
    std::vector<std::string_view> refused;  // recipients a plugin refused at end of message
    bool scored = false;                    // a plugin added a symbol: score and symbols are shown
    double score = 0;
    std::vector<Symbol> symbols;
    std::string reply;  // "250 2.0.0 Ok"; empty when the client got none (it left or reset)
    int64_t duration_ms = 0;
};

// Text: "message id=... client=... ... duration_ms=N" (the format of the README example);
// JSON: {"time":..,"level":"info","session":..,"transaction":..,"event":"message","id":.., ...}.
void logMessageSummary(const MessageSummary& summary);

}  // namespace mailgate::ops
