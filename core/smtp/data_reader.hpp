#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailgate::smtp {

namespace data_reader_detail {
class LineBreaks;
}

// Reads the DATA phase of a message incrementally: only CRLF.CRLF ends it, dot-unstuffing is
// exact, and every violation is remembered (not acted on) until the end so the client gets one
// clear reply after the terminating dot and nothing is forwarded.
//
// Output: the message content with CRLF line endings and leading dots unstuffed, exactly as the
// client meant it, appended to the sink given to feed(). The final CRLF before the dot belongs to
// the content (RFC 5321 4.1.1.4), so a non-empty message always ends in CRLF.
class DataReader {
  public:
    enum class Violation {
        None,
        BareLf,       // LF not preceded by CR
        BareCr,       // CR not followed by LF
        Nul,          // a NUL byte
        LineTooLong,  // a line longer than max_line_length octets (CRLF included)
        TooBig,       // content over max_size octets
    };

    struct Options {
        uint64_t max_size = 25ull * 1024 * 1024;
        size_t max_line_length = 1000;
        bool normalize_bare_line_endings = false;  // turn bare CR / LF into CRLF instead
    };

    explicit DataReader(Options options);

    // Consumes bytes from `input`, appending content to `out` (nothing more is appended once a
    // violation was seen). Returns the number of bytes consumed: less than input.size() only when
    // the end of data was reached; the remaining bytes are the client's next commands.
    size_t feed(std::string_view input, std::string& out);

    bool finished() const { return finished_; }
    Violation violation() const { return violation_; }  // the first one seen
    uint64_t size() const { return size_; }             // content octets so far (after unstuffing)

  private:
    Options options_;
    // States of the line machine; see data_reader.cpp.
    enum class State { LineStart, InLine, SawCr, DotAtLineStart, DotSawCr };
    State state_ = State::LineStart;
    bool finished_ = false;
    Violation violation_ = Violation::None;
    uint64_t size_ = 0;
    size_t line_length_ = 0;

    size_t cleanLinesEnd(std::string_view input, size_t pos,
                         const data_reader_detail::LineBreaks& breaks) const;
    bool onBoundaryByte(char c, std::string& out);  // false: the byte is left for InLine
    void onLineByte(char c, std::string& out);      // a CR, LF or NUL inside a line
    void appendText(std::string& out, std::string_view bytes);
    void endLine(std::string& out);  // emits CRLF; the caller decides whether a line starts
    void bareLineEnding(Violation v, std::string& out);
    void violate(Violation v);
    void emit(std::string& out, std::string_view bytes);
};

// Dot-stuffs one piece of content that starts at a line start, without adding the terminator:
// for sending a message in pieces that each end at a line end.
void appendDotStuffedLines(std::string_view lines, std::string& out);

// Dot-stuffs content for the wire and appends the terminating ".\r\n". Content should end in CRLF
// or be empty; otherwise a CRLF is added so the terminator is always on a line of its own. A line
// here starts after any LF or bare CR too, so a lenient backend cannot see an end of data inside
// malformed content. Appends to `out`.
void appendDotStuffed(std::string_view content, std::string& out);

}  // namespace mailgate::smtp
