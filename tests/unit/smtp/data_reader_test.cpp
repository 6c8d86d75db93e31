#include "core/smtp/data_reader.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mailgate::smtp {
namespace {

using namespace std::string_literals;
using Violation = DataReader::Violation;

// What a reader made of some input.
struct Outcome {
    std::string out;
    size_t consumed = 0;
    bool finished = false;
    Violation violation = Violation::None;
    uint64_t size = 0;

    bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    return os << "{out=" << testing::PrintToString(o.out) << " consumed=" << o.consumed
              << " finished=" << o.finished << " violation=" << static_cast<int>(o.violation)
              << " size=" << o.size << "}";
}

DataReader::Options normalizing() {
    DataReader::Options options;
    options.normalize_bare_line_endings = true;
    return options;
}

// Feeds `input` in the given pieces, stopping once the reader has finished.
Outcome readPieces(const std::vector<std::string_view>& pieces, DataReader::Options options = {}) {
    DataReader reader(options);
    Outcome outcome;
    for (const std::string_view piece : pieces) {
        if (reader.finished()) {
            break;
        }
        outcome.consumed += reader.feed(piece, outcome.out);
    }
    outcome.finished = reader.finished();
    outcome.violation = reader.violation();
    outcome.size = reader.size();
    return outcome;
}

Outcome read(std::string_view input, DataReader::Options options = {}) {
    return readPieces({input}, options);
}

// Every 2-way split and a byte-by-byte feed must give the same outcome as one feed.
void expectSplitInvariant(std::string_view input, DataReader::Options options = {}) {
    const Outcome whole = read(input, options);
    for (size_t cut = 0; cut <= input.size(); ++cut) {
        EXPECT_EQ(readPieces({input.substr(0, cut), input.substr(cut)}, options), whole)
            << "split at " << cut << " of " << testing::PrintToString(std::string(input));
    }
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < input.size(); ++i) {
        bytes.push_back(input.substr(i, 1));
    }
    EXPECT_EQ(readPieces(bytes, options), whole)
        << "byte by byte: " << testing::PrintToString(std::string(input));
}

// --- the basics -------------------------------------------------------------------------------

// A simple message is delivered with its final CRLF; the terminator is not content.
TEST(DataReaderTest, SimpleMessage) {
    const std::string input = "Subject: hi\r\n\r\nbody\r\n.\r\n";
    const Outcome outcome = read(input);
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.violation, Violation::None);
    EXPECT_EQ(outcome.out, "Subject: hi\r\n\r\nbody\r\n");
    EXPECT_EQ(outcome.consumed, input.size());
    EXPECT_EQ(outcome.size, outcome.out.size());
}

// ".\r\n" as the very first bytes ends an empty message (the DATA line's CRLF starts the line).
TEST(DataReaderTest, EmptyMessage) {
    const Outcome outcome = read(".\r\n");
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.out, "");
    EXPECT_EQ(outcome.size, 0u);
    EXPECT_EQ(outcome.consumed, 3u);
}

// Without the terminator the reader keeps waiting and consumes everything.
TEST(DataReaderTest, UnfinishedConsumesAll) {
    const Outcome outcome = read("line\r\n.");
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(outcome.consumed, 7u);
    EXPECT_EQ(outcome.out, "line\r\n");
}

// A leading dot followed by anything but CRLF is removed.
TEST(DataReaderTest, DotUnstuffing) {
    const Outcome outcome = read("..\r\n.foo\r\n...\r\nmid.dle\r\n. x\r\n.\r\n");
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.out, ".\r\nfoo\r\n..\r\nmid.dle\r\n x\r\n");
    EXPECT_EQ(outcome.size, outcome.out.size());
}

// Bytes after the terminator are left for the caller as the next commands.
TEST(DataReaderTest, PipelinedBytesAfterTheEnd) {
    const std::string input = "hi\r\n.\r\nQUIT\r\n";
    std::string out;
    DataReader reader({});
    const size_t consumed = reader.feed(input, out);
    EXPECT_TRUE(reader.finished());
    EXPECT_EQ(consumed, 7u);
    EXPECT_EQ(input.substr(consumed), "QUIT\r\n");
    EXPECT_EQ(reader.feed("more", out), 0u);
    EXPECT_EQ(out, "hi\r\n");
}

// A lone dot inside a line or a dot after text never ends the data.
TEST(DataReaderTest, DotsThatAreNotTerminators) {
    const Outcome outcome = read("a.\r\nb\r\n.c\r\n");
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(outcome.out, "a.\r\nb\r\nc\r\n");
}

// --- SMTP smuggling ---------------------------------------------------------------------------

