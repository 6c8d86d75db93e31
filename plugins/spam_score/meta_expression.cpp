#include "meta_expression.hpp"

#include <cctype>

namespace mailgate::spam_score {

// Recursive descent: or := and ('||' and)* ; and := unary ('&&' unary)* ;
// unary := '!' unary | '(' or ')' | NAME. Depth is bounded, so is the recursion.
class MetaParser {
  public:
    MetaParser(std::string_view text, MetaExpression& out) : text_(text), out_(out) {}

    bool run(std::string& error) {
        if (!parseOr(0)) {
            error = error_;
            return false;
        }
        skipSpace();
        if (pos_ != text_.size()) {
            error = "unexpected '" + std::string(1, text_[pos_]) + "' at offset " +
                    std::to_string(pos_);
            return false;
        }
        return true;
    }

  private:
    bool fail(std::string message) {
        if (error_.empty()) {
            error_ = std::move(message);
        }
        return false;
    }

    void skipSpace() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
            ++pos_;
        }
    }

    static bool isNameChar(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    }

    // Consumes `symbol` or the word `word` (not followed by a name character).
    bool accept(std::string_view symbol, std::string_view word) {
        skipSpace();
        if (text_.substr(pos_, symbol.size()) == symbol) {
            pos_ += symbol.size();
            return true;
        }
        const std::string_view rest = text_.substr(pos_);
        if (rest.size() >= word.size() && rest.substr(0, word.size()) == word &&
            (rest.size() == word.size() || !isNameChar(rest[word.size()]))) {
            pos_ += word.size();
            return true;
        }
        return false;
    }

    bool parseOr(std::size_t depth) {
        if (!parseAnd(depth)) {
            return false;
        }
        while (accept("||", "or")) {
            if (!parseAnd(depth)) {
                return false;
            }
            out_.steps_.push_back({MetaExpression::Op::Or});
        }
        return true;
    }

    bool parseAnd(std::size_t depth) {
        if (!parseUnary(depth)) {
            return false;
        }
        while (accept("&&", "and")) {
            if (!parseUnary(depth)) {
                return false;
            }
            out_.steps_.push_back({MetaExpression::Op::And});
        }
        return true;
    }

    bool parseUnary(std::size_t depth) {
        if (depth > MetaExpression::kMaxDepth) {
            return fail("nested too deeply (at most " + std::to_string(MetaExpression::kMaxDepth) +
                        " levels)");
        }
        if (accept("!", "not")) {
            if (!parseUnary(depth + 1)) {
                return false;
            }
            out_.steps_.push_back({MetaExpression::Op::Not});
            return true;
        }
        if (accept("(", "(")) {
            if (!parseOr(depth + 1)) {
                return false;
            }
            if (!accept(")", ")")) {
                return fail("missing ')' at offset " + std::to_string(pos_));
            }
            return true;
        }
        return parseName();
    }

    bool parseName() {
        skipSpace();
        const std::size_t start = pos_;
        while (pos_ < text_.size() && isNameChar(text_[pos_])) {
            ++pos_;
        }
        if (pos_ == start) {
            return fail(pos_ == text_.size()
                            ? "expression ends where a rule name is expected"
                            : "expected a rule name at offset " + std::to_string(pos_));
        }
        if (++operands_ > MetaExpression::kMaxOperands) {
            return fail("too many operands (at most " +
                        std::to_string(MetaExpression::kMaxOperands) + ")");
        }
        const std::string name(text_.substr(start, pos_ - start));
        std::size_t index = 0;
        while (index < out_.names_.size() && out_.names_[index] != name) {
            ++index;
        }
        if (index == out_.names_.size()) {
            out_.names_.push_back(name);
        }
        out_.steps_.push_back({MetaExpression::Op::Operand, index});
        return true;
    }

    std::string_view text_;
    MetaExpression& out_;
    std::size_t pos_ = 0;
    std::size_t operands_ = 0;
    std::string error_;
};

std::optional<MetaExpression> MetaExpression::parse(std::string_view text, std::string& error) {
    if (text.size() > kMaxLength) {
        error = "longer than " + std::to_string(kMaxLength) + " characters";
        return std::nullopt;
    }
    MetaExpression expression;
    MetaParser parser(text, expression);
    if (!parser.run(error)) {
        return std::nullopt;
    }
    return expression;
}

}  // namespace mailgate::spam_score
