#pragma once

#include <cstddef>

namespace mailgate::filter {

// Where in the SMTP dialogue a plugin hook runs, in the order they come.
enum class Stage {
    Connect,
    Helo,
    MailFrom,
    RcptTo,
    Data,
    Headers,
    Body,
    EndOfMessage,
    Reset,
    Close,
};
inline constexpr size_t kStageCount = static_cast<size_t>(Stage::Close) + 1;

const char* stageName(Stage stage);

// From on_headers on, the message can be read and edited.
inline bool isMessageStage(Stage stage) {
    return stage == Stage::Headers || stage == Stage::Body || stage == Stage::EndOfMessage;
}

}  // namespace mailgate::filter
