#include "core/smtp/data_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/smtp/line_breaks.hpp"

// The line machine. Only a real CRLF starts a line; a bare CR or LF never does, even when it is
// normalised to CRLF, so "\n.\n", "\r.\r" and friends can never end the data (SMTP smuggling).
//
//   LineStart       '.' -> DotAtLineStart; anything else -> InLine (byte not consumed)
//   DotAtLineStart  CR -> DotSawCr; anything else -> InLine, the dot is dropped (unstuffing)
//   DotSawCr        LF -> finished; anything else -> the dot is dropped, the CR is bare
//   InLine          runs of ordinary bytes are appended in bulk; CR -> SawCr; LF is bare
//   SawCr           LF -> CRLF emitted, LineStart; anything else -> the CR is bare, InLine
//
// CR, the dot and the dot's CR are held back in the state, never in a buffer, so a terminator or
// a CRLF split across feed() calls at any position behaves exactly as if it came in one piece.

namespace mailgate::smtp {

using data_reader_detail::LineBreaks;

DataReader::DataReader(Options options) : options_(options) {}

size_t DataReader::feed(std::string_view input, std::string& out) {
    const LineBreaks breaks(input);
    size_t pos = 0;
    while (pos < input.size() && !finished_) {
        if (state_ == State::InLine || (state_ == State::LineStart && input[pos] != '.')) {
            // Most content is whole, clean lines: copy them in one piece.
            const size_t run_end = cleanLinesEnd(input, pos, breaks);
            if (run_end > pos) {
                emit(out, input.substr(pos, run_end - pos));
                pos = run_end;
                line_length_ = 0;
                state_ = State::LineStart;
                continue;
            }
        }
        if (state_ != State::InLine) {
            pos += onBoundaryByte(input[pos], out) ? 1 : 0;
            continue;
        }
        const size_t end = breaks.from(pos);
        if (end > pos) {
            appendText(out, input.substr(pos, end - pos));
            pos = end;
        } else {
            onLineByte(input[pos++], out);
        }
    }
    return pos;
}

// The end of the longest run of complete lines from `pos` (which continues the current line)
// that the line machine would copy unchanged: each ends in CRLF, holds no NUL, bare CR or bare
// LF, keeps within the line limit, and the line after it does not start with a dot. Returns
// `pos` when there is no such line; the machine then takes the bytes one boundary at a time.
size_t DataReader::cleanLinesEnd(std::string_view input, size_t pos,
                                 const LineBreaks& breaks) const {
    const size_t limit = options_.max_line_length > 2 ? options_.max_line_length - 2 : 0;
    size_t line_length = line_length_;
    size_t end = pos;
    for (size_t at = pos;;) {
        const size_t cr = breaks.from(at);
        if (cr + 1 >= input.size() || input[cr] != '\r' || input[cr + 1] != '\n') {
            break;
        }
        line_length += cr - at;
        if (line_length > limit) {
            break;
        }
        at = cr + 2;
        end = at;
        line_length = 0;
        if (at < input.size() && input[at] == '.') {
            break;
        }
    }
    return end;
}

bool DataReader::onBoundaryByte(char c, std::string& out) {
    switch (state_) {
        case State::LineStart:
            state_ = c == '.' ? State::DotAtLineStart : State::InLine;
            return c == '.';
        case State::DotAtLineStart:
            state_ = c == '\r' ? State::DotSawCr : State::InLine;
            return c == '\r';
        case State::DotSawCr:
            finished_ = c == '\n';
            if (!finished_) {
                bareLineEnding(Violation::BareCr, out);
                state_ = State::InLine;
            }
            return finished_;
        case State::SawCr:
            if (c == '\n') {
                endLine(out);
                state_ = State::LineStart;
                return true;
            }
            bareLineEnding(Violation::BareCr, out);
            state_ = State::InLine;
            return false;
        case State::InLine:
            break;
    }
    return false;
}

void DataReader::onLineByte(char c, std::string& out) {
    if (c == '\r') {
        state_ = State::SawCr;
    } else if (c == '\n') {
        bareLineEnding(Violation::BareLf, out);
    } else {
        violate(Violation::Nul);
        appendText(out, std::string_view(&c, 1));
    }
}

// Line content: the part beyond the line limit is counted but not emitted, so the output always
// ends exactly before the first violating byte, however the input was split.
void DataReader::appendText(std::string& out, std::string_view bytes) {
    const size_t limit = options_.max_line_length > 2 ? options_.max_line_length - 2 : 0;
    const size_t room = line_length_ < limit ? limit - line_length_ : 0;
    line_length_ += bytes.size();
    if (bytes.size() <= room) {
        emit(out, bytes);
        return;
    }
    emit(out, bytes.substr(0, room));
    violate(Violation::LineTooLong);
    size_ += bytes.size() - room;
}

void DataReader::endLine(std::string& out) {
    emit(out, "\r\n");
    line_length_ = 0;
}

// A bare CR or LF ends the line in the output when normalising, but never starts a new line for
// the end-of-data and unstuffing rules.
void DataReader::bareLineEnding(Violation v, std::string& out) {
    if (options_.normalize_bare_line_endings) {
        endLine(out);
        return;
    }
    violate(v);
    emit(out, v == Violation::BareCr ? "\r" : "\n");
}

void DataReader::violate(Violation v) {
    if (violation_ == Violation::None) {
        violation_ = v;
    }
}

// Appends content up to max_size octets; after any violation only counts it.
void DataReader::emit(std::string& out, std::string_view bytes) {
    if (violation_ == Violation::None) {
        const uint64_t room = options_.max_size - size_;  // size_ <= max_size until TooBig
        if (bytes.size() > room) {
            out.append(bytes.substr(0, static_cast<size_t>(room)));
            violate(Violation::TooBig);
        } else {
            out.append(bytes);
        }
    }
    size_ += bytes.size();
}

// Copies in long spans: only a dot at a line start (after LF, or after a bare CR, so that no
// lenient receiver can find an end of data in malformed content) interrupts the copy.
void appendDotStuffedLines(std::string_view lines, std::string& out) {
    out.reserve(out.size() + lines.size() + lines.size() / 128 + 5);
    size_t copied = 0;  // lines[0, copied) is in `out`
    size_t pos = 0;
    while (pos < lines.size()) {
        const void* hit = std::memchr(lines.data() + pos, '.', lines.size() - pos);
        if (hit == nullptr) {
            break;
        }
        const size_t dot = static_cast<size_t>(static_cast<const char*>(hit) - lines.data());
        if (dot == 0 || lines[dot - 1] == '\n' || lines[dot - 1] == '\r') {
            out.append(lines.substr(copied, dot - copied));
            out.push_back('.');
            copied = dot;  // the dot itself goes out with the next span
        }
        pos = dot + 1;
    }
    out.append(lines.substr(copied));
}

void appendDotStuffed(std::string_view content, std::string& out) {
    appendDotStuffedLines(content, out);
    if (!content.empty() && !content.ends_with("\r\n")) {
        out.append("\r\n");
    }
    out.append(".\r\n");
}

}  // namespace mailgate::smtp
