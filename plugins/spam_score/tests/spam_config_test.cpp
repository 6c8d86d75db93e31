// Config reading: defaults, every key, and located errors.
#include "spam_config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_support.hpp"

namespace mailgate::spam_score {
namespace {

using testing::configFrom;
using testing::errorsOf;

bool hasError(const std::vector<std::string>& errors, const std::string& start) {
    for (const auto& error : errors) {
        if (error.rfind(start, 0) == 0) {
            return true;
        }
    }
    return false;
}

class TempFile {
  public:
    explicit TempFile(const std::string& text) {
        path_ = std::filesystem::temp_directory_path() /
                ("spam_score_rules_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter_++) + ".yaml");
        std::ofstream(path_) << text;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    std::string path() const { return path_.string(); }

  private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

// An empty config is valid: no rules, headers on, no threshold actions.
TEST(SpamConfigTest, Defaults) {
    const SpamConfig config = configFrom("");
    EXPECT_TRUE(config.rules.rules.empty());
    EXPECT_TRUE(config.actions.add_headers);
    EXPECT_EQ(config.actions.required_score, 5.0);
    EXPECT_FALSE(config.actions.reject_score);
    EXPECT_EQ(config.mime.max_parts, 100u);
}

// Every action key, in both the short and the long form.
TEST(SpamConfigTest, Actions) {
    const SpamConfig config = configFrom(R"(
actions:
  add_headers: false
  required_score: 4.5
  subject_prefix: {score: 5, text: "***SPAM*** "}
  quarantine: 8
  tempfail: {score: 10, code: 450, enhanced: 4.7.0, text: Greylisted}
  reject: {score: 15, text: Go away}
mime: {max_parts: 10, max_depth: 3, max_text_size: 64KB}
)");
    EXPECT_FALSE(config.actions.add_headers);
    EXPECT_EQ(config.actions.required_score, 4.5);
    EXPECT_EQ(config.actions.subject_prefix_score, 5.0);
    EXPECT_EQ(config.actions.subject_prefix, "***SPAM*** ");
    EXPECT_EQ(config.actions.quarantine_score, 8.0);
    EXPECT_EQ(config.actions.tempfail_score, 10.0);
    EXPECT_EQ(config.actions.tempfail_reply.code, 450);
    EXPECT_EQ(config.actions.tempfail_reply.enhanced, "4.7.0");
    EXPECT_EQ(config.actions.tempfail_reply.text, "Greylisted");
    EXPECT_EQ(config.actions.reject_score, 15.0);
    EXPECT_EQ(config.actions.reject_reply.code, 550);
    EXPECT_EQ(config.actions.reject_reply.text, "Go away");
    EXPECT_EQ(config.mime.max_parts, 10u);
    EXPECT_EQ(config.mime.max_depth, 3u);
    EXPECT_EQ(config.mime.max_text_size, 65536u);
}

// A bad regex is an error at its own path, with RE2's explanation.
TEST(SpamConfigTest, BadRegexIsLocated) {
    const auto errors = errorsOf(R"(
rules:
  - {name: A, type: body, regex: ok, score: 1}
  - {name: B, type: body, regex: ok, score: 1}
  - {name: C, type: body, regex: ok, score: 1}
  - {name: D, type: body, regex: 'a(b', score: 1}
)");
    ASSERT_EQ(errors.size(), 1u) << errors[0];
    EXPECT_EQ(errors[0], "rules[3].regex: invalid regular expression: missing ): a(b");
}

// Every mistake is reported, each at its path.
TEST(SpamConfigTest, RuleErrors) {
    const auto errors = errorsOf(R"(
rules:
  - {name: 'bad name', type: body, regex: x, score: 1}
  - {name: NOSCORE, type: body, regex: x}
  - {name: BADTYPE, type: smell, score: 1}
  - {name: H, type: header, header: X, regex: x, exists: true, score: 1}
  - {name: E, type: envelope, field: color, regex: x, score: 1}
  - {name: N, type: envelope, field: client_ip, networks: [300.1.1.1], score: 1}
  - {name: O, type: envelope, field: sender, own_hostname: true, score: 1}
  - {name: S, type: size, score: 1}
  - {name: S2, type: size, min: 10 parsecs, score: 1}
  - {name: M, type: meta, expression: 'A &&', score: 1}
  - {name: U, type: body, regex: x, score: 1, colour: red}
  - {name: F, type: body, regex: x, score: 1e9}
  - just text
)");
    for (const std::string expected :
         {"rules[0].name: needs a name", "rules[1].score: needs a score", "rules[2].type: must be",
          "rules[3]: needs exactly one of regex, exists", "rules[4].field: must be sender",
          "rules[5].networks[0]: \"300.1.1.1\" is not an IP address",
          "rules[6]: needs exactly one of regex, networks", "rules[7]: needs min, max",
          "rules[8].min: must be a size", "rules[9].expression: invalid expression",
          "rules[10].colour: unknown key", "rules[11].score: must be a number",
          "rules[12]: must be a mapping"}) {
        EXPECT_TRUE(hasError(errors, expected)) << expected;
    }
}

// Links between rules: unknown meta operands, cycles and duplicate names.
TEST(SpamConfigTest, LinkErrors) {
    EXPECT_EQ(errorsOf(R"(
rules:
  - {name: A, type: body, regex: x, score: 1}
  - {name: M, type: meta, expression: 'A && NOPE', score: 1}
)"),
              (std::vector<std::string>{"rules[1].expression: unknown rule \"NOPE\""}));
    EXPECT_EQ(errorsOf(R"(
rules:
  - {name: M1, type: meta, expression: 'M2', score: 1}
  - {name: M2, type: meta, expression: '!M1', score: 1}
)"),
              (std::vector<std::string>{
                  "rules[0].expression: meta rules depend on each other in a cycle",
                  "rules[1].expression: meta rules depend on each other in a cycle"}));
    EXPECT_EQ(errorsOf(R"(
rules:
  - {name: A, type: body, regex: x, score: 1}
  - {name: A, type: raw, regex: y, score: 2}
)"),
              (std::vector<std::string>{"rules[1].name: duplicate rule name \"A\""}));
}

// Unknown keys and wrong values outside the rules.
TEST(SpamConfigTest, OtherErrors) {
    const auto errors = errorsOf(R"(
colour: red
hostname: [ok.example, {}]
actions:
  reject: {score: 10, code: 450, enhanced: 4.7.1, text: "two\nlines"}
  tempfail: {code: 451}
  quarantine: lots
  subject_prefix: {score: 1, text: ''}
  sideways: 1
mime: {max_parts: 0, max_text_size: 1}
)");
    for (const std::string expected :
         {"colour: unknown key", "hostname[1]: must be a string", "actions.reject.code: must be",
          "actions.reject.enhanced: must be an enhanced status code like 5.7.1",
          "actions.reject.text: must be 1 to 200", "actions.tempfail.score: needs a score",
          "actions.quarantine: must be a number", "actions.subject_prefix.text: must be",
          "actions.sideways: unknown key", "mime.max_parts: must be a whole number",
          "mime.max_text_size: must be from 1KB"}) {
        EXPECT_TRUE(hasError(errors, expected)) << expected;
    }
    EXPECT_TRUE(hasError(errorsOf("rules: [a"), ": invalid YAML"));
    EXPECT_TRUE(hasError(errorsOf("- 1"), ": must be a mapping"));
}

// A rules file adds to the inline rules; its mistakes come back at rules_file with the file's
// own line and column and the path inside the file.
TEST(SpamConfigTest, RulesFile) {
    const TempFile good("rules:\n  - {name: FROM_FILE, type: body, regex: x, score: 2}\n");
    const SpamConfig config =
        configFrom("rules_file: " + good.path() +
                   "\nrules:\n  - {name: INLINE, type: raw, regex: y, score: 1}\n");
    ASSERT_EQ(config.rules.rules.size(), 2u);
    EXPECT_EQ(config.rules.rules[1].name, "FROM_FILE");

    const TempFile bad(
        "rules:\n  - {name: A, type: body, regex: x, score: 1}\n"
        "  - name: B\n    type: body\n    regex: '(('\n    score: 1\n");
    EXPECT_EQ(errorsOf("rules_file: " + bad.path()),
              (std::vector<std::string>{"rules_file: " + bad.path() +
                                        ":5:12: rules[1].regex: invalid regular expression: "
                                        "missing ): (("}));
    const TempFile dup("rules:\n  - {name: INLINE, type: body, regex: x, score: 1}\n");
    EXPECT_EQ(errorsOf("rules_file: " + dup.path() +
                       "\nrules:\n  - {name: INLINE, type: raw, regex: y, score: 1}\n"),
              (std::vector<std::string>{"rules_file: " + dup.path() +
                                        ":2:5: rules[0].name: duplicate rule name \"INLINE\""}));
    EXPECT_TRUE(hasError(errorsOf("rules_file: /nonexistent/rules.yaml"),
                         "rules_file: cannot read rules file /nonexistent/rules.yaml"));
}

// The shipped default rules load and link.
TEST(SpamConfigTest, DefaultRulesLoad) {
    const SpamConfig config = configFrom(std::string("hostname: mx.example.test\nrules_file: ") +
                                         SPAM_SCORE_DEFAULT_RULES);
    EXPECT_GE(config.rules.rules.size(), 10u);
}

TEST(SpamConfigTest, Sizes) {
    EXPECT_EQ(parseSize("12"), 12u);
    EXPECT_EQ(parseSize("2KB"), 2048u);
    EXPECT_EQ(parseSize("3MB"), 3u << 20);
    EXPECT_EQ(parseSize("1GB"), 1u << 30);
    EXPECT_FALSE(parseSize("1TB"));
    EXPECT_FALSE(parseSize("-1"));
    EXPECT_FALSE(parseSize("KB"));
    EXPECT_FALSE(parseSize("99999999999999999999"));
}

}  // namespace
}  // namespace mailgate::spam_score
