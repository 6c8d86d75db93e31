// libFuzzer target: the DATA reader (core/smtp/data_reader.cpp), with its invariants:
// - the result does not depend on how the input is split into reads (at once, byte by byte,
//   in random pieces): same content, same end, same violation;
// - the data ends only after CRLF "." CRLF (or "." CRLF as the very first line);
// - accepted content has no bare CR or LF, ends in CRLF, and stays within max_size;
// - re-encoding accepted content for the backend (appendDotStuffed) and reading it again gives
//   exactly one message, ending exactly at the re-encoded end, with the same content: nothing a
//   client sends can make the backend see a different message or a second one.
// The first input byte picks the options.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/smtp/data_reader.hpp"

namespace {

using mailgate::smtp::DataReader;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

struct Run {
    std::string out;
    size_t consumed = 0;
    bool finished = false;
    DataReader::Violation violation = DataReader::Violation::None;
    uint64_t size = 0;

    bool operator==(const Run&) const = default;
};

// Feeds `input` in pieces of the sizes `next_piece` gives, until the data ends.
template <typename NextPiece>
Run feedInPieces(const DataReader::Options& options, std::string_view input, NextPiece next_piece) {
    DataReader reader(options);
    Run run;
    while (run.consumed < input.size() && !reader.finished()) {
        const size_t piece = std::min(next_piece(), input.size() - run.consumed);
        const size_t used = reader.feed(input.substr(run.consumed, piece), run.out);
        check(used <= piece);
        check(used == piece || reader.finished());
        run.consumed += used;
    }
    run.finished = reader.finished();
    run.violation = reader.violation();
    run.size = reader.size();
    return run;
}

bool wellFormedLines(std::string_view text) {
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) {
            return false;
        }
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    DataReader::Options options;
    options.normalize_bare_line_endings = (data[0] & 1) != 0;
    const size_t line_lengths[] = {1000, 3, 8, 80};
    options.max_line_length = line_lengths[(data[0] >> 1) & 3];
    const uint64_t max_sizes[] = {25u << 20, 0, 16, 200};
    options.max_size = max_sizes[(data[0] >> 3) & 3];
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    const Run whole = feedInPieces(options, input, [&] { return input.size(); });
    const Run bytes = feedInPieces(options, input, [] { return size_t{1}; });
    uint32_t state = 2166136261u ^ static_cast<uint32_t>(size);
    const Run random = feedInPieces(options, input, [&] {
        state = state * 1664525u + 1013904223u;
        return size_t{1} + (state >> 16) % 17;
    });
    check(whole == bytes);
    check(whole == random);

    if (whole.finished) {
        const std::string_view used = input.substr(0, whole.consumed);
        check(used == ".\r\n" || used.ends_with("\r\n.\r\n"));
    } else {
        check(whole.consumed == input.size());
    }
    check(whole.out.size() <= options.max_size);
    check(whole.size >= whole.out.size());
    if (whole.violation != DataReader::Violation::None || !whole.finished) {
        return 0;
    }
    check(whole.size == whole.out.size());
    check(wellFormedLines(whole.out));
    check(whole.out.empty() || whole.out.ends_with("\r\n"));

    std::string wire;
    mailgate::smtp::appendDotStuffed(whole.out, wire);
    const Run again = feedInPieces(options, wire, [&] { return wire.size(); });
    check(again.finished);
    check(again.consumed == wire.size());
    check(again.violation == DataReader::Violation::None);
    check(again.out == whole.out);
    return 0;
}