// No terminator made of bare CR or LF ends the data; the bare byte is recorded.
TEST(DataReaderTest, SmugglingVariantsNeverEndTheData) {
    const std::vector<std::pair<std::string, Violation>> variants = {
        {"\n.\n", Violation::BareLf},    {"\n.\r\n", Violation::BareLf},
        {"\r.\r", Violation::BareCr},    {"\r\n.\r", Violation::BareCr},
        {"\r\n.\n", Violation::BareLf},  {"\r.\r\n", Violation::BareCr},
        {"\r\n.\rX", Violation::BareCr}, {"\n.\r", Violation::BareLf},
    };
    for (const auto& [terminator, violation] : variants) {
        const std::string input =
            "Subject: x\r\n\r\nbody" + terminator + "MAIL FROM:<a@b.test>\r\n";
        const Outcome outcome = read(input);
        EXPECT_FALSE(outcome.finished) << testing::PrintToString(terminator);
        EXPECT_EQ(outcome.violation, violation) << testing::PrintToString(terminator);
        EXPECT_EQ(outcome.consumed, input.size());
        EXPECT_EQ(outcome.out.find("MAIL FROM"), std::string::npos);
    }
}

// After a smuggling attempt only the real CRLF.CRLF ends the data, and the violation stays.
TEST(DataReaderTest, SmugglingThenRealEnd) {
    const std::string input = "body\n.\nMAIL FROM:<evil@x.test>\r\nmore\r\n.\r\nQUIT\r\n";
    const Outcome outcome = read(input);
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.violation, Violation::BareLf);
    EXPECT_EQ(input.substr(outcome.consumed), "QUIT\r\n");
    EXPECT_EQ(outcome.out, "body");
}

// A bare CR as the first byte of the data is no line start either.
TEST(DataReaderTest, BareCrRightAfterData) {
    const Outcome outcome = read("\r.\r\nx");
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(outcome.violation, Violation::BareCr);
}

// --- violations -------------------------------------------------------------------------------

// Only the first violation is kept and nothing is appended after it.
TEST(DataReaderTest, FirstViolationWinsAndStopsOutput) {
    const Outcome outcome = read("ok\r\nbad\0x\nmore\r\n.\r\n"s);
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.violation, Violation::Nul);
    EXPECT_EQ(outcome.out, "ok\r\nbad");
}

// A NUL byte is a violation even in normalising mode.
TEST(DataReaderTest, NulByte) {
    EXPECT_EQ(read("a\0b\r\n.\r\n"s).violation, Violation::Nul);
    EXPECT_EQ(read("\0\r\n.\r\n"s, normalizing()).violation, Violation::Nul);
}

// 998 octets plus CRLF (1000) is the longest line; one more octet is too long.
TEST(DataReaderTest, LineLengthLimit) {
    const Outcome fits = read(std::string(998, 'a') + "\r\n.\r\n");
    EXPECT_TRUE(fits.finished);
    EXPECT_EQ(fits.violation, Violation::None);
    EXPECT_EQ(fits.out.size(), 1000u);
    const Outcome too_long = read(std::string(999, 'a') + "\r\n.\r\n");
    EXPECT_TRUE(too_long.finished);
    EXPECT_EQ(too_long.violation, Violation::LineTooLong);
}

// The limit applies to every line, not only the first, and resets at each CRLF.
TEST(DataReaderTest, LineLengthIsPerLine) {
    const std::string line = std::string(998, 'b') + "\r\n";
    EXPECT_EQ(read(line + line + line + ".\r\n").violation, Violation::None);
    EXPECT_EQ(read(line + std::string(999, 'c') + "\r\n.\r\n").violation, Violation::LineTooLong);
}

// The dot added for transparency does not count toward the line length (RFC 5321 4.5.3.1.6).
TEST(DataReaderTest, StuffedDotDoesNotCount) {
    const Outcome outcome = read("." + std::string(998, '.') + "\r\n.\r\n");
    EXPECT_EQ(outcome.violation, Violation::None);
    EXPECT_EQ(outcome.out, std::string(998, '.') + "\r\n");
}

// A long line is noticed before its end arrives; the output stops at the limit.
TEST(DataReaderTest, LongLineDetectedWithoutLineEnd) {
    std::string out;
    DataReader reader({});
    reader.feed(std::string(5000, 'x'), out);
    EXPECT_EQ(reader.violation(), Violation::LineTooLong);
    EXPECT_EQ(out, std::string(998, 'x'));
}

