#include <gtest/gtest.h>

#include "core/relay/backend.hpp"
#include "core/smtp/data_reader.hpp"

namespace mailgate::relay {
namespace {

std::string readAll(const OutgoingMessage& message, size_t chunk_size,
                    std::vector<std::string>* pieces_out = nullptr) {
    MessagePieces pieces(message, chunk_size);
    std::string all;
    for (std::string_view piece = pieces.next(); !piece.empty(); piece = pieces.next()) {
        all.append(piece);
        if (pieces_out != nullptr) {
            pieces_out->emplace_back(piece);
        }
    }
    EXPECT_FALSE(pieces.failed());
    return all;
}

// The head comes first, then the content from rest_offset on, every piece ending at a line end.
TEST(MessagePiecesTest, HeadThenRestAtLineEnds) {
    smtp::MessageBuffer content(64 * 1024, {});
    content.appendTarget() = "Subject: x\r\n\r\n";
    for (int i = 0; i < 2000; ++i) {
        content.appendTarget() += ".line " + std::to_string(i) + "\r\n";
    }
    ASSERT_TRUE(content.commit());
    OutgoingMessage message{"Received: here\r\nSubject: x\r\n", &content, 12};
    std::vector<std::string> pieces;
    const std::string all = readAll(message, 1000, &pieces);
    EXPECT_EQ(all, "Received: here\r\n" + std::string(content.view()));
    for (const auto& piece : pieces) {
        EXPECT_TRUE(piece.ends_with("\r\n"));
    }
    EXPECT_GT(pieces.size(), 10u);
}

// Dot-stuffing piece by piece gives exactly the dot-stuffing of the whole (spilled content).
TEST(MessagePiecesTest, StuffingByPiecesMatchesWhole) {
    smtp::MessageBuffer content(64 * 1024, {});
    for (int i = 0; i < 20000; ++i) {
        content.appendTarget() += (i % 3 == 0 ? ".dot " : "text ") + std::to_string(i) + "\r\n";
        ASSERT_TRUE(content.commit());
    }
    ASSERT_TRUE(content.spilled());
    OutgoingMessage message{"", &content, 0};
    MessagePieces pieces(message, 4096);
    std::string by_pieces;
    for (std::string_view piece = pieces.next(); !piece.empty(); piece = pieces.next()) {
        smtp::appendDotStuffedLines(piece, by_pieces);
    }
    by_pieces += ".\r\n";
    std::string whole;
    smtp::appendDotStuffed(content.view(), whole);
    EXPECT_EQ(by_pieces, whole);
}

// A line longer than the chunk size still comes out whole.
TEST(MessagePiecesTest, LongLineLongerThanChunk) {
    smtp::MessageBuffer content(64 * 1024, {});
    content.appendTarget() = std::string(5000, 'a') + "\r\nb\r\n";
    ASSERT_TRUE(content.commit());
    OutgoingMessage message{"", &content, 0};
    std::vector<std::string> pieces;
    EXPECT_EQ(readAll(message, 1000, &pieces), content.view());
    ASSERT_FALSE(pieces.empty());
    EXPECT_GE(pieces[0].size(), 5002u);  // never cut inside the long line
    EXPECT_TRUE(pieces[0].ends_with("\r\n"));
}

}  // namespace
}  // namespace mailgate::relay
