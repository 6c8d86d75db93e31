#include "core/smtp/command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailgate::smtp {
namespace {

using namespace std::string_literals;

// Parses a line that must be accepted and returns the command.
Command accepted(std::string_view line) {
    Command command = parseCommand(line);
    EXPECT_EQ(command.error, CommandError::None) << line << ": " << command.error_detail;
    return command;
}

CommandError errorOf(std::string_view line) {
    return parseCommand(line).error;
}

// --- verbs ------------------------------------------------------------------------------------

// Every verb in the table is recognised from its name with a valid argument.
TEST(ParseCommandTest, EveryVerbIsRecognised) {
    const std::vector<std::pair<std::string, Verb>> cases = {
        {"EHLO client.example.test", Verb::Ehlo},
        {"HELO client.example.test", Verb::Helo},
        {"MAIL FROM:<a@example.test>", Verb::Mail},
        {"RCPT TO:<b@example.test>", Verb::Rcpt},
        {"DATA", Verb::Data},
        {"RSET", Verb::Rset},
        {"NOOP", Verb::Noop},
        {"QUIT", Verb::Quit},
        {"VRFY user", Verb::Vrfy},
        {"EXPN list", Verb::Expn},
        {"HELP", Verb::Help},
        {"STARTTLS", Verb::Starttls},
        {"AUTH PLAIN", Verb::Auth},
        {"BDAT 100", Verb::Bdat},
    };
    for (const auto& [line, verb] : cases) {
        EXPECT_EQ(accepted(line).verb, verb) << line;
    }
}

// Verbs are case-insensitive and verb_text keeps the case as sent.
TEST(ParseCommandTest, VerbsAreCaseInsensitive) {
    const Command command = accepted("eHlO client.example.test");
    EXPECT_EQ(command.verb, Verb::Ehlo);
    EXPECT_EQ(command.verb_text, "eHlO");
    EXPECT_EQ(accepted("starttls").verb, Verb::Starttls);
}

// An unknown verb or an empty line is unrecognised.
TEST(ParseCommandTest, UnknownVerbAndEmptyLine) {
    const Command unknown = parseCommand("XYZZY now");
    EXPECT_EQ(unknown.error, CommandError::Unrecognized);
    EXPECT_EQ(unknown.verb, Verb::Unknown);
    EXPECT_EQ(unknown.verb_text, "XYZZY");
    EXPECT_FALSE(unknown.error_detail.empty());
    EXPECT_EQ(errorOf(""), CommandError::Unrecognized);
    EXPECT_EQ(errorOf(" EHLO x"), CommandError::Unrecognized);
    EXPECT_EQ(errorOf("MAILFROM:<a@b>"), CommandError::Unrecognized);
}

// argument is the raw text after the verb and one space.
TEST(ParseCommandTest, ArgumentIsRaw) {
    EXPECT_EQ(accepted("MAIL FROM: <a@b.test> SIZE=1").argument, "FROM: <a@b.test> SIZE=1");
    EXPECT_EQ(accepted("NOOP  two spaces").argument, " two spaces");
    EXPECT_EQ(accepted("DATA").argument, "");
}

// --- EHLO / HELO ------------------------------------------------------------------------------

// EHLO and HELO take one domain or address literal.
TEST(ParseCommandTest, HeloTakesOneHostname) {
    EXPECT_EQ(accepted("EHLO client.example.test").argument, "client.example.test");
    accepted("HELO [192.0.2.1]");
    accepted("EHLO [IPv6:2001:db8::1]");
    accepted("EHLO localhost");
    accepted("EHLO client.example.test ");  // trailing space tolerated
}

// EHLO without a name or with extra words is a syntax error.
TEST(ParseCommandTest, HeloSyntaxErrors) {
    EXPECT_EQ(errorOf("EHLO"), CommandError::Syntax);
    EXPECT_EQ(errorOf("EHLO "), CommandError::Syntax);
    EXPECT_EQ(errorOf("HELO"), CommandError::Syntax);
    EXPECT_EQ(errorOf("EHLO client.example.test extra"), CommandError::Syntax);
    EXPECT_EQ(errorOf("EHLO a\tb"), CommandError::Syntax);
    EXPECT_EQ(parseCommand("EHLO").error_detail, "Syntax: EHLO hostname");
}

// --- commands without or with optional arguments ----------------------------------------------

// DATA, RSET, QUIT and STARTTLS refuse an argument (trailing spaces are not one).
TEST(ParseCommandTest, NoArgumentVerbs) {
    for (const char* verb : {"DATA", "RSET", "QUIT", "STARTTLS"}) {
        const std::string name = verb;
        accepted(name);
        accepted(name + " ");
        EXPECT_EQ(errorOf(name + " now"), CommandError::Syntax) << name;
    }
}

// NOOP and HELP take any argument or none.
TEST(ParseCommandTest, OptionalArgumentVerbs) {
    accepted("NOOP");
    accepted("NOOP anything at all");
    accepted("HELP");
    accepted("HELP MAIL");
}

// VRFY, EXPN and AUTH need an argument.
TEST(ParseCommandTest, RequiredArgumentVerbs) {
    EXPECT_EQ(accepted("VRFY postmaster").argument, "postmaster");
    accepted("EXPN staff");
    accepted("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=");
    EXPECT_EQ(errorOf("VRFY"), CommandError::Syntax);
    EXPECT_EQ(errorOf("EXPN "), CommandError::Syntax);
    EXPECT_EQ(errorOf("AUTH"), CommandError::Syntax);
}

// BDAT takes a chunk size and an optional LAST.
TEST(ParseCommandTest, BdatArgument) {
    accepted("BDAT 1000");
    accepted("BDAT 0 LAST");
    accepted("BDAT 12 last");
    EXPECT_EQ(errorOf("BDAT"), CommandError::Syntax);
    EXPECT_EQ(errorOf("BDAT x"), CommandError::Syntax);
    EXPECT_EQ(errorOf("BDAT 12 FIRST"), CommandError::Syntax);
    EXPECT_EQ(errorOf("BDAT 12LAST"), CommandError::Syntax);
    EXPECT_EQ(errorOf("BDAT 99999999999999999999"), CommandError::Syntax);
}

// --- forbidden bytes --------------------------------------------------------------------------

// A CR or LF inside a command line is a bare line ending, whatever the verb.
TEST(ParseCommandTest, BareLineEndings) {
    EXPECT_EQ(errorOf("NOOP\r"), CommandError::BareLineEnding);
    EXPECT_EQ(errorOf("NOOP a\rb"), CommandError::BareLineEnding);
    EXPECT_EQ(errorOf("NOOP a\nb"), CommandError::BareLineEnding);
    EXPECT_EQ(errorOf("MAIL FROM:<a@b.test>\n"), CommandError::BareLineEnding);
    EXPECT_EQ(errorOf("RCPT TO:<a@b.test>\r"), CommandError::BareLineEnding);
    EXPECT_EQ(errorOf("\n"), CommandError::BareLineEnding);
}

// A NUL byte anywhere is refused, also inside a MAIL path.
TEST(ParseCommandTest, NulByte) {
    EXPECT_EQ(errorOf("NOOP \0"s), CommandError::NulByte);
    EXPECT_EQ(errorOf("MAIL FROM:<a\0@b.test>"s), CommandError::NulByte);
    EXPECT_EQ(errorOf("\0"s), CommandError::NulByte);
}

// Bytes >= 0x80 are refused outside MAIL and RCPT arguments, even in unknown verbs.
TEST(ParseCommandTest, EightBitOutsideMailAndRcpt) {
    EXPECT_EQ(errorOf("EHLO caf\xC3\xA9.test"), CommandError::EightBit);
    EXPECT_EQ(errorOf("NOOP \xFF"), CommandError::EightBit);
    EXPECT_EQ(errorOf("VRFY \xC3\xA9"), CommandError::EightBit);
    EXPECT_EQ(errorOf("\xC3\xA9HLO x"), CommandError::EightBit);
}

// UTF-8 addresses and parameter values are accepted in MAIL and RCPT (RFC 6531).
TEST(ParseCommandTest, EightBitInsideMailAndRcpt) {
    const Command mail = accepted(
        "MAIL FROM:<j\xC3\xB6rg@b\xC3\xBC"
        "cher.test> SMTPUTF8");
    EXPECT_EQ(mail.path.local_part, "j\xC3\xB6rg");
    EXPECT_EQ(mail.path.domain,
              "b\xC3\xBC"
              "cher.test");
    accepted("RCPT TO:<\"\xC3\xA9 x\"@example.test>");
    accepted("RCPT TO:<a@example.test> ORCPT=utf-8;\xC3\xA9");
}

// --- MAIL FROM --------------------------------------------------------------------------------

// A plain bracketed sender fills every field of the path.
TEST(MailFromTest, BracketedAddress) {
    const Command command = accepted("MAIL FROM:<user@example.test>");
    EXPECT_EQ(command.verb, Verb::Mail);
    EXPECT_EQ(command.path.address, "user@example.test");
    EXPECT_EQ(command.path.local_part, "user");
    EXPECT_EQ(command.path.domain, "example.test");
    EXPECT_EQ(command.path.source_route, "");
    EXPECT_FALSE(command.path.null_path());
    EXPECT_TRUE(command.params.empty());
}

// <> is the null reverse-path of bounces.
TEST(MailFromTest, NullPath) {
    const Command command = accepted("MAIL FROM:<>");
    EXPECT_TRUE(command.path.null_path());
    EXPECT_EQ(command.path.domain, "");
    EXPECT_TRUE(accepted("MAIL FROM:<> SIZE=10").path.null_path());
}

// "FROM:" is case-insensitive.
TEST(MailFromTest, KeywordIsCaseInsensitive) {
    EXPECT_EQ(accepted("mail from:<a@b.test>").path.address, "a@b.test");
    EXPECT_EQ(accepted("Mail From:<a@b.test>").path.address, "a@b.test");
}

// Like Postfix and Sendmail, an unbracketed address is accepted.
TEST(MailFromTest, UnbracketedAddress) {
    const Command command = accepted("MAIL FROM:user@example.test");
    EXPECT_EQ(command.path.address, "user@example.test");
    EXPECT_EQ(command.path.domain, "example.test");
    const Command with_params = accepted("MAIL FROM:user@example.test SIZE=5");
    EXPECT_EQ(with_params.path.address, "user@example.test");
    ASSERT_EQ(with_params.params.size(), 1u);
    EXPECT_EQ(with_params.params[0].keyword, "SIZE");
}

// Spaces after the colon are tolerated.
TEST(MailFromTest, SpacesAfterColon) {
    EXPECT_EQ(accepted("MAIL FROM: <a@b.test>").path.address, "a@b.test");
    EXPECT_EQ(accepted("MAIL FROM:   <a@b.test>").path.address, "a@b.test");
    EXPECT_EQ(accepted("MAIL FROM: a@b.test").path.address, "a@b.test");
}

// A space before the colon, a wrong keyword or a missing path is a syntax error.
TEST(MailFromTest, SyntaxErrors) {
    EXPECT_EQ(errorOf("MAIL FROM :<a@b.test>"), CommandError::Syntax);
    EXPECT_EQ(errorOf("MAIL TO:<a@b.test>"), CommandError::Syntax);
    EXPECT_EQ(errorOf("MAIL"), CommandError::Syntax);
    EXPECT_EQ(errorOf("MAIL FROM"), CommandError::Syntax);
    EXPECT_EQ(errorOf("MAIL FROM:"), CommandError::Syntax);
    EXPECT_EQ(errorOf("MAIL FROM:   "), CommandError::Syntax);
    EXPECT_EQ(parseCommand("MAIL FROM").error_detail, "Syntax: MAIL FROM:<address>");
}

// SIZE, BODY and SMTPUTF8 are split into upper-cased keywords and values.
TEST(MailFromTest, EsmtpParameters) {
    const Command command = accepted("MAIL FROM:<a@b.test> SIZE=123 body=8BITMIME smtputf8");
    ASSERT_EQ(command.params.size(), 3u);
    EXPECT_EQ(command.params[0].keyword, "SIZE");
    EXPECT_EQ(command.params[0].value, "123");
    EXPECT_EQ(command.params[1].keyword, "BODY");
    EXPECT_EQ(command.params[1].value, "8BITMIME");
    EXPECT_EQ(command.params[2].keyword, "SMTPUTF8");
    EXPECT_FALSE(command.params[2].value.has_value());
}

// Several spaces between parameters and trailing spaces are tolerated.
TEST(MailFromTest, ParameterSpacing) {
    const Command command = accepted("MAIL FROM:<a@b.test>  SIZE=1   BODY=7BIT  ");
    ASSERT_EQ(command.params.size(), 2u);
    EXPECT_EQ(command.params[1].value, "7BIT");
}

// Values may hold any printable character but '=' and SP (AUTH=<>, ORCPT with xtext).
TEST(MailFromTest, ParameterValues) {
    EXPECT_EQ(accepted("MAIL FROM:<a@b.test> AUTH=<>").params[0].value, "<>");
    const Command rcpt = accepted("RCPT TO:<a@b.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b");
    ASSERT_EQ(rcpt.params.size(), 2u);
    EXPECT_EQ(rcpt.params[1].value, "rfc822;a+40b");
    EXPECT_EQ(accepted("MAIL FROM:<a@b.test> X-VENDOR-1=x").params[0].keyword, "X-VENDOR-1");
}

// Malformed parameters are BadParameter.
TEST(MailFromTest, BadParameters) {
    const std::vector<std::string> bad = {
        "MAIL FROM:<a@b.test> SIZE=",      "MAIL FROM:<a@b.test> =5",
        "MAIL FROM:<a@b.test> SI_ZE=1",    "MAIL FROM:<a@b.test> -SIZE=1",
        "MAIL FROM:<a@b.test> SIZE=1=2",   "MAIL FROM:<a@b.test> SIZE=1\t",
        "MAIL FROM:<a@b.test> \xC3\xA9=1", "MAIL FROM:<a@b.test> SIZE=\x7F",
    };
    for (const std::string& line : bad) {
        EXPECT_EQ(errorOf(line), CommandError::BadParameter) << line;
    }
}

// The obsolete source route is kept apart; the address is the final mailbox.
TEST(MailFromTest, SourceRoute) {
    const Command command = accepted("MAIL FROM:<@a.example,@b.example:user@c.example>");
    EXPECT_EQ(command.path.source_route, "@a.example,@b.example");
    EXPECT_EQ(command.path.address, "user@c.example");
    EXPECT_EQ(command.path.domain, "c.example");
    EXPECT_EQ(accepted("RCPT TO:<@[IPv6:::1]:u@d.test>").path.source_route, "@[IPv6:::1]");
}

// Malformed source routes are bad paths.
TEST(MailFromTest, BadSourceRoutes) {
    EXPECT_EQ(errorOf("MAIL FROM:<@a.example user@c.example>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("MAIL FROM:<@:user@c.example>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("MAIL FROM:<@a.example,:user@c.example>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("MAIL FROM:<@a.example,b.example:user@c.example>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("MAIL FROM:<@a.example:>"), CommandError::BadPath);
}

// --- RCPT TO ----------------------------------------------------------------------------------

// A bracketed recipient with parameters.
TEST(RcptToTest, BracketedAddress) {
    const Command command = accepted("RCPT TO:<b@example.test> NOTIFY=NEVER");
    EXPECT_EQ(command.verb, Verb::Rcpt);
    EXPECT_EQ(command.path.address, "b@example.test");
    ASSERT_EQ(command.params.size(), 1u);
    EXPECT_EQ(command.params[0].keyword, "NOTIFY");
}

// <postmaster> in any case is accepted without a domain.
TEST(RcptToTest, Postmaster) {
    EXPECT_EQ(accepted("RCPT TO:<postmaster>").path.local_part, "postmaster");
    const Command command = accepted("RCPT TO:<PostMaster>");
    EXPECT_EQ(command.path.address, "PostMaster");
    EXPECT_EQ(command.path.domain, "");
}

// Other addresses without a domain are kept for the policy layer to judge.
TEST(RcptToTest, AddressWithoutDomainIsKept) {
    const Command command = accepted("RCPT TO:<localuser>");
    EXPECT_EQ(command.path.address, "localuser");
    EXPECT_EQ(command.path.local_part, "localuser");
    EXPECT_EQ(command.path.domain, "");
}

// The null path is not a recipient.
TEST(RcptToTest, NullPathIsBad) {
    const Command command = parseCommand("RCPT TO:<>");
    EXPECT_EQ(command.error, CommandError::BadPath);
    EXPECT_EQ(command.error_detail, "Bad recipient address syntax");
}

// "TO:" is required, spaces after it tolerated, the unbracketed form accepted.
TEST(RcptToTest, Keyword) {
    EXPECT_EQ(errorOf("RCPT FROM:<a@b.test>"), CommandError::Syntax);
    EXPECT_EQ(errorOf("RCPT TO :<a@b.test>"), CommandError::Syntax);
    EXPECT_EQ(errorOf("RCPT"), CommandError::Syntax);
    EXPECT_EQ(accepted("rcpt to: <a@b.test>").path.address, "a@b.test");
    EXPECT_EQ(accepted("RCPT TO:a@b.test").path.address, "a@b.test");
}

// --- address syntax ---------------------------------------------------------------------------

// A quoted local part may contain '@', spaces, '>' and escapes; its quotes are kept.
TEST(AddressTest, QuotedLocalPart) {
    const Command command = accepted("RCPT TO:<\"john@doe\"@example.test>");
    EXPECT_EQ(command.path.local_part, "\"john@doe\"");
    EXPECT_EQ(command.path.address, "\"john@doe\"@example.test");
    EXPECT_EQ(command.path.domain, "example.test");
    EXPECT_EQ(accepted("RCPT TO:<\"a b\\\"c\"@x.test>").path.local_part, "\"a b\\\"c\"");
    EXPECT_EQ(accepted("RCPT TO:<\"a>b\"@x.test> NOTIFY=NEVER").path.local_part, "\"a>b\"");
    EXPECT_EQ(accepted("MAIL FROM:\"a b\"@x.test SIZE=1").path.local_part, "\"a b\"");
}

// Malformed quoted strings are bad paths.
TEST(AddressTest, BadQuotedLocalPart) {
    EXPECT_EQ(errorOf("RCPT TO:<\"unterminated@x.test>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("RCPT TO:<\"a\"b@x.test>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("RCPT TO:<a\"b\"@x.test>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("RCPT TO:<\"a\tb\"@x.test>"), CommandError::BadPath);
}

// Dot-atom local parts follow RFC 5322 atext.
TEST(AddressTest, DotAtomLocalPart) {
    accepted("RCPT TO:<first.last+tag@x.test>");
    accepted("RCPT TO:<!#$%&'*+-/=?^_`{|}~@x.test>");
    EXPECT_EQ(errorOf("RCPT TO:<a..b@x.test>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("RCPT TO:<.a@x.test>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("RCPT TO:<a.@x.test>"), CommandError::BadPath);
    EXPECT_EQ(errorOf("RCPT TO:<a(b)@x.test>"), CommandError::BadPath);
}

// IPv4 and IPv6 address literals are accepted as domains.
TEST(AddressTest, AddressLiterals) {
    EXPECT_EQ(accepted("RCPT TO:<user@[192.0.2.1]>").path.domain, "[192.0.2.1]");
    EXPECT_EQ(accepted("RCPT TO:<user@[IPv6:2001:db8::1]>").path.domain, "[IPv6:2001:db8::1]");
    EXPECT_EQ(accepted("RCPT TO:<user@[ipv6:::1]>").path.domain, "[ipv6:::1]");
}

// Malformed or unbalanced address literals are bad paths.
TEST(AddressTest, BadAddressLiterals) {
    const std::vector<std::string> bad = {
        "RCPT TO:<user@[999.0.2.1]>",
        "RCPT TO:<user@[192.0.2.1 ]>",
        "RCPT TO:<user@[ 192.0.2.1]>",
        "RCPT TO:<user@[IPv6:zz::1]>",
        "RCPT TO:<user@[2001:db8::1]>",
        "RCPT TO:<user@[foo]>",
        "RCPT TO:<user@[192.0.2.1>",
        "RCPT TO:<user@192.0.2.1]>",
        "RCPT TO:<user@[]>",
    };
    for (const std::string& line : bad) {
        EXPECT_EQ(errorOf(line), CommandError::BadPath) << line;
    }
}

// Domains are dot-separated labels; one trailing dot is kept as sent.
TEST(AddressTest, Domains) {
    EXPECT_EQ(accepted("RCPT TO:<user@example.test.>").path.domain, "example.test.");
    EXPECT_EQ(accepted("RCPT TO:<user@my-host.example>").path.domain, "my-host.example");
    for (const char* domain : {"a..b", ".a", "a.b..", ".", "under_score.test", "a b", "a,b"}) {
        EXPECT_EQ(errorOf("RCPT TO:<user@"s + domain + ">"), CommandError::BadPath) << domain;
    }
}

// Two '@', an empty local part or an empty domain are bad paths.
TEST(AddressTest, BadAddressShapes) {
    const std::vector<std::string> bad = {
        "MAIL FROM:<a@b@c.test>", "MAIL FROM:<@c.test>",   "MAIL FROM:<a@>",
        "MAIL FROM:<a b@c.test>", "MAIL FROM:< a@c.test>", "MAIL FROM:<a@c.test >",
        "MAIL FROM:a@b@c.test",
    };
    for (const std::string& line : bad) {
        const Command command = parseCommand(line);
        EXPECT_EQ(command.error, CommandError::BadPath) << line;
        EXPECT_FALSE(command.error_detail.empty()) << line;
    }
    EXPECT_EQ(parseCommand("MAIL FROM:<a@b@c.test>").error_detail, "Bad sender address syntax");
}

// Unbalanced angle brackets are named in the error.
TEST(AddressTest, UnbalancedBrackets) {
    EXPECT_EQ(parseCommand("MAIL FROM:<a@b.test").error_detail, "Unbalanced '<'");
    EXPECT_EQ(parseCommand("MAIL FROM:<<a@b.test>>").error_detail, "Unbalanced '<'");
    EXPECT_EQ(parseCommand("MAIL FROM:a@b.test>").error_detail, "Unbalanced '>'");
    EXPECT_EQ(parseCommand("MAIL FROM:<a@b.test>>").error_detail, "Unbalanced '>'");
    EXPECT_EQ(parseCommand("MAIL FROM:a<b@c.test").error_detail, "Unbalanced '<'");
    EXPECT_EQ(errorOf("MAIL FROM:<a@b.test"), CommandError::BadPath);
    EXPECT_EQ(errorOf("MAIL FROM:<a@b.test>SIZE=1"), CommandError::BadPath);
}

// Local part at most 64 octets.
TEST(AddressTest, LocalPartLimit) {
    accepted("RCPT TO:<" + std::string(64, 'a') + "@x.test>");
    const Command command = parseCommand("RCPT TO:<" + std::string(65, 'a') + "@x.test>");
    EXPECT_EQ(command.error, CommandError::BadPath);
    EXPECT_EQ(command.error_detail, "Local part too long");
}

// The path, brackets included, is at most 256 octets.
TEST(AddressTest, PathLimit) {
    // "<" + "a@" + domain + ">" with labels of 63 octets.
    auto domainOf = [](size_t length) {
        std::string domain;
        while (domain.size() < length) {
            domain += std::string(std::min<size_t>(63, length - domain.size()), 'd');
            if (domain.size() + 1 < length) {
                domain += '.';
            }
        }
        return domain;
    };
    const std::string fits = "a@" + domainOf(252);
    ASSERT_EQ(fits.size() + 2, 256u);
    EXPECT_EQ(accepted("RCPT TO:<" + fits + ">").path.address, fits);
    const Command too_long = parseCommand("RCPT TO:<a@" + domainOf(253) + ">");
    EXPECT_EQ(too_long.error, CommandError::BadPath);
    EXPECT_EQ(too_long.error_detail, "Path too long");
    EXPECT_EQ(errorOf("MAIL FROM:a@" + domainOf(300)), CommandError::BadPath);
}

// --- helpers ----------------------------------------------------------------------------------

// findLineEnd reports the length through the LF and whether a CR preceded it.
TEST(FindLineEndTest, CrLfAndBareLf) {
    bool ok = false;
    EXPECT_EQ(findLineEnd("EHLO x\r\nNOOP\r\n", ok), 8u);
    EXPECT_TRUE(ok);
    EXPECT_EQ(findLineEnd("EHLO x\nNOOP\r\n", ok), 7u);
    EXPECT_FALSE(ok);
    EXPECT_EQ(findLineEnd("\n", ok), 1u);
    EXPECT_FALSE(ok);
    EXPECT_EQ(findLineEnd("\r\n", ok), 2u);
    EXPECT_TRUE(ok);
}

// Without an LF the line is not complete yet.
TEST(FindLineEndTest, Incomplete) {
    bool ok = true;
    EXPECT_EQ(findLineEnd("EHLO x\r", ok), 0u);
    EXPECT_EQ(findLineEnd("", ok), 0u);
    EXPECT_EQ(findLineEnd(std::string_view{}, ok), 0u);
}

// ASCII case folding only; other bytes compare as they are.
TEST(CaseTest, EqualsIgnoreCaseAndToLower) {
    EXPECT_TRUE(equalsIgnoreCase("StartTLS", "STARTTLS"));
    EXPECT_FALSE(equalsIgnoreCase("STARTTLS", "STARTTLs "));
    EXPECT_FALSE(equalsIgnoreCase("a", "b"));
    EXPECT_TRUE(equalsIgnoreCase("", ""));
    EXPECT_TRUE(equalsIgnoreCase("\xC3\x89", "\xC3\x89"));
    EXPECT_FALSE(equalsIgnoreCase("[", "{"));
    EXPECT_EQ(toLowerAscii("Example.TEST-1"), "example.test-1");
    EXPECT_EQ(toLowerAscii("\xC3\x89"), "\xC3\x89");
}

}  // namespace
}  // namespace mailgate::smtp