// Content over max_size is TooBig; exactly max_size is fine. size() counts content octets.
TEST(DataReaderTest, SizeLimit) {
    DataReader::Options options;
    options.max_size = 10;
    const Outcome fits = read("01234567\r\n.\r\n", options);
    EXPECT_EQ(fits.violation, Violation::None);
    EXPECT_EQ(fits.size, 10u);
    const Outcome too_big = read("0123456789\r\n.\r\n", options);
    EXPECT_TRUE(too_big.finished);
    EXPECT_EQ(too_big.violation, Violation::TooBig);
    EXPECT_EQ(too_big.size, 12u);
    EXPECT_EQ(too_big.out, "0123456789");
}

// size() counts what the message holds after unstuffing, without the terminator.
TEST(DataReaderTest, SizeCountsUnstuffedContent) {
    EXPECT_EQ(read("..a\r\n.\r\n").size, 4u);
}

// --- normalising ------------------------------------------------------------------------------

// Bare LF and bare CR become CRLF without a violation.
TEST(DataReaderTest, NormalizeBareLineEndings) {
    const Outcome outcome = read("a\nb\rc\r\n.\r\n", normalizing());
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.violation, Violation::None);
    EXPECT_EQ(outcome.out, "a\r\nb\r\nc\r\n");
}

// Normalised endings still do not start a line: no end of data, no unstuffing after them.
TEST(DataReaderTest, NormalizedEndingsAreNoLineStart) {
    const Outcome outcome = read("a\n.\nb\r.\r\n..\n.\r\n.\r\n", normalizing());
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.violation, Violation::None);
    EXPECT_EQ(outcome.out, "a\r\n.\r\nb\r\n.\r\n.\r\n.\r\n");
}

// Every smuggling variant stays content in normalising mode.
TEST(DataReaderTest, NormalizedSmugglingVariantsNeverEndTheData) {
    for (const std::string terminator :
         {"\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r\n.\n", "\r.\r\n"}) {
        const Outcome outcome =
            read("body" + terminator + "MAIL FROM:<a@b.test>\r\n", normalizing());
        EXPECT_FALSE(outcome.finished) << testing::PrintToString(terminator);
        EXPECT_EQ(outcome.violation, Violation::None);
        EXPECT_NE(outcome.out.find("MAIL FROM"), std::string::npos);
    }
}

// A CRLF split across two feeds is one line ending, not a bare CR and a bare LF.
TEST(DataReaderTest, CrLfSplitAcrossFeeds) {
    const Outcome outcome = readPieces({"a\r", "\n.", "\r", "\n"}, normalizing());
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.out, "a\r\n");
    EXPECT_EQ(readPieces({"a\r", "\nb\r\n.\r\n"}).violation, Violation::None);
}

// --- split feeds ------------------------------------------------------------------------------

// Every 2-way split and a byte-by-byte feed give identical results, in both modes.
TEST(DataReaderTest, SplitFeedsGiveIdenticalResults) {
    const std::vector<std::string> inputs = {
        "Subject: x\r\n\r\nbody\r\n..stuffed\r\n.\r\nQUIT\r\n",
        ".\r\nRSET\r\n",
        "..\r\n.\r\n",
        "a\nb\rc\r\n.\r\n",
        "a\r\n.\rb\r\n.\nc\r\n.\r\n",
        "x\r\r\n\n\r.\r\n\r\n.\r\nNOOP\r\n",
        "a\0b\r\n.\r\n"s,
        "body\n.\nMAIL FROM:<e@x.test>\r\n.\r\n",
    };
    for (const std::string& input : inputs) {
        expectSplitInvariant(input);
        expectSplitInvariant(input, normalizing());
    }
}

// The limits are enforced identically however the input is split.
TEST(DataReaderTest, SplitFeedsWithLimits) {
    DataReader::Options options;
    options.max_line_length = 8;
    options.max_size = 20;
    expectSplitInvariant("123456\r\n1234567\r\n.\r\n", options);
    expectSplitInvariant(".123456\r\n123\r\n1234\r\n12345\r\n.\r\n", options);
}

