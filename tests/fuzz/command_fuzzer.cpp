// libFuzzer target: the command line parser and the line splitter (core/smtp/command.cpp).
// Beyond "no crash": a line the parser accepts holds no CR, LF or NUL, parsing is a pure
// function, and findLineEnd() stops exactly after the first LF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/smtp/command.hpp"

namespace {

using mailgate::smtp::Command;
using mailgate::smtp::CommandError;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool same(const Command& a, const Command& b) {
    if (a.verb != b.verb || a.verb_text != b.verb_text || a.argument != b.argument ||
        a.error != b.error || a.error_detail != b.error_detail ||
        a.path.address != b.path.address || a.path.domain != b.path.domain ||
        a.path.local_part != b.path.local_part || a.params.size() != b.params.size()) {
        return false;
    }
    for (size_t i = 0; i < a.params.size(); ++i) {
        if (a.params[i].keyword != b.params[i].keyword || a.params[i].value != b.params[i].value) {
            return false;
        }
    }
    return true;
}

void checkLineEnd(std::string_view buffer) {
    bool crlf = false;
    const size_t length = mailgate::smtp::findLineEnd(buffer, crlf);
    const size_t lf = buffer.find('\n');
    if (lf == std::string_view::npos) {
        check(length == 0);
        return;
    }
    check(length == lf + 1);
    check(crlf == (lf > 0 && buffer[lf - 1] == '\r'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    checkLineEnd(input);

    const Command command = mailgate::smtp::parseCommand(input);
    check(same(command, mailgate::smtp::parseCommand(input)));
    const bool has_line_break = input.find_first_of(std::string_view("\r\n", 2)) != input.npos;
    const bool has_nul = input.find('\0') != input.npos;
    if (has_line_break || has_nul) {
        check(command.error != CommandError::None);
    }
    if (command.error == CommandError::None) {
        check(command.verb != mailgate::smtp::Verb::Unknown);
        check(command.path.address.size() <= input.size());
        if (!command.path.domain.empty()) {
            check(command.path.address.ends_with(command.path.domain));
        }
    }
    return 0;
}
