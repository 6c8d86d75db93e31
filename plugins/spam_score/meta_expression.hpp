#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Meta rules: a boolean expression over rule names, `A && (B || !C)`. Parsed once at load into
// postfix order; evaluated per message against the rules' results without allocating.
namespace mailgate::spam_score {

class MetaExpression {
  public:
    enum class Op { Operand, Not, And, Or };
    struct Step {
        Op op;
        std::size_t operand = 0;  // index into names() for Op::Operand
    };

    // Returns the expression, or nullopt with `error` set ("unexpected ')' at offset 4").
    // Operators: ! (also `not`), && (also `and`), || (also `or`), parentheses. Names are
    // letters, digits and '_'. Nesting is bounded (kMaxDepth), so is the length.
    static std::optional<MetaExpression> parse(std::string_view text, std::string& error);

    // The rule names in order of first use.
    const std::vector<std::string>& names() const { return names_; }

    // `value(i)` is the truth of names()[i].
    template <typename Value>
    bool evaluate(Value value) const {
        // The stack depth is bounded by the number of operands (at most kMaxOperands).
        bool stack[kMaxOperands + 1];
        std::size_t top = 0;
        for (const Step& step : steps_) {
            switch (step.op) {
                case Op::Operand:
                    stack[top++] = value(step.operand);
                    break;
                case Op::Not:
                    stack[top - 1] = !stack[top - 1];
                    break;
                case Op::And:
                    --top;
                    stack[top - 1] = stack[top - 1] && stack[top];
                    break;
                case Op::Or:
                    --top;
                    stack[top - 1] = stack[top - 1] || stack[top];
                    break;
            }
        }
        return top == 1 && stack[0];
    }

    static constexpr std::size_t kMaxOperands = 64;
    static constexpr std::size_t kMaxDepth = 32;
    static constexpr std::size_t kMaxLength = 2000;

  private:
    std::vector<Step> steps_;  // postfix
    std::vector<std::string> names_;
    friend class MetaParser;
};

}  // namespace mailgate::spam_score