// Runs of clean lines are copied in one piece; every way a run can end (a dot line, a line at
// the limit and one past it, a NUL, bare endings, the size limit inside a run, a CR as the last
// byte) gives what the byte-at-a-time machine gives.
TEST(DataReaderTest, CleanLineRunsEndWhereTheMachineWould) {
    DataReader::Options options;
    options.max_line_length = 10;
    options.max_size = 60;
    const std::vector<std::string> inputs = {
        "one\r\ntwo\r\n..dot\r\nthree\r\n.\r\nQUIT\r\n",
        "12345678\r\n123456789\r\nafter\r\n.\r\n",
        "ok\r\nfine\r\nnul\0here\r\nmore\r\n.\r\n"s,
        "ok\r\nbare\nlf\r\nbare\rcr\r\n.\r\n",
        "aaaaaaa\r\nbbbbbbb\r\nccccccc\r\nddddddd\r\neeeeeee\r\nfffffff\r\nggggggg\r\n.\r\n",
        "line\r\nends in cr\r",
        "\r\n\r\n\r\n.\r\n",
    };
    for (const std::string& input : inputs) {
        expectSplitInvariant(input, options);
        expectSplitInvariant(input, normalizing());
    }
    EXPECT_EQ(read("one\r\ntwo\r\n..dot\r\nthree\r\n.\r\nQUIT\r\n").out,
              "one\r\ntwo\r\n.dot\r\nthree\r\n");
    const Outcome too_big =
        read("aaaaaaa\r\nbbbbbbb\r\nccccccc\r\nddddddd\r\neeeeeee\r\nfffffff\r\nggggggg\r\n.\r\n",
             options);
    EXPECT_EQ(too_big.violation, Violation::TooBig);
    EXPECT_EQ(too_big.out.size(), 60u);
    EXPECT_EQ(read("12345678\r\n123456789\r\nafter\r\n.\r\n", options).violation,
              Violation::LineTooLong);
}

// --- dot-stuffing -----------------------------------------------------------------------------

// Lines starting with '.' get a second dot and the terminator is appended.
TEST(AppendDotStuffedTest, StuffsLeadingDots) {
    std::string out;
    appendDotStuffed(".a\r\nb.\r\n..\r\n.\r\n", out);
    EXPECT_EQ(out, "..a\r\nb.\r\n...\r\n..\r\n.\r\n");
}

// Empty content is just the terminator, and output is appended to what is there.
TEST(AppendDotStuffedTest, EmptyContentAndAppending) {
    std::string out = "DATA\r\n";
    appendDotStuffed("", out);
    EXPECT_EQ(out, "DATA\r\n.\r\n");
}

// Content missing its final CRLF still gets the terminator on a line of its own.
TEST(AppendDotStuffedTest, AddsMissingFinalCrLf) {
    std::string out;
    appendDotStuffed("abc", out);
    EXPECT_EQ(out, "abc\r\n.\r\n");
}

// Dots after a bare LF or bare CR are stuffed too, so a lenient backend never sees an end.
TEST(AppendDotStuffedTest, StuffsAfterBareLineEndings) {
    std::string out;
    appendDotStuffed("a\n.\nb\r.\r\n", out);
    EXPECT_EQ(out, "a\n..\nb\r..\r\n.\r\n");
}

// A smuggling attempt accepted in normalising mode reaches the backend with its dot stuffed.
TEST(AppendDotStuffedTest, NormalizedSmugglingIsStuffedForTheBackend) {
    const Outcome outcome = read("a\n.\nMAIL FROM:<e@x.test>\r\n.\r\n", normalizing());
    ASSERT_TRUE(outcome.finished);
    std::string wire;
    appendDotStuffed(outcome.out, wire);
    EXPECT_EQ(wire, "a\r\n..\r\nMAIL FROM:<e@x.test>\r\n.\r\n");
    EXPECT_EQ(wire.find("\r\n.\r\n"), wire.size() - 5);
}

// Stuffing then reading back gives the original content, byte for byte.
TEST(AppendDotStuffedTest, RoundTrip) {
    std::vector<std::string> contents = {
        "",
        "\r\n",
        "a\r\n",
        ".\r\n",
        "..\r\n",
        ".\r\n.\r\n",
        "line\r\n.\r\nafter\r\n",
        "\r\n\r\n.\r\n\r\n",
        ". \r\n .\r\n",
    };
    std::mt19937 random(1869);
    const std::string alphabet = "..ab \t";
    for (int round = 0; round < 200; ++round) {
        std::string content;
        const int lines = static_cast<int>(random() % 8);
        for (int line = 0; line < lines; ++line) {
            const int length = static_cast<int>(random() % 6);
            for (int i = 0; i < length; ++i) {
                content += alphabet[random() % alphabet.size()];
            }
            content += "\r\n";
        }
        contents.push_back(content);
    }
    for (const std::string& content : contents) {
        std::string wire;
        appendDotStuffed(content, wire);
        const Outcome outcome = read(wire + "NEXT");
        EXPECT_TRUE(outcome.finished) << testing::PrintToString(content);
        EXPECT_EQ(outcome.violation, Violation::None);
        EXPECT_EQ(outcome.out, content);
        EXPECT_EQ(outcome.consumed, wire.size());
    }
}

}  // namespace
}  // namespace mailgate::smtp
